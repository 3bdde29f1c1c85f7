#!/usr/bin/env bash
# Builds one Go test tool from its module through the Go module proxy into $OUT, in a
# wrapper module of its own (so one tool's requirements never bump another's), with
# an optional -ldflags for version stamping. Usage:
#   build-go-tool.sh MODULE@VERSION PACKAGE BINARY-NAME [LDFLAGS]
#
# A wrapper module rather than `go install MODULE/cmd@VERSION`: `go install` refuses a
# module whose go.mod has replace directives, and etcd's server/v3 has them
# (`go.etcd.io/etcd/api/v3 => ../api`, ...). As a dependency its replace lines are
# ignored and the published siblings of the same tag are used instead, which is what
# etcd's own release build links. kwok v0.7.0 and helm v3.19.0 have none, but go the
# same way so that every tool is built alike.
# The wrapper takes the tool's own `go` and `godebug` lines, so the binary keeps the
# GODEBUG defaults its authors built it with rather than those of the local toolchain.
set -euo pipefail
modver=$1 pkg=$2 name=$3 ld=${4:-}
OUT=${OUT:?output directory}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
work="$OUT/.src-$name"
mkdir -p "$work"
cd "$work"
[ -f go.mod ] || go mod init "local/build-$name" >/dev/null 2>&1
mod=$(go mod download -json "$modver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
go mod edit -go="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$mod")"
# godebug lines, single or in a block.
for g in $(sed -n -e 's/^godebug[[:space:]]\{1,\}\([^ (]*=[^ ]*\).*/\1/p' \
	-e '/^godebug[[:space:]]*(/,/^)/s/^[[:space:]]\{1,\}\([^ ]*=[^ ]*\).*/\1/p' "$mod"); do
	go mod edit -godebug="$g"
done
go get "$modver"
go build -trimpath -ldflags "-s -w $ld" -o "$OUT/$name" "$pkg"
