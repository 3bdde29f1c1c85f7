module autotrace.dev/tools/offsets-gen/probe

go 1.22
