#!/usr/bin/env bash
# `make demo`: autotrace as a user meets it, on the kind cluster of this machine (the
# one `make test-e2e` makes; left up, and the e2e suite then runs on it): `helm install` of charts/autotrace,
# an OTLP receiver, an Instrumentation, namespace shop annotated to opt in, a shop of
# two Go services deployed there, traffic; then what a user looks at: `kubectl get
# instrumentations`, the agents' RED metrics, and the traces the receiver got, drawn
# as trees. Runs again cleanly: everything is applied, not created. `make demo-down`
# deletes the cluster.
# Environment (from make): PATH with kind, kubectl and helm, the kind variables
# (mk/kind.mk), IMAGE_ARCHIVES, IMAGE_REGISTRY, IMAGE_TAG.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. e2e/kind/lib.sh
image() { echo "${IMAGE_REGISTRY:-docker.io/autotrace}/$1:${IMAGE_TAG:-dev}"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
wait_for() { # SECS DESCRIPTION CMD...
	local secs=$1 deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || { echo "demo: $what did not happen within ${secs} s" >&2; return 1; }
		sleep 1
	done
}

step "a kind cluster ($KIND_CLUSTER) with autotrace's images"
e2e/kind/up.sh >/dev/null
export KUBECONFIG=$KIND_KUBECONFIG

step "helm install autotrace"
show helm upgrade --install autotrace charts/autotrace -n autotrace-system --create-namespace \
	--set image.registry="${IMAGE_REGISTRY:-docker.io/autotrace}" --set image.tag="${IMAGE_TAG:-dev}" \
	--wait --timeout 300s | sed -n '1,6p'
bundle_set() { [ -n "$(kubectl get mutatingwebhookconfiguration autotrace -o jsonpath='{.webhooks[0].clientConfig.caBundle}')" ]; }
wait_for 120 "the webhook's certificate" bundle_set

step "an OTLP receiver in namespace observability"
sed "s#IMAGE#$(image otlp-receiver)#" e2e/demo/observability.yaml | kubectl apply -f -
kubectl -n observability rollout status deployment/otlp-receiver --timeout=180s

step "namespace shop opts in, and says where its spans go"
kubectl create namespace shop --dry-run=client -o yaml | kubectl apply -f - >/dev/null
show kubectl annotate namespace shop autotrace.dev/inject=true --overwrite
show kubectl apply -f e2e/demo/instrumentation.yaml
labelled() { [ "$(kubectl get namespace shop -o jsonpath='{.metadata.labels.autotrace\.dev/inject-enabled}')" = true ]; }
wait_for 60 "the operator labelling namespace shop" labelled

step "the shop: frontend calls backend over HTTP"
sed "s#IMAGE#$(image sample-shop)#" e2e/demo/shop.yaml | kubectl apply -f -
kubectl -n shop rollout status deployment/backend --timeout=180s
kubectl -n shop rollout status deployment/frontend --timeout=180s
agents_ready() { [ "$(kubectl -n shop get instrumentation traces -o jsonpath='{.status.readyAgents}')" = 2 ]; }
wait_for 120 "two ready agents" agents_ready

step "traffic: 20 checkouts, through the API server's proxy"
checkout() { kubectl get --raw "/api/v1/namespaces/shop/services/frontend:8080/proxy/checkout?items=apple,pear,plum"; }
# The backend's Service answers once kube-proxy has its endpoint, shortly after Ready.
wait_for 60 "a first checkout" checkout
for i in $(seq 20); do
	kubectl get --raw "/api/v1/namespaces/shop/services/frontend:8080/proxy/checkout?items=apple,pear,plum" >/dev/null ||
		echo "checkout $i failed"
done
echo "sent"
spans() { kubectl -n observability exec deploy/otlp-receiver -- cat /var/lib/otlp-receiver/spans.jsonl 2>/dev/null; }
enough_spans() { [ "$(spans | grep -c '"/checkout"')" -ge 20 ]; }
wait_for 60 "spans of 20 checkouts at the receiver" enough_spans

step "what autotrace says about itself"
show kubectl get instrumentations -n shop
show kubectl get pods -n shop -L autotrace.dev/injected

step "the frontend's RED metrics, from its agent's /metrics"
pod=$(kubectl -n shop get pods -l app=frontend -o jsonpath='{.items[0].metadata.name}')
kubectl get --raw "/api/v1/namespaces/shop/pods/$pod:9464/proxy/metrics" |
	grep -E '^(http_(server|client)_request_duration_seconds_(count|sum)|autotrace_agent_(spans_exported_total|processes_instrumented|probes_attached))' || true

step "the last 3 checkouts' traces at the receiver"
all=$(spans)
ids=$(jq -r 'select(.attributes["url.path"] == "/checkout") | .trace_id' <<<"$all" | tail -n 3)
grep -F "$ids" <<<"$all" | tools/trace-tree -n 3

step "look around"
cat <<TXT
  export KUBECONFIG=$KIND_KUBECONFIG
  kubectl get instrumentations -A                    # injected pods, ready agents
  kubectl describe instrumentation -n shop traces    # status, conditions, events
  kubectl get --raw '/api/v1/namespaces/shop/services/frontend:8080/proxy/checkout?items=apple,pear'
  kubectl -n observability exec deploy/otlp-receiver -- cat /var/lib/otlp-receiver/spans.jsonl | tools/trace-tree -n 5
  kubectl patch instrumentation -n shop traces --type merge -p '{"spec":{"sampler":{"ratio":0.1}}}'   # live, no restart
  helm test autotrace -n autotrace-system
Tear down: make demo-down   (deletes the cluster and puts back what it changed on this host)
TXT
