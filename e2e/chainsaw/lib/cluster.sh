# Sourced by the suite's script steps: how a user reaches into the cluster, with
# kubectl only (the API server's proxy, exec), so the suite runs from anywhere that
# has a KUBECONFIG. NAMESPACE is the test's namespace (chainsaw sets it);
# RELEASE_NAMESPACE and RELEASE come from the step's env.
set -uo pipefail
: "${NAMESPACE:?}"
RELEASE=${RELEASE:-autotrace}
RELEASE_NAMESPACE=${RELEASE_NAMESPACE:-autotrace-system}

# Every span the test's receiver got, one JSON object a line.
spans() { kubectl -n "$NAMESPACE" exec deploy/otlp-receiver -- cat /var/lib/otlp-receiver/spans.jsonl 2>/dev/null; }
# Server spans of GET /hello.
hello_spans() { spans | jq -c 'select(.attributes["url.path"] == "/hello" and .kind == 2)' | wc -l; }

# N GETs of PATH on a Service's port through the API server's proxy, four at a time;
# prints how many answered (the proxy fails a request the service does not answer).
gets() { # SERVICE:PORT PATH N
	seq "$3" | xargs -P 4 -I{} sh -c 'kubectl get --raw "$1" >/dev/null 2>&1 && echo ok' _ \
		"/api/v1/namespaces/$NAMESPACE/services/$1/proxy$2" | wc -l
}

# The /metrics of a pod's port.
pod_metrics() { kubectl get --raw "/api/v1/namespaces/$1/pods/$2:$3/proxy/metrics"; }

# The webhook's admissions (every replica's counter summed), by result.
webhook_admissions() {
	local p
	for p in $(kubectl -n "$RELEASE_NAMESPACE" get pods -l app.kubernetes.io/name=autotrace-webhook \
		--field-selector=status.phase=Running -o jsonpath='{.items[*].metadata.name}'); do
		pod_metrics "$RELEASE_NAMESPACE" "$p" 9465
	done | awk '/^autotrace_webhook_admissions_total/ { n += $NF } END { print n + 0 }'
}

# The API server's count of calls to a webhook that failed open.
fail_open() {
	kubectl get --raw /metrics | awk -v w="name=\"$1\"" 'index($0, "apiserver_admission_webhook_fail_open_count{") == 1 && index($0, w) { n += $NF } END { print n + 0 }'
}

# until SECS CMD...: polls CMD every second until it succeeds; 1 when it never did.
until_true() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 1
	done
}

# The first pod of a Deployment's app label.
first_pod() { kubectl -n "$NAMESPACE" get pods -l "app=$1" -o jsonpath='{.items[0].metadata.name}'; }
