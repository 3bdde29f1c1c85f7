module autotrace.dev/tools/offsets-gen/probe-grpc

go 1.22

require google.golang.org/grpc v1.64.1
