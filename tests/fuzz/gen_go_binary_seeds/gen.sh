#!/usr/bin/env bash
# Regenerates the seed corpus of tests/fuzz/fuzz_go_binary.c from a Go fixture (make
# fixtures first). Run from the repository root: tests/fuzz/gen_go_binary_seeds/gen.sh
set -euo pipefail
in=${1:-build/fixtures/hello-$(go env GOVERSION)}
out=tests/fuzz/corpus/go_binary
here=tests/fuzz/gen_go_binary_seeds
mkdir -p "$out"
(cd "$here" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go run . -in "$OLDPWD/$in" -out "$OLDPWD/$out")
gcc -g -O1 -static -nostdlib -Wl,--build-id=none -o "$out/seed-dwarf.elf" "$here/dwarf_seed/seed.c"
ls -l "$out"
