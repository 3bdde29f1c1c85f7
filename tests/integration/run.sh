#!/usr/bin/env bash
# The control-plane rung: starts one local cluster (e2e/cluster/up.sh) in
# build/cluster-integration, runs every binary of $INTEG_BINS and then every
# tests/integration/*.t.sh against it through tests/run-tap.sh, and brings the cluster
# down afterwards, also when a test fails or the run is interrupted.
#
# The tests get KUBECONFIG and CLUSTER_DIR (for e2e/cluster/ctl.sh and
# e2e/cluster/etcd-compact.sh) in their environment, and NODES, the number of fake
# nodes. The API server keeps no watch cache for the test CRD's widgets, so their
# watches are served from etcd and a compaction turns an old resourceVersion into
# 410 Gone.
#
# If the cluster does not come up, RESULTS_DIR/cluster-up.tap gets a failing line with
# the tail of the log and no test runs.
# Environment: RESULTS_DIR (required), INTEG_BINS, INTEG_TIMEOUT (seconds per test
# program, default 300), and PATH with the control-plane tools first (make does that).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
: "${RESULTS_DIR:?}"
mkdir -p "$RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
export RESULTS_DIR
limit=${INTEG_TIMEOUT:-300}

export CLUSTER_DIR=$root/build/cluster-integration
export NODES=3
export APISERVER_EXTRA_ARGS="--watch-cache-sizes=widgets.test.autotrace.dev#0 ${APISERVER_EXTRA_ARGS:-}"

# Runs of this rung from the same checkout take turns: they share the run directory.
mkdir -p "$root/build"
exec 9>>"$root/build/cluster-integration.lock"
if ! flock -n 9; then
	echo "integration: waiting for another run of this rung to finish" >&2
	if ! flock -w 1800 9; then
		printf '1..1\nnot ok 1 - cluster-up: another run held %s for 30 min\n' \
			"build/cluster-integration.lock" | tee "$RESULTS_DIR/cluster-up.tap"
		exit 0
	fi
fi
# A cluster left behind by an interrupted run would make up.sh refuse the directory.
e2e/cluster/down.sh "$CLUSTER_DIR" >/dev/null 2>&1
trap 'e2e/cluster/down.sh "$CLUSTER_DIR" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

uplog=$RESULTS_DIR/cluster-up.log
start=$SECONDS
if ! kubeconfig=$(e2e/cluster/up.sh 2>"$uplog" | tail -n 1) || [ ! -f "$kubeconfig" ]; then
	why=$(grep '^cluster-up: ' "$uplog" | grep -v '^cluster-up: failed; stopping' | tail -n 1)
	{
		echo "1..1"
		echo "not ok 1 - cluster-up: ${why#cluster-up: } (log: $uplog)"
		tail -n 40 "$uplog" | sed 's/^/# /'
	} | tee "$RESULTS_DIR/cluster-up.tap"
	exit 0
fi
{
	echo "1..1"
	echo "ok 1 - cluster-up: $NODES nodes ready in $((SECONDS - start))s"
} >"$RESULTS_DIR/cluster-up.tap"
export KUBECONFIG=$kubeconfig

for bin in ${INTEG_BINS:-}; do
	tests/run-tap.sh "integration-$(basename "$bin")" "$limit" "$bin"
done
shopt -s nullglob
for t in tests/integration/*.t.sh; do
	tests/run-tap.sh "integration-$(basename "$t" .t.sh)" "$limit" "$t"
done
