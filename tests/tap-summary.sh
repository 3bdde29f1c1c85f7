#!/usr/bin/env bash
# Adds up the TAP files of a test run and prints the closing line "N passed, N failed".
# Exits 1 when anything failed or nothing ran.
set -uo pipefail
dir=${1:?results directory}
shopt -s nullglob
files=("$dir"/*.tap)
passed=0 failed=0
for f in "${files[@]}"; do
	p=$(grep -c '^ok ' "$f")
	n=$(grep -c '^not ok' "$f")
	passed=$((passed + p)) failed=$((failed + n))
	[ "$n" -gt 0 ] && grep '^not ok' "$f" | sed "s|^|FAIL $(basename "$f" .tap): |"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
