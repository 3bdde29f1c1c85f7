module autotrace.dev/tools/offsets-gen/extract

go 1.22
