#!/usr/bin/env bash
# A user's first day with autotrace, on a real cluster: the operator and the webhook run
# from their images with their own ServiceAccounts; an Instrumentation exports to an
# OTLP receiver in the cluster, reached by its Service's DNS name; a namespace opts in
# and a Deployment of a Go HTTP service gets the agent sidecar, which traces it with
# real uprobes in a real container runtime. Checked as a user checks: the stored pod,
# readiness, spans at the receiver, /metrics, `kubectl get instrumentations`; then a
# sampling change applied live, a namespace that did not opt in, an agent container
# short of one capability, and the webhook scaled to zero.
# Needs KUBECONFIG of a cluster with autotrace's images (make kind-up loads them) and
# no autotrace installed (the script installs deploy/autotrace.yaml and removes it).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/e2e/suite/lib.sh"

id=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
obs=e2e-obs-$id     # the OTLP receiver
shop=e2e-shop-$id   # opts in with its namespace annotation
plain=e2e-plain-$id # does not opt in
sys=autotrace-system

plan 21

at_exit "kubectl delete namespace $obs $shop $plain --wait=false"
at_exit "autotrace_manifest | kubectl delete --ignore-not-found --wait=false -f -"
at_exit 'if ((TAP_FAILED)); then for n in $sys $obs $shop $plain; do save_logs $n; done; fi'

# --- autotrace, installed from its manifests --------------------------------------------
install_autotrace() {
	kubectl apply -f "$root/crds/instrumentation.yaml" &&
		kubectl wait --for condition=established --timeout=60s crd/instrumentations.autotrace.dev &&
		autotrace_manifest | kubectl apply -f -
}
webhook_cabundle_set() {
	kubectl -n $sys get secret autotrace-webhook-tls >/dev/null &&
		[ -n "$(kubectl get mutatingwebhookconfiguration autotrace -o jsonpath='{.webhooks[0].clientConfig.caBundle}')" ]
}
endpoint_ip() { kubectl -n "$1" get endpoints "$2" -o jsonpath='{.subsets[0].addresses[0].ip}'; }
webhook_serving() {
	kubectl -n $sys rollout status deployment/autotrace-webhook --timeout=120s && [ -n "$(endpoint_ip $sys autotrace-webhook)" ]
}
check "the CRD and autotrace's manifests apply" install_autotrace
check "the operator becomes Ready with in-cluster config" \
	kubectl -n $sys rollout status deployment/autotrace-operator --timeout=120s
check_eventually "the operator made the webhook's certificate and put its CA into the MutatingWebhookConfiguration" 60 \
	webhook_cabundle_set
check "the webhook becomes Ready behind its Service" webhook_serving

# --- an OTLP receiver in the cluster ---------------------------------------------------------
kubectl create namespace "$obs" >/dev/null
kubectl create namespace "$shop" >/dev/null
kubectl create namespace "$plain" >/dev/null
kubectl apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: otlp-receiver, namespace: $obs}
spec:
  selector: {matchLabels: {app: otlp-receiver}}
  template:
    metadata: {labels: {app: otlp-receiver}}
    spec:
      containers:
      - name: receiver
        image: $(image otlp-receiver)
        ports: [{containerPort: 4318}]
        readinessProbe: {tcpSocket: {port: 4318}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /var/lib/otlp-receiver}]
      volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: otlp-receiver, namespace: $obs}
spec:
  selector: {app: otlp-receiver}
  ports: [{name: otlp-http, port: 4318}]
YAML
check "the OTLP receiver runs behind its Service" \
	kubectl -n "$obs" rollout status deployment/otlp-receiver --timeout=120s
spans() { kubectl -n "$obs" exec deploy/otlp-receiver -- cat /var/lib/otlp-receiver/spans.jsonl 2>/dev/null; }
hello_spans() { spans | jq -c 'select(.attributes["url.path"] == "/hello" and .kind == 2)' | wc -l; }

# --- an Instrumentation, a namespace that opts in, a Deployment -----------------------------
apply_instrumentation() {
	kubectl apply -f - <<YAML
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces, namespace: $shop}
spec:
  exporter: {endpoint: "http://otlp-receiver.$obs.svc.cluster.local:4318"}
  sampler: {type: traceidratio, ratio: $1}
YAML
}
instrumentation_ready() {
	[ "$(kubectl -n $shop get instrumentation traces -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
apply_instrumentation 1 >/dev/null
check_eventually "the Instrumentation becomes Ready" 30 instrumentation_ready
kubectl annotate namespace "$shop" autotrace.dev/inject=true >/dev/null
service_yaml() {
	cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: httpsvc, namespace: $1}
spec:
  selector: {matchLabels: {app: httpsvc}}
  template:
    metadata: {labels: {app: httpsvc}}
    spec:
      containers:
      - name: app
        image: $(image sample-httpsvc)
        args: [-addr, ":8080"]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /hello, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: httpsvc, namespace: $1}
spec:
  selector: {app: httpsvc}
  ports: [{port: 8080}]
YAML
}
service_yaml "$shop" | kubectl apply -f - >/dev/null
kubectl -n "$shop" rollout status deployment/httpsvc --timeout=180s >/dev/null
pod=$(kubectl -n "$shop" get pods -l app=httpsvc -o jsonpath='{.items[0].metadata.name}')
diag "pod: $shop/$pod"
podjson=$(kubectl -n "$shop" get pod "$pod" -o json)
check "the pod as stored has the agent as a sidecar, sharing its process namespace" jq -e '
	(.metadata.labels["autotrace.dev/injected"] == "true") and (.spec.shareProcessNamespace == true) and
	([.spec.initContainers[]? | select(.name == "autotrace-agent" and .restartPolicy == "Always")] | length == 1)' \
	<<<"$podjson"
all_ready() {
	kubectl -n "$1" get pod "$2" -o json | jq -e '
		([.status.containerStatuses[], .status.initContainerStatuses[]?] | map(.ready) | all) and
		([.status.initContainerStatuses[]?.name] | index("autotrace-agent") != null)'
}
check_eventually "the app and the agent are both Ready" 60 all_ready "$shop" "$pod"
# CAP_SYS_PTRACE (19), CAP_PERFMON (38), CAP_BPF (39), nothing else.
agent_caps() { kubectl -n $shop exec "$pod" -c autotrace-agent -- cat /proc/self/status | grep -x 'CapEff:[[:space:]]*000000c000080000'; }
check "the agent runs with exactly CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE" agent_caps

# --- spans and metrics -------------------------------------------------------------------------
port_forward svc_port "$shop" svc/httpsvc 8080
port_forward agent_port "$shop" "pod/$pod" 9464
diag "service on 127.0.0.1:${svc_port:-?}, agent on 127.0.0.1:${agent_port:-?}"
check "50 requests to the service all answer 200" test "$(http_gets "${svc_port:-1}" /hello 50)" = 50
at_least_hello_spans() { [ "$(hello_spans)" -ge "$1" ]; }
check_eventually "the receiver got a server span for each of them" 30 at_least_hello_spans 50
one=$(spans | jq -c 'select(.attributes["url.path"] == "/hello")' | tail -n 1)
diag "a span: $(jq -c '{name, attributes, resource}' <<<"$one" 2>&1)"
span_of_pod() {
	[ -n "$one" ] && jq -e --arg pod "$pod" --arg ns "$shop" '
		.resource["k8s.pod.name"] == $pod and .resource["k8s.namespace.name"] == $ns and
		.resource["k8s.deployment.name"] == "httpsvc" and .resource["service.name"] == "httpsvc" and
		(.resource["k8s.node.name"] | length > 0) and .attributes["http.response.status_code"] == 200' <<<"$one"
}
check "spans carry the pod's k8s.* attributes and service.name" span_of_pod
agent_metrics() { curl -s --max-time 5 "http://127.0.0.1:${agent_port:-1}/metrics"; }
red_and_self_metrics() {
	local m
	m=$(agent_metrics)
	# The requests above, by method and status (no route label: net/http's mux pattern
	# is not known to the probes, and a raw path would be unbounded).
	awk '/^http_server_request_duration_seconds_count\{http_request_method="GET",http_response_status_code="200"\}/ { n = $NF }
		END { exit !(n >= 50) }' <<<"$m" &&
		grep -q '^autotrace_agent_spans_exported_total' <<<"$m" &&
		grep -q '^autotrace_agent_processes_instrumented 1$' <<<"$m" || { echo "$m"; return 1; }
}
check "the agent's /metrics counts the 50 GETs answered 200 (RED) and its own spans and processes" red_and_self_metrics
inst_counts() { kubectl -n $shop get instrumentations traces --no-headers | awk '{ print $5, $6 }'; }
counts_are() { [ "$(inst_counts)" = "$1" ]; }
check_eventually "kubectl get instrumentations shows the injected pod and its ready agent" 30 counts_are "1 1"

# --- the sampling ratio, changed live ------------------------------------------------------
revision() {
	kubectl -n "$shop" get configmap "autotrace.$shop.traces" -o jsonpath='{.metadata.annotations.autotrace\.dev/config-revision}'
}
old_rev=$(revision)
apply_instrumentation 0.25 >/dev/null
revision_changed() { [ -n "$(revision)" ] && [ "$(revision)" != "$old_rev" ]; }
wait_until 30 revision_changed
rev=$(revision)
diag "config revision $old_rev -> $rev"
agent_on() { agent_metrics | grep -q "^autotrace_agent_config_info{revision=\"$1\".*} 1"; }
start=$SECONDS
check_eventually "the agent applies the new ratio from its mounted ConfigMap" 180 agent_on "$rev"
diag "applied $((SECONDS - start)) s after the change"
restarts() {
	kubectl -n $shop get pod "$pod" -o jsonpath='{range .status.initContainerStatuses[*]}{.restartCount}{end}{range .status.containerStatuses[*]}{.restartCount}{end}'
}
check "with no restart of the pod" test "$(restarts)" = 00
before=$(hello_spans)
http_gets "${svc_port:-1}" /hello 400 >/dev/null
sleep 3
after=$(hello_spans)
diag "400 requests at ratio 0.25 gave $((after - before)) spans"
check "400 requests now give about a quarter as many spans (60 to 140)" \
	test $((after - before)) -ge 60 -a $((after - before)) -le 140

# --- a namespace that did not opt in --------------------------------------------------------
service_yaml "$plain" | kubectl apply -f - >/dev/null
kubectl -n "$plain" rollout status deployment/httpsvc --timeout=120s >/dev/null
unchanged() {
	kubectl -n $plain get pods -l app=httpsvc -o json | jq -e '.items[0] |
		(.spec.initContainers == null) and (.spec.containers | length == 1) and
		(.metadata.labels["autotrace.dev/injected"] == null) and .status.containerStatuses[0].ready'
}
check "a pod in a namespace that did not opt in runs unchanged" unchanged

# --- an agent container short of one capability ----------------------------------------------
# The injected pod's spec, created again where the webhook does not inject, with
# SYS_PTRACE taken out of the agent's capabilities.
jq --arg ns "$plain" '
	{apiVersion: "v1", kind: "Pod", metadata: {name: "no-ptrace", namespace: $ns},
	 spec: (.spec | del(.nodeName) |
		.initContainers |= map(if .name == "autotrace-agent"
			then .securityContext.capabilities.add = ["BPF", "PERFMON"] else . end))}' \
	<<<"$podjson" | kubectl apply -f - >/dev/null
says_missing() { kubectl -n $plain logs no-ptrace -c autotrace-agent 2>/dev/null | grep 'missing capabilities: CAP_SYS_PTRACE'; }
check_eventually "an agent without CAP_SYS_PTRACE says that this capability is missing" 60 says_missing

# --- the webhook scaled to zero ---------------------------------------------------------------
# Pods of a namespace that opted in (labelled by the operator) go to the webhook named
# namespaces.autotrace.dev; pods.autotrace.dev takes only pods annotated elsewhere.
fail_open() {
	kubectl get --raw /metrics | awk '/^apiserver_admission_webhook_fail_open_count\{.*name="namespaces\.autotrace\.dev"/ { n += $NF } END { print n + 0 }'
}
no_webhook_endpoint() { [ -z "$(endpoint_ip $sys autotrace-webhook)" ]; }
kubectl -n $sys scale deployment/autotrace-webhook --replicas=0 >/dev/null
wait_until 60 no_webhook_endpoint
open_before=$(fail_open)
check "with the webhook down, a pod in the opted-in namespace is still created" \
	kubectl -n "$shop" run unwatched --image="$(image sample-httpsvc)" --restart=Never -- -addr :8080
created_plain() {
	kubectl -n $shop get pod unwatched -o json | jq -e '.spec.initContainers == null' >/dev/null &&
		[ "$(fail_open)" -gt "$open_before" ]
}
check "without the sidecar, and the API server counts the call that failed open" created_plain
kubectl -n $sys scale deployment/autotrace-webhook --replicas=1 >/dev/null
