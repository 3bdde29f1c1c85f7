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
receiver_pid=
trap 'e2e/cluster/down.sh "$CLUSTER_DIR" >/dev/null 2>&1; [ -z "$receiver_pid" ] || kill "$receiver_pid" 2>/dev/null' EXIT

# The API server traces exactly the requests a benchmark marks with a sampled
# traceparent (its own sampling rate is 0) to an OTLP/gRPC receiver, so that
# bench_webhook_apiserver reads each webhook call's duration as the API server timed
# it, finer than the 5 ms buckets of its metrics.
export BENCH_APISERVER_SPANS=$root/build/bench-apiserver-spans.jsonl
port_file=$root/build/bench-apiserver-spans.port
rm -f "$BENCH_APISERVER_SPANS" "$port_file"
if command -v otlp-receiver >/dev/null; then
	otlp-receiver -out "$BENCH_APISERVER_SPANS" -grpc-listen 127.0.0.1:0 \
		-grpc-port-file "$port_file" >/dev/null 2>&1 &
	receiver_pid=$!
	for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
fi
if [ -s "$port_file" ]; then
	printf '%s\n' "apiVersion: apiserver.config.k8s.io/v1beta1" "kind: TracingConfiguration" \
		"endpoint: 127.0.0.1:$(cat "$port_file")" "samplingRatePerMillion: 0" \
		>"$root/build/bench-apiserver-tracing.yaml"
	export APISERVER_EXTRA_ARGS="${APISERVER_EXTRA_ARGS:-} --tracing-config-file=$root/build/bench-apiserver-tracing.yaml"
else
	unset BENCH_APISERVER_SPANS
fi
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
