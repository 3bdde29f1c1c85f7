#!/usr/bin/env bash
# Runs one test program and records its TAP output in RESULTS_DIR/<name>.tap.
# A program that exits non-zero without reporting a failure (a crash, a sanitizer
# abort, a timeout) gets a failing line of its own, so nothing fails silently.
# Usage: run-tap.sh NAME TIMEOUT_SECONDS COMMAND [ARGS...]
set -uo pipefail
name=$1 limit=$2
shift 2
dir=${RESULTS_DIR:?}
mkdir -p "$dir"
out="$dir/$name.tap"
export CMOCKA_MESSAGE_OUTPUT=TAP
timeout --kill-after=10 "$limit" "$@" 2>"$dir/$name.stderr" | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$out"; then
	echo "not ok - $name: exited with status $rc (see $dir/$name.stderr)" | tee -a "$out"
fi
if [ "$rc" -ne 0 ]; then
	echo "--- $name stderr (tail) ---"
	tail -40 "$dir/$name.stderr"
fi
exit 0
