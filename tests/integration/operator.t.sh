#!/usr/bin/env bash
# autotrace-operator against a real control plane, as a user sees it with kubectl: the
# CRD refuses bad Instrumentations with its CEL messages; an Instrumentation gets its
# agent ConfigMap and a Ready status; a change reaches the ConfigMap within a second;
# a namespace annotation publishes it there and removing the annotation takes it away;
# injected kwok pods are counted, ready or not; deleting the Instrumentation garbage
# collects its ConfigMap; of two operators one leads and the other takes over after
# kill -9 without the status flapping; the webhook certificate is created, patched
# into the caBundle and rotated; an API server killed mid-run is survived; SIGTERM
# hands the Lease back.
# Needs KUBECONFIG and CLUSTER_DIR of a running cluster (tests/integration/run.sh) and
# bin/autotrace-operator.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/lib.sh"
: "${KUBECONFIG:?}" "${CLUSTER_DIR:?}"
export KUBECONFIG
op_bin=$root/bin/autotrace-operator
ctl=$root/e2e/cluster/ctl.sh
id=$$
opns=autotrace-op-$id  # the operators' own namespace (Lease, webhook Secret)
ns1=op-shop-$id        # holds the Instrumentation
ns2=op-other-$id       # uses it through its namespace annotation
mwc=autotrace-itest-$id
logdir=${RESULTS_DIR:-/tmp}/operator-t-$id
mkdir -p "$logdir"
LEASE_MS=3000

plan 32

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
jp() { kubectl "$@" 2>/dev/null; }

at_exit "kubectl delete namespace $ns1 $ns2 $opns --wait=false"
at_exit "kubectl delete mutatingwebhookconfiguration $mwc"
kubectl create namespace "$opns" >/dev/null
kubectl create namespace "$ns1" >/dev/null
kubectl create namespace "$ns2" >/dev/null
# Pods need the namespace's default ServiceAccount; do not wait for the controller.
kubectl -n "$ns1" create serviceaccount default >/dev/null 2>&1
kubectl -n "$ns2" create serviceaccount default >/dev/null 2>&1

# --- the CRD ----------------------------------------------------------------------------
check "the CRD applies and is established" bash -c \
	"kubectl apply -f '$root/crds/instrumentation.yaml' >/dev/null &&
	 kubectl wait --for condition=established --timeout=30s crd/instrumentations.autotrace.dev"

# A MutatingWebhookConfiguration whose caBundle the operators keep.
kubectl apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: $mwc}
webhooks:
- name: pods.autotrace.dev
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  clientConfig:
    service: {name: autotrace-webhook, namespace: $opns, path: /mutate}
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}]
  namespaceSelector:
    matchLabels: {autotrace-itest-never: "true"}
EOF

# --- two operators ------------------------------------------------------------------------
declare -A pid port
start_op() {
	port[$1]=$(free_port)
	AUTOTRACE_LOG_LEVEL=info "$op_bin" --namespace "$opns" --identity "$1" \
		--lease-duration-ms $LEASE_MS --listen "127.0.0.1:${port[$1]}" \
		--status-delay-ms 200 --secret-retry-ms 1000 \
		--webhook-config "$mwc" --cert-ip 127.0.0.1 \
		--cert-validity-s 120 --cert-rotate-before-s 108 --cert-check-s 2 \
		>>"$logdir/$1.log" 2>&1 &
	pid[$1]=$!
}
at_exit 'for p in ${pid[@]}; do kill -9 $p; done'
start_op op-a
start_op op-b
holder() { jp -n "$opns" get lease autotrace-operator -o jsonpath='{.spec.holderIdentity}'; }
check_eventually "one of two operators takes the Lease" 15 bash -c "[ -n \"\$(kubectl -n $opns get lease autotrace-operator -o jsonpath='{.spec.holderIdentity}')\" ]"
leader=$(holder)
diag "leader: $leader"

# --- bad Instrumentations are refused with the CEL messages --------------------------------
bad() {
	local desc=$1 spec=$2 want=$3 out
	out=$(printf 'apiVersion: autotrace.dev/v1alpha1\nkind: Instrumentation\nmetadata: {name: bad, namespace: %s}\nspec: %s\n' "$ns1" "$spec" |
		kubectl apply -f - 2>&1)
	if [ $? -ne 0 ] && grep -qF -- "$want" <<<"$out"; then
		ok "refused: $desc"
	else
		not_ok "refused: $desc" "wanted: $want"$'\n'"$out"
	fi
}
bad "ratio 1.5" '{sampler: {type: traceidratio, ratio: 1.5}}' "sampler.ratio must be a number from 0 to 1"
bad "an unknown sampler" '{sampler: {type: sometimes}}' "sampler.type must be one of always_on"
bad "an ftp endpoint" '{exporter: {endpoint: "ftp://collector:21"}}' "exporter.endpoint must be an http:// or https:// URL"
bad "an unknown field" '{exporter: {endpoint: "http://c:4318", compression: gzip}}' 'unknown field "spec.exporter.compression"'

# --- an Instrumentation gets its ConfigMap and a Ready status -------------------------------
cm=autotrace.$ns1.traces
apply_inst() {
	kubectl apply -f - >/dev/null <<EOF
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces, namespace: $ns1}
spec:
  exporter:
    endpoint: http://otel-collector.observability:4318
    headers:
    - {name: x-tenant, value: shop}
  sampler: {type: parentbased_traceidratio, ratio: $1}
  resourceAttributes: {deployment.environment.name: test}
EOF
}
apply_inst 0.25
config() { jp -n "$1" get configmap "$cm" -o jsonpath='{.data.config\.json}'; }
check_eventually "the ConfigMap $cm appears" 10 bash -c "kubectl -n $ns1 get configmap $cm"
cfg=$(config "$ns1")
if python3 - "$cfg" "$ns1" <<'EOF'
import json, sys
c = json.loads(sys.argv[1])
assert c["instrumentation"] == sys.argv[2] + "/traces", c
assert c["exporter"]["endpoint"] == "http://otel-collector.observability:4318", c
assert c["exporter"]["headers"] == {"x-tenant": "shop"}, c
assert c["sampler"] == {"type": "parentbased_traceidratio", "ratio": 0.25}, c
assert c["resourceAttributes"] == {"deployment.environment.name": "test"}, c
assert c["propagators"] == ["tracecontext", "baggage"], c
EOF
then ok "its config.json carries the spec"; else not_ok "its config.json carries the spec" "$cfg"; fi

ready_status() {
	local gen obs ready rev
	gen=$(jp -n "$ns1" get inst traces -o jsonpath='{.metadata.generation}')
	obs=$(jp -n "$ns1" get inst traces -o jsonpath='{.status.observedGeneration}')
	ready=$(jp -n "$ns1" get inst traces -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')
	rev=$(jp -n "$ns1" get inst traces -o jsonpath='{.status.configRevision}')
	[ "$gen" = "$obs" ] && [ "$ready" = True ] &&
		[ "$rev" = "$(jp -n "$ns1" get configmap "$cm" -o jsonpath='{.metadata.annotations.autotrace\.dev/config-revision}')" ]
}
check_eventually "status: Ready=True, observedGeneration and configRevision match" 10 ready_status
out=$(kubectl -n "$ns1" get inst 2>&1)
if head -1 <<<"$out" | grep -qE 'NAME +ENDPOINT +SAMPLER +RATIO +INJECTED +READY +AGE' &&
	grep -qE 'traces +http://otel-collector.observability:4318 +parentbased_traceidratio +0.25 +0 +0 ' <<<"$out"; then
	ok "kubectl get inst shows endpoint, sampler, ratio, injected, ready, age"
else
	not_ok "kubectl get inst shows endpoint, sampler, ratio, injected, ready, age" "$out"
fi
check "a ConfigPublished Event is recorded" bash -c \
	"kubectl -n $ns1 get events --field-selector involvedObject.name=traces,reason=ConfigPublished -o name | grep -q ."

# --- a new ratio reaches the ConfigMap within a second ----------------------------------
rev0=$(jp -n "$ns1" get configmap "$cm" -o jsonpath='{.metadata.annotations.autotrace\.dev/config-revision}')
t0=$(now_ms)
kubectl -n "$ns1" patch inst traces --type=merge -p '{"spec":{"sampler":{"ratio":0.5}}}' >/dev/null
took=""
while (($(now_ms) - t0 < 5000)); do
	rev=$(jp -n "$ns1" get configmap "$cm" -o jsonpath='{.metadata.annotations.autotrace\.dev/config-revision}')
	if [ -n "$rev" ] && [ "$rev" != "$rev0" ]; then took=$(($(now_ms) - t0)); break; fi
	sleep 0.05
done
if [ -n "$took" ] && ((took <= 1000)) && config "$ns1" | grep -q '"ratio":0.5'; then
	ok "ratio 0.25 -> 0.5: the ConfigMap's revision changed in ${took} ms"
else
	not_ok "ratio 0.25 -> 0.5: the ConfigMap's revision changed within 1 s" "took: ${took:-never} ms"
fi

# --- a namespace that uses it by annotation ----------------------------------------------
t0=$(now_ms)
kubectl annotate namespace "$ns2" "autotrace.dev/inject=$ns1/traces" >/dev/null
took=""
while (($(now_ms) - t0 < 5000)); do
	if [ -n "$(config "$ns2")" ]; then took=$(($(now_ms) - t0)); break; fi
	sleep 0.05
done
if [ -n "$took" ] && ((took <= 1000)) && [ "$(config "$ns2")" = "$(config "$ns1")" ]; then
	ok "annotated $ns2 with $ns1/traces: the same ConfigMap there in ${took} ms"
else
	not_ok "annotated $ns2 with $ns1/traces: the same ConfigMap there within 1 s" "took: ${took:-never} ms"
fi
kubectl annotate namespace "$ns2" autotrace.dev/inject- >/dev/null
check_eventually "annotation removed: the ConfigMap leaves $ns2" 5 \
	bash -c "! kubectl -n $ns2 get configmap $cm"
kubectl annotate namespace "$ns2" "instrumentation.opentelemetry.io/inject-go=$ns1/traces" >/dev/null
check_eventually "the OpenTelemetry annotation inject-go publishes it too" 5 \
	bash -c "kubectl -n $ns2 get configmap $cm"

# --- injected kwok pods, agent ready or not ----------------------------------------------
node=$(kubectl get nodes -l type=kwok -o jsonpath='{.items[0].metadata.name}')
mkpod() { mkpod_yaml "$@" | kubectl apply -f - >/dev/null; }
mkpod_yaml() {
	cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $2
  namespace: $1
  labels: {autotrace.dev/injected: "true"}
  annotations: {autotrace.dev/instrumentation: $ns1/traces}
spec:
  nodeName: $node
  initContainers:
  - {name: autotrace-agent, image: registry.invalid/agent:1, restartPolicy: Always}
  containers:
  - {name: app, image: registry.invalid/app:1}
EOF
}
# What a kubelet reports for a sidecar that runs but fails its readiness probe.
agent_unready() {
	kubectl -n "$1" patch pod "$2" --subresource=status --type=json -p \
		'[{"op":"replace","path":"/status/initContainerStatuses/0/ready","value":false}]' >/dev/null
}
counts() { jp -n "$ns1" get inst traces -o jsonpath='{.status.injectedPods}/{.status.readyAgents}'; }
for p in a b c; do mkpod "$ns1" "pod-$p"; done
mkpod "$ns2" pod-d
check_eventually "4 injected pods (one in $ns2), 4 agents ready" 15 bash -c "[ \"\$(kubectl -n $ns1 get inst traces -o jsonpath='{.status.injectedPods}/{.status.readyAgents}')\" = 4/4 ]"
wait_until 10 bash -c "[ \"\$(kubectl -n $ns1 get pod pod-c -o jsonpath='{.status.initContainerStatuses[0].ready}')\" = true ]"
# Status writes are coalesced: 10 more pods applied at once (each created and made
# ready by kwok: some 30 pod events) make a few status writes, not one per event.
status_writes() {
	curl -s "127.0.0.1:${port[$(holder)]}/metrics" | awk -F' ' '/^autotrace_operator_api_writes_total\{kind="status"\}/ {print $2}'
}
w0=$(status_writes)
for i in $(seq 1 10); do mkpod_yaml "$ns1" "burst-$i"; echo ---; done | kubectl apply -f - >/dev/null
wait_until 20 bash -c "[ \"\$(kubectl -n $ns1 get inst traces -o jsonpath='{.status.injectedPods}/{.status.readyAgents}')\" = 14/14 ]"
sleep 1
w1=$(status_writes)
if [ -n "$w0" ] && [ -n "$w1" ] && (( ${w1%.*} - ${w0%.*} >= 1 && ${w1%.*} - ${w0%.*} <= 8 )); then
	ok "10 pods, ~30 pod events: $(( ${w1%.*} - ${w0%.*} )) status write(s)"
else
	not_ok "10 pods: status writes coalesced (1 to 8)" "before: $w0, after: $w1"
fi
for i in $(seq 1 10); do kubectl -n "$ns1" delete pod "burst-$i" --grace-period=0 --force >/dev/null 2>&1; done
wait_until 20 bash -c "[ \"\$(kubectl -n $ns1 get inst traces -o jsonpath='{.status.injectedPods}')\" = 4 ]"
follower=$([ "$(holder)" = op-a ] && echo op-b || echo op-a)
fw=$(curl -s "127.0.0.1:${port[$follower]}/metrics" | grep -c '^autotrace_operator_api_writes_total')
if [ "$fw" = 0 ]; then ok "the standby $follower wrote nothing"; else not_ok "the standby $follower wrote nothing" "$(curl -s "127.0.0.1:${port[$follower]}/metrics" | grep writes)"; fi
agent_unready "$ns1" pod-c
check_eventually "an agent that is not ready: 4/3, Degraded=True AgentsNotReady" 10 bash -c \
	"[ \"\$(kubectl -n $ns1 get inst traces -o jsonpath='{.status.injectedPods}/{.status.readyAgents}/{.status.conditions[?(@.type==\"Degraded\")].reason}')\" = 4/3/AgentsNotReady ]"
kubectl -n "$ns1" delete pod pod-a --grace-period=0 --force >/dev/null 2>&1
check_eventually "a pod deleted: 3/2" 15 bash -c "[ \"\$(kubectl -n $ns1 get inst traces -o jsonpath='{.status.injectedPods}/{.status.readyAgents}')\" = 3/2 ]"

# --- a missing Secret: Ready=False, the last good config stays ------------------------------
good=$(config "$ns1")
kubectl -n "$ns1" patch inst traces --type=merge -p \
	'{"spec":{"exporter":{"headers":[{"name":"x-tenant","value":"shop"},{"name":"authorization","valueFrom":{"secretKeyRef":{"name":"otel-token","key":"token"}}}]}}}' >/dev/null
check_eventually "a header from a missing Secret: Ready=False reason SecretNotFound" 10 bash -c \
	"[ \"\$(kubectl -n $ns1 get inst traces -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}/{.status.conditions[?(@.type==\"Ready\")].reason}')\" = False/SecretNotFound ]"
if [ "$(config "$ns1")" = "$good" ]; then ok "the last good config stays in place"; else not_ok "the last good config stays in place"; fi
kubectl -n "$ns1" create secret generic otel-token --from-literal=token='Bearer t0ken' >/dev/null
check_eventually "the Secret created: Ready again, its value in config.json" 10 bash -c \
	"kubectl -n $ns1 get configmap $cm -o jsonpath='{.data.config\.json}' | grep -q 'Bearer t0ken' &&
	 [ \"\$(kubectl -n $ns1 get inst traces -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"

# --- the webhook certificate --------------------------------------------------------------
secret_crt() { jp -n "$opns" get secret autotrace-webhook-tls -o jsonpath="{.data.$1}"; }
bundle() { jp get mutatingwebhookconfiguration "$mwc" -o jsonpath='{.webhooks[0].clientConfig.caBundle}'; }
check_eventually "the webhook Secret exists and caBundle equals its ca.crt" 10 bash -c \
	"[ -n \"\$(kubectl -n $opns get secret autotrace-webhook-tls -o jsonpath='{.data.tls\.crt}')\" ] &&
	 [ \"\$(kubectl -n $opns get secret autotrace-webhook-tls -o jsonpath='{.data.ca\.crt}')\" = \"\$(kubectl get mutatingwebhookconfiguration $mwc -o jsonpath='{.webhooks[0].clientConfig.caBundle}')\" ]"
crt0=$(secret_crt 'tls\.crt')
if openssl verify -CAfile <(secret_crt 'ca\.crt' | base64 -d) <(echo "$crt0" | base64 -d) >/dev/null 2>&1 &&
	echo "$crt0" | base64 -d | openssl x509 -noout -ext subjectAltName 2>/dev/null | grep -q "autotrace-webhook.$opns.svc" &&
	echo "$crt0" | base64 -d | openssl x509 -noout -ext subjectAltName 2>/dev/null | grep -q "127.0.0.1"; then
	ok "the serving certificate verifies against ca.crt and names the Service and 127.0.0.1"
else
	not_ok "the serving certificate verifies against ca.crt and names the Service and 127.0.0.1"
fi
# Valid 120 s, rotated 108 s before its end: a rotation within ~15 s.
check_eventually "rotation: a new certificate, caBundle trusts the old and new CA" 30 bash -c \
	"[ \"\$(kubectl -n $opns get secret autotrace-webhook-tls -o jsonpath='{.data.tls\.crt}')\" != '$crt0' ] &&
	 b=\$(kubectl get mutatingwebhookconfiguration $mwc -o jsonpath='{.webhooks[0].clientConfig.caBundle}' | base64 -d) &&
	 [ \"\$(grep -c 'BEGIN CERTIFICATE' <<<\"\$b\")\" = 2 ] &&
	 openssl verify -CAfile <(echo \"\$b\") <(echo '$crt0' | base64 -d)"

# --- kill -9 the leader: the other takes over without status flapping -------------------------
leader=$(holder)
since=$(jp -n "$ns1" get inst traces -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')
kill -9 "${pid[$leader]}"
t0=$(now_ms)
kubectl -n "$ns1" patch inst traces --type=merge -p '{"spec":{"sampler":{"ratio":0.75}}}' >/dev/null
took=""
while (($(now_ms) - t0 < 4 * LEASE_MS)); do
	if config "$ns1" | grep -q '"ratio":0.75'; then took=$(($(now_ms) - t0)); break; fi
	sleep 0.1
done
new=$(holder)
if [ -n "$took" ] && [ "$new" != "$leader" ] && ((took <= LEASE_MS + 2000)); then
	ok "leader $leader killed: $new took over and published the change in ${took} ms"
else
	not_ok "leader $leader killed: the other took over within the lease duration" "holder: $new, took: ${took:-never} ms"
fi
if [ "$(jp -n "$ns1" get inst traces -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')" = "$since" ]; then
	ok "the new leader kept the Ready condition's lastTransitionTime"
else
	not_ok "the new leader kept the Ready condition's lastTransitionTime"
fi

# --- delete: the ConfigMaps go ---------------------------------------------------------------
kubectl -n "$ns1" delete inst traces >/dev/null
check_eventually "Instrumentation deleted: its ConfigMap is garbage collected, and removed from $ns2" 30 \
	bash -c "! kubectl -n $ns1 get configmap $cm && ! kubectl -n $ns2 get configmap $cm"

# --- the API server killed mid-run ---------------------------------------------------------
"$ctl" "$CLUSTER_DIR" kill9 kube-apiserver >/dev/null 2>&1
sleep 2
"$ctl" "$CLUSTER_DIR" start kube-apiserver >/dev/null 2>&1
wait_until 30 kubectl get --raw /readyz
apply_inst 0.125
check_eventually "API server killed and restarted: the operator converges" 30 bash -c \
	"kubectl -n $ns1 get configmap $cm -o jsonpath='{.data.config\.json}' | grep -q '\"ratio\":0.125'"
if kill -0 "${pid[$new]}" 2>/dev/null; then ok "the operator did not exit"; else not_ok "the operator did not exit" "$(tail -20 "$logdir/$new.log")"; fi

# --- SIGTERM hands the Lease back ------------------------------------------------------------
start_op op-c
sleep 1
kill -TERM "${pid[$new]}"
check_eventually "SIGTERM: the leader exits and op-c takes the Lease at once" $((LEASE_MS / 1000 + 3)) \
	bash -c "[ \"\$(kubectl -n $opns get lease autotrace-operator -o jsonpath='{.spec.holderIdentity}')\" = op-c ]"
