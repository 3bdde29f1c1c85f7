#!/usr/bin/env bash
# autotrace in real pods, on the kind cluster of this machine (e2e/kind; brought up and
# taken down here unless one is running), each figure next to its baseline in the same
# run:
#   - a Deployment's time from `kubectl apply` to Ready in a namespace that opted in
#     (the sidecar injected) and in one that did not, alternated over ROUNDS rounds;
#     and, opted in, from apply to its first span at the receiver;
#   - the service's requests/s with and without the sidecar (wrk on this host through a
#     NodePort, alternated), and the sidecar's RSS and CPU while it takes that load.
# Needs the kind variables make passes (mk/kind.mk) and IMAGE_ARCHIVES.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ROUNDS=${ROUNDS:-3}
LOAD_S=${LOAD_S:-10}
if [ -z "${KIND_NODE_IMAGE:-}" ] || ! command -v kind >/dev/null || ! command -v wrk >/dev/null; then
	echo "kind_pods: skipped (run through make bench, which passes the kind settings)"
	exit 0
fi
. e2e/kind/lib.sh
created=
if ! kind_cluster_exists; then
	out=$(e2e/kind/up.sh 2>/tmp/kind_pods.bench.log) || { echo "kind_pods: no cluster (/tmp/kind_pods.bench.log)"; exit 0; }
	created=1
fi
export KUBECONFIG=$KIND_KUBECONFIG
IMAGE_REGISTRY=${IMAGE_REGISTRY:-docker.io/autotrace} IMAGE_TAG=${IMAGE_TAG:-dev}
image() { echo "$IMAGE_REGISTRY/$1:$IMAGE_TAG"; }
id=$$
obs=bench-obs-$id traced=bench-traced-$id plain=bench-plain-$id sys=autotrace-system
cleanup() {
	kubectl delete namespace "$obs" "$traced" "$plain" --wait=false >/dev/null 2>&1
	helm uninstall autotrace -n $sys --wait >/dev/null 2>&1
	[ -z "$created" ] || e2e/kind/down.sh >/dev/null 2>&1
}
trap cleanup EXIT
ms() { date +%s%3N; }

t_install=$(ms)
helm install autotrace charts/autotrace -n $sys --create-namespace --set image.registry="$IMAGE_REGISTRY" \
	--set image.tag="$IMAGE_TAG" --wait --timeout 240s >/dev/null
for n in $obs $traced $plain; do kubectl create namespace "$n" >/dev/null; done
kubectl -n "$obs" create deployment otlp-receiver --image="$(image otlp-receiver)" >/dev/null
kubectl -n "$obs" expose deployment otlp-receiver --port 4318 >/dev/null
kubectl -n "$obs" rollout status deployment/otlp-receiver --timeout=120s >/dev/null
kubectl apply -f - >/dev/null <<YAML
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces, namespace: $traced}
spec:
  exporter: {endpoint: "http://otlp-receiver.$obs.svc.cluster.local:4318"}
  sampler: {type: traceidratio, ratio: 1}
YAML
kubectl annotate namespace "$traced" autotrace.dev/inject=true >/dev/null
# The webhook is called for the namespace once the operator has labelled it.
for _ in $(seq 60); do
	[ "$(kubectl get namespace "$traced" -o jsonpath='{.metadata.labels.autotrace\.dev/inject-enabled}')" = true ] && break
	sleep 0.5
done
spans() { kubectl -n "$obs" exec deploy/otlp-receiver -- cat /var/lib/otlp-receiver/spans.jsonl 2>/dev/null; }

deployment() {
	cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $2, namespace: $1}
spec:
  selector: {matchLabels: {app: $2}}
  template:
    metadata: {labels: {app: $2}}
    spec:
      containers:
      - name: app
        image: $(image sample-httpsvc)
        args: [-addr, ":8080"]
        readinessProbe: {httpGet: {path: /hello, port: 8080}, periodSeconds: 1}
YAML
}
# Seconds from apply to Ready; with "span", also to the first span of that pod.
apply_to_ready() {
	local ns=$1 name=$2 t0 ready pod first= at=
	t0=$(ms)
	deployment "$ns" "$name" | kubectl apply -f - >/dev/null
	kubectl -n "$ns" rollout status "deployment/$name" --timeout=180s >/dev/null
	ready=$(($(ms) - t0))
	if [ "${3:-}" = span ]; then
		pod=$(kubectl -n "$ns" get pods -l "app=$name" -o jsonpath='{.items[0].metadata.name}')
		kubectl -n "$ns" expose deployment "$name" --port 8080 >/dev/null
		# Requests from inside the cluster (the receiver's pod has no client): the node's
		# kube-proxy routes the Service's ClusterIP.
		ip=$(kubectl -n "$ns" get service "$name" -o jsonpath='{.spec.clusterIP}')
		node=$(kubectl get nodes -o jsonpath='{.items[0].metadata.name}')
		for _ in $(seq 600); do
			$KIND_PROVIDER exec "$node" curl -s -o /dev/null --max-time 1 "http://$ip:8080/hello"
			if spans | grep -q "\"k8s.pod.name\":\"$pod\""; then at=$(ms) first=$((at - t0)); break; fi
			sleep 0.2
		done
	fi
	echo "$ready ${first:--} ${at:--}"
}
echo "kind_pods: apply -> Ready (ms), $ROUNDS rounds, traced and plain alternated"
tr=() pl=() sp=()
for r in $(seq "$ROUNDS"); do
	read -r a b at < <(apply_to_ready "$traced" "svc$r" span)
	# A user's whole first day: helm install, an Instrumentation, a namespace annotated,
	# a Deployment applied, its first request traced.
	[ "$r" != 1 ] || [ "$at" = - ] || echo "  helm install -> first span of the first traced Deployment: $((at - t_install)) ms"
	read -r c _ < <(apply_to_ready "$plain" "svc$r")
	tr+=("$a") pl+=("$c") sp+=("$b")
	echo "  round $r: opted in $a ms (first span at $b ms), not opted in $c ms"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mt=$(median "${tr[@]}") mp=$(median "${pl[@]}") ms_=$(median "${sp[@]}")
echo "kind_pods: median apply->Ready: opted in $mt ms, not opted in $mp ms (ratio $(awk -v a="$mt" -v b="$mp" 'BEGIN { printf "%.2f", a / b }')); apply->first span $ms_ ms"

# Throughput with and without the sidecar, through a NodePort from this host.
node_ip=$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')
for n in $traced $plain; do
	kubectl -n "$n" expose deployment svc1 --name load --type NodePort --port 8080 >/dev/null
done
nodeport() { kubectl -n "$1" get service load -o jsonpath='{.spec.ports[0].nodePort}'; }
pod_t=$(kubectl -n "$traced" get pods -l app=svc1 -o jsonpath='{.items[0].metadata.name}')
agent_stat() {
	kubectl -n "$traced" exec "$pod_t" -c autotrace-agent -- sh -c '
		for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = autotrace-agent ] && break; done
		rss=$(sed -n "s/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p" $p/status)
		set -- $(sed "s/^.*) //" $p/stat); echo "$rss $((${12} + ${13}))"'
}
wrk_rps() { wrk -t1 -c16 -d"${LOAD_S}s" "http://$node_ip:$1/hello" 2>/dev/null | awk '/^Requests\/sec/ { print $2 }'; }
pt=$(nodeport "$traced") pp=$(nodeport "$plain")
hz=$(getconf CLK_TCK)
echo "kind_pods: wrk -t1 -c16 ${LOAD_S}s through NodePort $node_ip, $ROUNDS rounds (plain, traced, plain)"
ratios=()
for r in $(seq "$ROUNDS"); do
	p1=$(wrk_rps "$pp")
	read -r rss0 cpu0 < <(agent_stat)
	t=$(wrk_rps "$pt")
	read -r rss1 cpu1 < <(agent_stat)
	p2=$(wrk_rps "$pp")
	ratio=$(awk -v t="$t" -v a="$p1" -v b="$p2" 'BEGIN { printf "%.3f", t / ((a + b) / 2) }')
	ratios+=("$ratio")
	echo "  round $r: plain $p1, traced $t, plain $p2 req/s: ratio $ratio; sidecar RSS $((rss1 / 1024)) MiB, CPU $(awk -v c=$((cpu1 - cpu0)) -v hz="$hz" -v s="$LOAD_S" 'BEGIN { printf "%.1f", 100 * c / hz / s }')% of a core"
done
echo "kind_pods: traced/untraced requests/s, median of $ROUNDS: $(median "${ratios[@]}")"
