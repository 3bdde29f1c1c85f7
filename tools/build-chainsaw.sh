#!/usr/bin/env bash
# Builds chainsaw (the e2e suite's runner) into $OUT. chainsaw runs its tests through
# testing.MainStart with a TestDeps of its own, and Go 1.26's testing wants one method
# more of it (ModulePath) than chainsaw v0.2.12 has, so that release no longer builds
# with the local Go. The build takes the module from the Go module proxy as usual
# and builds a copy of it that adds that method and nothing else.
# Usage: build-chainsaw.sh VERSION
set -euo pipefail
ver=$1
OUT=${OUT:?output directory}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
work="$OUT/.src-chainsaw"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
src=$(go mod download -json "github.com/kyverno/chainsaw@$ver" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
cp -r "$src" chainsaw
chmod -R u+w chainsaw
deps=chainsaw/pkg/runner/internal/test_deps.go
grep -q 'ModulePath' "$deps" || cat >>"$deps" <<'GO'

// ModulePath is part of testing's testDeps from Go 1.25 on.
func (*TestDeps) ModulePath() string {
	return ""
}
GO
# No replace directives in chainsaw's go.mod: built in its own module, with its go.sum.
cd chainsaw
go build -trimpath -ldflags "-s -w -X github.com/kyverno/chainsaw/pkg/version.BuildVersion=$ver" \
	-o "$OUT/chainsaw" .
