#!/usr/bin/env bash
# Builds OpenTelemetry Go automatic instrumentation (go.opentelemetry.io/auto, its CLI
# in cli/, upstream's otel-go-instrumentation binary) into $OUT for
# bench/peers.bench.sh, which runs it side by side with autotrace-agent.
# Usage: build-otel-go-auto.sh VERSION
#
# The published module has the Go side of its BPF programs (bpf_x86_bpfel.go, made by
# cilium/ebpf's bpf2go) but not the objects they embed (bpf_x86_bpfel.o), so the
# build copies the module out of the module cache and runs its `go generate` with
# Debian's clang, using the libbpf headers the module ships (internal/include/libbpf),
# as upstream's Makefile sets BPF2GO_CFLAGS. Its go.mod replaces
# go.opentelemetry.io/auto/sdk with ./sdk, a folder the published module does not
# carry; without the replace the go.mod's required sdk release is used (the sdk is what
# an instrumented program links, not the CLI's concern).
# Measured with v0.24.0 (go1.26.8, clang 14, 2 busy cores): the generate step about
# 40 s, the build about 4 CPU-minutes (10 minutes of wall time) from a cold GOCACHE and
# 1.5 minutes from a warm one; the binary is 86 MB, built as upstream builds it.
set -euo pipefail
ver=$1
OUT=${OUT:?output directory}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
work="$OUT/.src"
rm -rf "$work"
mkdir -p "$work"
src=$(go mod download -json "go.opentelemetry.io/auto@$ver" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
cp -r "$src/." "$work"
chmod -R u+w "$work"
cd "$work"
go mod edit -dropreplace=go.opentelemetry.io/auto/sdk
export BPF2GO_CFLAGS="-I$work/internal/include/libbpf -I$work/internal/include"
export BPF2GO_CC=${CLANG:-clang}
go generate ./internal/pkg/instrumentation/bpf/...
go build -trimpath -o "$OUT/otel-go-instrumentation.tmp" ./cli
mv "$OUT/otel-go-instrumentation.tmp" "$OUT/otel-go-instrumentation"
rm -rf "$work"
