module autotrace.dev/tools/offsets-gen/probe-xnet

go 1.22
