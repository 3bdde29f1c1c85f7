#!/usr/bin/env bash
# Pods/s created in a namespace that did not opt in, with the chart installed and
# without it, alternated in one run on the local control plane (bench/run.sh gives
# KUBECONFIG; kwok runs the pods). The chart registers its webhooks so that such a pod
# is never sent to them (namespaceSelector on the operator's label, matchConditions on
# the pod's annotations), so the ratio is 1.0 by construction: printed with the API
# server's count of calls to the webhooks over the run, which must stay 0.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PODS=${PODS:-200}
ROUNDS=${ROUNDS:-3}
if [ -z "${KUBECONFIG:-}" ] || ! command -v helm >/dev/null; then
	echo "chart_not_opted_in: skipped (no local control plane or no helm; run through make bench)"
	exit 0
fi
ns=bench-plain-$$ sys=bench-autotrace-$$
cleanup() {
	helm uninstall autotrace -n "$sys" --wait >/dev/null 2>&1
	kubectl delete namespace "$ns" "$sys" --wait=false >/dev/null 2>&1
}
trap cleanup EXIT
kubectl create namespace "$ns" >/dev/null
kubectl create namespace "$sys" >/dev/null
ms() { date +%s%3N; }
pod_list() { # ROUND
	jq -n --arg r "$1" --argjson n "$PODS" '{apiVersion: "v1", kind: "List", items: [range($n) |
		{apiVersion: "v1", kind: "Pod", metadata: {name: "p\($r)-\(.)", labels: {app: "bench"}},
		 spec: {containers: [{name: "app", image: "registry.invalid/app:1"}]}}]}'
}
# Pods/s of one round: $PODS pods created by one kubectl (one request after another),
# then deleted.
round() {
	local t0 dt
	pod_list "$1" >"/tmp/chart-bench-$$.json"
	t0=$(ms)
	kubectl -n "$ns" create -f "/tmp/chart-bench-$$.json" >/dev/null
	dt=$(($(ms) - t0))
	kubectl -n "$ns" delete pods -l app=bench --wait=false >/dev/null
	rm -f "/tmp/chart-bench-$$.json"
	awk -v n="$PODS" -v ms="$dt" 'BEGIN { printf "%.1f", n * 1000 / ms }'
}
webhook_calls() {
	kubectl get --raw /metrics | awk 'index($0, "apiserver_admission_webhook_request_total{") == 1 &&
		index($0, "autotrace.dev\"") { n += $NF } END { print n + 0 }'
}
echo "chart_not_opted_in: $PODS pods per round in a namespace that did not opt in, $ROUNDS rounds (none, chart, none)"
round warmup >/dev/null # the first creations of a fresh namespace are slower
ratios=()
for r in $(seq "$ROUNDS"); do
	a=$(round "a$r")
	helm install autotrace charts/autotrace -n "$sys" --wait --timeout 120s >/dev/null || { echo "helm install failed"; exit 0; }
	calls0=$(webhook_calls)
	c=$(round "c$r")
	calls1=$(webhook_calls)
	helm uninstall autotrace -n "$sys" --wait >/dev/null
	b=$(round "b$r")
	ratio=$(awk -v c="$c" -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", c / ((a + b) / 2) }')
	ratios+=("$ratio")
	echo "  round $r: none $a, chart $c, none $b pods/s: ratio $ratio; webhook calls during the chart's round: $((calls1 - calls0))"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "chart_not_opted_in: pods/s with the chart / without, median of $ROUNDS: $(median "${ratios[@]}")"
