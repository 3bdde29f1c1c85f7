module autotrace.dev/tests/fuzz/gen_go_binary_seeds

go 1.22
