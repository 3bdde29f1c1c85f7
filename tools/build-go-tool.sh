#!/usr/bin/env bash
# Builds one Go test tool from its module through the Go module proxy into $OUT, in a
# wrapper module of its own (so one tool's requirements never bump another's), with
# an optional -ldflags for version stamping. Usage:
#   build-go-tool.sh MODULE@VERSION PACKAGE BINARY-NAME [LDFLAGS]
set -euo pipefail
modver=$1 pkg=$2 name=$3 ld=${4:-}
OUT=${OUT:?output directory}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
work="$OUT/.src-$name"
mkdir -p "$work"
cd "$work"
[ -f go.mod ] || go mod init "local/build-$name" >/dev/null 2>&1
go get "$modver"
go build -trimpath -ldflags "-s -w $ld" -o "$OUT/$name" "$pkg"
