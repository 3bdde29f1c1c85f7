#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over its seed corpus
# (tests/fuzz/corpus/<target>) and a working corpus under build/corpus, and reports
# the result as one TAP line.
set -uo pipefail
bin=$1 seconds=$2
name=$(basename "$bin")
seeds=tests/fuzz/corpus/${name#fuzz_}
work=build/corpus/$name
mkdir -p "$work" build/fuzz/crashes
args=("$work")
[ -d "$seeds" ] && args+=("$seeds")
if "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
	-artifact_prefix=build/fuzz/crashes/"$name"- "${args[@]}" >build/fuzz/"$name".log 2>&1; then
	echo "ok - $name ran ${seconds}s: $(grep -o 'cov: [0-9]*' build/fuzz/"$name".log | tail -1)"
else
	echo "not ok - $name found a crash (build/fuzz/$name.log)"
	tail -30 build/fuzz/"$name".log
fi
