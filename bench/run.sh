#!/usr/bin/env bash
# `make bench`: runs every benchmark program of $BENCH_BINS and every bench/*.bench.sh.
# Benchmarks print their figures (ratios against a baseline measured in the same run);
# none of them passes or fails. The ones that need Kubernetes get a local control plane
# (build/cluster-bench) through KUBECONFIG and CLUSTER_DIR.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export CLUSTER_DIR=$root/build/cluster-bench
export NODES=${BENCH_NODES:-3}
e2e/cluster/down.sh "$CLUSTER_DIR" >/dev/null 2>&1
trap 'e2e/cluster/down.sh "$CLUSTER_DIR" >/dev/null 2>&1' EXIT
if kubeconfig=$(e2e/cluster/up.sh 2>"$root/build/cluster-bench.log" | tail -n 1) && [ -f "$kubeconfig" ]; then
	export KUBECONFIG=$kubeconfig
else
	echo "bench: no local control plane (see build/cluster-bench.log); Kubernetes benchmarks will say so"
	unset KUBECONFIG
fi

for bin in ${BENCH_BINS:-}; do
	echo "=== $(basename "$bin")"
	"$bin" || echo "bench: $(basename "$bin") exited with status $?"
done
shopt -s nullglob
for script in bench/*.bench.sh; do
	echo "=== $(basename "$script" .bench.sh)"
	"$script" || echo "bench: $script exited with status $?"
done
