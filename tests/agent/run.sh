#!/usr/bin/env bash
# The agent rung: runs every program in $AGENT_TEST_BINS (tests/agent/atest_*.c, built
# by the Makefile) through tests/run-tap.sh, one TAP file each in $RESULTS_DIR. The
# programs find their tools (otlp-receiver, ...) on PATH, which `make test-bpf` sets to
# the tool cache. AGENT_TEST_TIMEOUT bounds each program (seconds, default 600);
# AGENT_TEST_FILTER runs only the programs whose name contains it.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${RESULTS_DIR:=build/results}"
export RESULTS_DIR
limit=${AGENT_TEST_TIMEOUT:-600}
filter=${AGENT_TEST_FILTER:-}

if ! command -v otlp-receiver >/dev/null; then
	echo "not ok - agent rung: otlp-receiver is not on PATH (make deps-tools builds it)" \
		| tee "$RESULTS_DIR/agent-setup.tap"
	exit 0
fi

for bin in ${AGENT_TEST_BINS:-}; do
	name=$(basename "$bin")
	[ -n "$filter" ] && [[ $name != *"$filter"* ]] && continue
	tests/run-tap.sh "agent-$name" "$limit" "$bin"
done
