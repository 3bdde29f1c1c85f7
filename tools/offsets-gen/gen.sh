#!/usr/bin/env bash
# Regenerates agent/go_offsets_table.c: builds tools/offsets-gen/probe with each Go
# toolchain below (GOTOOLCHAIN fetches it through the Go module proxy into the default
# GOMODCACHE), then reads the fields agent/go_fields.def lists from each build's DWARF.
# Add the newest patch release of a new Go minor version to GO_VERSIONS and rerun.
#   tools/offsets-gen/gen.sh            (from the repository root)
set -euo pipefail
GO_VERSIONS=${GO_VERSIONS:-"go1.22.12 go1.23.12 go1.24.13 go1.25.14 go1.26.8 go1.27.4"}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${WORK_DIR:-$root/build/offsets-gen}
mkdir -p "$work"
bins=()
for v in $GO_VERSIONS; do
	echo "offsets-gen: building the probe with $v" >&2
	(cd "$root/tools/offsets-gen/probe" && GOTOOLCHAIN=$v GOFLAGS=-mod=mod CGO_ENABLED=0 \
		go build -o "$work/probe-$v" .)
	bins+=("$work/probe-$v")
done
(cd "$root/tools/offsets-gen/extract" && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
	go build -o "$work/extract" .)
cd "$root"
"$work/extract" -fields agent/go_fields.def -o agent/go_offsets_table.c "${bins[@]}"
echo "offsets-gen: wrote agent/go_offsets_table.c for $GO_VERSIONS" >&2
