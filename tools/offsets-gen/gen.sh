#!/usr/bin/env bash
# Regenerates the offsets tables, agent/go_offsets_table.c (the index) and
# agent/go_offsets_table_<module>.c (make go-offsets-table). Builds
# tools/offsets-gen/probe with each Go toolchain in GO_VERSIONS (GOTOOLCHAIN fetches it
# through the Go module proxy into the default GOMODCACHE), and
# tools/offsets-gen/probe-grpc against each google.golang.org/grpc version in
# GRPC_VERSIONS and tools/offsets-gen/probe-xnet against each golang.org/x/net version
# in XNET_VERSIONS (with the local toolchain, in a scratch copy so the checked-in go.mod
# stays as it is), then reads the fields agent/go_fields.def lists from each build's
# DWARF. Add the newest patch release of a new Go minor or module version and rerun,
# or let GO_VERSIONS=latest ask the module proxy for the newest release of every Go
# minor version from 1.22 on.
set -euo pipefail
GO_VERSIONS=${GO_VERSIONS:-"go1.22.12 go1.23.12 go1.24.13 go1.25.14 go1.26.8 go1.27.4"}
if [ "$GO_VERSIONS" = latest ]; then
	GO_VERSIONS=$(GOFLAGS=-mod=mod go list -m -versions golang.org/toolchain | tr ' ' '\n' |
		sed -n 's/^v0\.0\.1-\(go1\.[0-9]*\.[0-9]*\)\.linux-amd64$/\1/p' |
		sort -t. -k2,2n -k3,3n |
		awk -F. '$2 >= 22 { last[$2] = $0 } END { for (m in last) print last[m] }' |
		sort -t. -k2,2n | tr '\n' ' ')
	echo "offsets-gen: newest releases: $GO_VERSIONS" >&2
fi
GRPC_VERSIONS=${GRPC_VERSIONS:-"v1.62.2 v1.63.2 v1.64.1 v1.65.1 v1.66.2 v1.67.3 v1.68.1 v1.69.4 v1.70.0 v1.71.1 v1.72.2 v1.73.0 v1.74.3 v1.75.1 v1.76.0 v1.77.0 v1.78.0 v1.79.3 v1.80.0 v1.81.1 v1.82.1 v1.83.2 v1.84.0 v1.85.0"}
XNET_VERSIONS=${XNET_VERSIONS:-"v0.25.0 v0.30.0 v0.35.0 v0.40.0 v0.45.0 v0.50.0 v0.55.0 v0.60.0 v0.63.0"}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${WORK_DIR:-$root/build/offsets-gen}
mkdir -p "$work"
args=()
for v in $GO_VERSIONS; do
	echo "offsets-gen: building the probe with $v" >&2
	(cd "$root/tools/offsets-gen/probe" && GOTOOLCHAIN=$v GOFLAGS=-mod=mod CGO_ENABLED=0 \
		go build -o "$work/probe-$v" .)
	args+=("std=$work/probe-$v")
done
for v in $GRPC_VERSIONS; do
	echo "offsets-gen: building the gRPC probe against google.golang.org/grpc@$v" >&2
	src="$work/probe-grpc-src-$v"
	rm -rf "$src" && mkdir -p "$src"
	cp "$root/tools/offsets-gen/probe-grpc/main.go" "$root/tools/offsets-gen/probe-grpc/go.mod" "$src/"
	(cd "$src" && export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 &&
		go get "google.golang.org/grpc@$v" >/dev/null 2>&1 &&
		go build -o "$work/probe-grpc-$v" .)
	args+=("mod=$work/probe-grpc-$v")
done
for v in $XNET_VERSIONS; do
	echo "offsets-gen: building the x/net probe against golang.org/x/net@$v" >&2
	src="$work/probe-xnet-src-$v"
	rm -rf "$src" && mkdir -p "$src"
	cp "$root/tools/offsets-gen/probe-xnet/main.go" "$root/tools/offsets-gen/probe-xnet/go.mod" "$src/"
	(cd "$src" && export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 &&
		go get "golang.org/x/net@$v" >/dev/null 2>&1 &&
		go build -o "$work/probe-xnet-$v" .)
	args+=("mod=$work/probe-xnet-$v")
done
(cd "$root/tools/offsets-gen/extract" && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
	go build -o "$work/extract" .)
cd "$root"
"$work/extract" -fields agent/go_fields.def -o agent/go_offsets_table.c "${args[@]}"
echo "offsets-gen: wrote agent/go_offsets_table.c and its tables, agent/go_offsets_table_*.c" >&2
