module autotrace.dev/tools/null-webhook

go 1.26.0
