#!/usr/bin/env bash
# The namespace label autotrace.dev/inject-enabled and the two-webhook registration that
# selects by it, against a real control plane: the operator labels a namespace whose
# annotation opts in and unlabels it when the annotation says "false" or goes, touches
# no other label, never writes to a namespace that did not opt in, puts its label back
# when taken off by hand, and after a restart writes nothing where the labels are
# right. Then the chart's MutatingWebhookConfiguration, pointed at the
# real autotrace-webhook (serving the certificate the operator made, the caBundle the
# operator patched into both webhooks), sends the API server's pod creations as it
# promises: a pod of a namespace that did not opt in is never sent (the webhook's own
# admission counter does not move) unless its own annotation opts in.
# Needs KUBECONFIG of a running cluster (tests/integration/run.sh), bin/autotrace-operator
# and bin/autotrace-webhook, kubectl and jq.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/lib.sh"
: "${KUBECONFIG:?}"
export KUBECONFIG
op_bin=$root/bin/autotrace-operator
wh_bin=$root/bin/autotrace-webhook
id=$$
opns=autotrace-nsl-$id # the operator's and the webhook's namespace
shop=nsl-shop-$id      # opts in and out by annotation
otel=nsl-otel-$id      # opts in with the OpenTelemetry Operator's annotation
plain=nsl-plain-$id    # never opts in
mwc=autotrace-nsl-$id
label=autotrace.dev/inject-enabled
logdir=${RESULTS_DIR:-/tmp}/namespace-label-t-$id
mkdir -p "$logdir/tls"

plan 24

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The label's value on namespace $1 ("" when absent).
label_of() { kubectl get namespace "$1" -o json | jq -r --arg l "$label" '.metadata.labels[$l] // ""'; }
label_is() { [ "$(label_of "$1")" = "$2" ]; }
team_kept() { [ "$(kubectl get namespace "$1" -o jsonpath='{.metadata.labels.team}')" = "$2" ]; }
# Label writes the operator logged for namespace $1.
writes_logged() { cat "$logdir"/op-*.log | grep -c "namespace $1: label $label"; }
# The sum of a /metrics family's series on 127.0.0.1:$1 (0 when it has none).
metric_sum() { curl -s "127.0.0.1:$1/metrics" | awk -v f="$2" 'index($0, f) == 1 && substr($0, length(f) + 1, 1) ~ /[{ ]/ { n += $NF } END { print n + 0 }'; }
# The API server's count of calls to webhook $1 of our configuration.
apiserver_calls() {
	kubectl get --raw /metrics | awk -v n="name=\"$1\"" '/^apiserver_admission_webhook_request_total\{/ && index($0, n) { s += $NF } END { print s + 0 }'
}

at_exit "kubectl delete namespace $shop $otel $plain $opns --wait=false"
at_exit "kubectl delete mutatingwebhookconfiguration $mwc"
for n in "$opns" "$shop" "$otel" "$plain"; do
	kubectl create namespace "$n" >/dev/null
	# Pods need the default ServiceAccount; do not wait for the controller.
	kubectl -n "$n" create serviceaccount default >/dev/null 2>&1
done
# A label of the user's own, which must survive every write of ours.
kubectl label namespace "$shop" team=shop >/dev/null
kubectl label namespace "$plain" team=plain >/dev/null
kubectl apply -f "$root/crds/instrumentation.yaml" >/dev/null
check "the CRD is established (the webhook's cache lists Instrumentations)" \
	kubectl wait --for condition=established --timeout=30s crd/instrumentations.autotrace.dev

# --- the chart's two webhooks, sent to a webhook on 127.0.0.1 ---------------------------------
wh_port=$(free_port)
wh_metrics=$(free_port)
mwc_json=$(helm template autotrace "$root/charts/autotrace" -n autotrace-system \
	--show-only templates/mutatingwebhook.yaml | kubectl create --dry-run=client -o json -f - |
	jq --arg name "$mwc" --arg url "https://127.0.0.1:$wh_port/mutate-v1-pod" '
		(if .kind == "List" then .items[] else . end) | select(.kind == "MutatingWebhookConfiguration") |
		.metadata.name = $name | .webhooks[].clientConfig = {url: $url}')
diag "webhooks: $(jq -c '[.webhooks[] | {name, namespaceSelector, matchConditions}]' <<<"$mwc_json")"
check "the chart's MutatingWebhookConfiguration (both webhooks) is accepted" \
	kubectl create -f - <<<"$mwc_json"
if [ "$(jq -r '[.webhooks[].name] | join(" ")' <<<"$mwc_json")" = "namespaces.autotrace.dev pods.autotrace.dev" ]; then
	ok "it names namespaces.autotrace.dev and pods.autotrace.dev"
else
	not_ok "it names namespaces.autotrace.dev and pods.autotrace.dev" "$mwc_json"
fi

# --- the operator -----------------------------------------------------------------------------
declare -A pid port
start_op() {
	port[$1]=$(free_port)
	AUTOTRACE_LOG_LEVEL=info "$op_bin" --namespace "$opns" --identity "$1" \
		--lease-duration-ms 3000 --listen "127.0.0.1:${port[$1]}" \
		--webhook-config "$mwc" --cert-ip 127.0.0.1 >>"$logdir/$1.log" 2>&1 &
	pid[$1]=$!
}
at_exit 'for p in ${pid[@]}; do kill -9 $p; done'
start_op op-a
leads() { [ "$(kubectl -n "$opns" get lease autotrace-operator -o jsonpath='{.spec.holderIdentity}')" = "$1" ]; }
check_eventually "the operator takes the Lease" 15 leads op-a
bundles_set() {
	local ca
	ca=$(kubectl -n "$opns" get secret autotrace-webhook-tls -o jsonpath='{.data.ca\.crt}') && [ -n "$ca" ] &&
		[ "$(kubectl get mutatingwebhookconfiguration "$mwc" -o json | jq -r --arg ca "$ca" '[.webhooks[].clientConfig.caBundle == $ca] | all')" = true ]
}
check_eventually "the operator writes its CA into the caBundle of both webhooks" 15 bundles_set

# --- the webhook, serving the operator's certificate ------------------------------------------
for k in tls.crt tls.key; do
	kubectl -n "$opns" get secret autotrace-webhook-tls -o jsonpath="{.data.${k/./\\.}}" | base64 -d >"$logdir/tls/$k"
done
AUTOTRACE_LOG_LEVEL=info "$wh_bin" --listen "127.0.0.1:$wh_port" --metrics-listen "127.0.0.1:$wh_metrics" \
	--tls-cert-file "$logdir/tls/tls.crt" --tls-key-file "$logdir/tls/tls.key" \
	--namespace "$opns" --agent-image registry.invalid/agent:1 >>"$logdir/webhook.log" 2>&1 &
pid[webhook]=$!
check_eventually "the webhook is ready" 30 curl -sf "127.0.0.1:$wh_metrics/readyz"
admissions() { metric_sum "$wh_metrics" autotrace_webhook_admissions_total; }
# The API server sends a pod that opts in itself (dry run: nothing is stored), once it
# has the configuration and trusts the certificate.
probe() {
	local before
	before=$(admissions)
	kubectl -n "$plain" run probe --image=registry.invalid/app:1 --restart=Never \
		--annotations=autotrace.dev/inject=true --dry-run=server -o name >/dev/null &&
		[ "$(admissions)" -gt "$before" ]
}
check_eventually "the API server reaches the webhook over TLS with the patched caBundle" 30 probe

# --- the label follows the annotation ----------------------------------------------------------
kubectl annotate namespace "$shop" autotrace.dev/inject=true >/dev/null
check_eventually "inject=true on $shop: the label $label=true appears" 5 label_is "$shop" true
check "the user's label team=shop is untouched" team_kept "$shop" shop
kubectl annotate --overwrite namespace "$shop" autotrace.dev/inject=false >/dev/null
check_eventually "inject=false: the label is removed, team=shop stays" 5 \
	bash -c "[ -z \"\$(kubectl get namespace $shop -o jsonpath='{.metadata.labels.autotrace\.dev/inject-enabled}')\" ] &&
		 [ \"\$(kubectl get namespace $shop -o jsonpath='{.metadata.labels.team}')\" = shop ]"
kubectl annotate --overwrite namespace "$shop" autotrace.dev/inject=traces >/dev/null
wait_until 5 label_is "$shop" true
kubectl annotate namespace "$shop" autotrace.dev/inject- >/dev/null
check_eventually "inject=traces then the annotation removed: the label is removed again" 5 label_is "$shop" ""
kubectl annotate namespace "$otel" instrumentation.opentelemetry.io/inject-go=true >/dev/null
check_eventually "the OpenTelemetry Operator's inject-go=true on $otel: labelled too" 5 label_is "$otel" true
kubectl label namespace "$otel" "$label-" >/dev/null
check_eventually "the label taken off by hand is put back" 5 label_is "$otel" true
sleep 1
n=$(writes_logged "$shop")
if [ "$n" = 4 ]; then ok "$shop: four changes, four writes"; else not_ok "$shop: four changes, four writes" "$(grep "namespace $shop:" "$logdir"/op-*.log)"; fi

# --- which pods the API server sends ---------------------------------------------------------
kubectl annotate --overwrite namespace "$shop" autotrace.dev/inject=true >/dev/null
wait_until 5 label_is "$shop" true
sleep 1 # the API server's namespace cache, which its selectors read, catches up
run_pod() { # ns name [annotation]
	kubectl -n "$1" run "$2" --image=registry.invalid/app:1 --restart=Never ${3:+--annotations=$3} >/dev/null
}
# Runs a pod and prints how many admissions the webhook and the API server's two
# webhooks counted for it: "<webhook> <namespaces.autotrace.dev> <pods.autotrace.dev>".
sent() {
	local a0 n0 p0
	a0=$(admissions) n0=$(apiserver_calls namespaces.autotrace.dev) p0=$(apiserver_calls pods.autotrace.dev)
	run_pod "$@" || return 1
	sleep 0.5
	echo "$(($(admissions) - a0)) $(($(apiserver_calls namespaces.autotrace.dev) - n0)) $(($(apiserver_calls pods.autotrace.dev) - p0))"
}
expect_sent() { # want desc ns name [annotation]
	local want=$1 desc=$2 got
	shift 2
	got=$(sent "$@")
	if [ "$got" = "$want" ]; then ok "$desc ($got)"; else not_ok "$desc" "webhook, namespaces.autotrace.dev, pods.autotrace.dev: want $want, got ${got:-pod not created}"; fi
}
expect_sent "0 0 0" "a pod of $plain (not opted in) is never sent: the webhook's counter does not move" "$plain" plain-a
expect_sent "0 0 0" "a pod of $plain annotated inject=false is not sent" "$plain" plain-b autotrace.dev/inject=false
expect_sent "1 0 1" "a pod of $plain annotated inject=true is sent, to pods.autotrace.dev" "$plain" plain-c autotrace.dev/inject=true
expect_sent "1 0 1" "a pod of $plain annotated inject-go=true is sent, to pods.autotrace.dev" "$plain" plain-d instrumentation.opentelemetry.io/inject-go=true
expect_sent "1 1 0" "a pod of the labelled $shop is sent, to namespaces.autotrace.dev" "$shop" shop-a

# --- a namespace that never opted in is never written -----------------------------------------
if [ "$(writes_logged "$plain")" = 0 ] && label_is "$plain" "" && team_kept "$plain" plain; then
	ok "$plain, never annotated, was never written"
else
	not_ok "$plain, never annotated, was never written" "$(grep "namespace $plain:" "$logdir"/op-*.log)"
fi

# --- a restart writes nothing where the labels are right ---------------------------------------
kill -TERM "${pid[op-a]}"
wait "${pid[op-a]}" 2>/dev/null
start_op op-b
check_eventually "after a restart the new operator leads" 10 leads op-b
wait_until 10 curl -sf "127.0.0.1:${port[op-b]}/readyz"
sleep 2
w=$(metric_sum "${port[op-b]}" autotrace_operator_namespace_label_writes_total)
if [ "$w" = 0 ] && label_is "$shop" true && label_is "$otel" true && label_is "$plain" ""; then
	ok "it wrote no label: every namespace was already right"
else
	not_ok "it wrote no label: every namespace was already right" "writes: $w"$'\n'"$(grep "namespace .*: label" "$logdir/op-b.log")"
fi
kubectl annotate namespace "$otel" instrumentation.opentelemetry.io/inject-go- >/dev/null
check_eventually "and it removes the label when $otel's annotation goes" 5 label_is "$otel" ""
if [ "$(metric_sum "${port[op-b]}" autotrace_operator_namespace_label_writes_total)" = 1 ]; then
	ok "one change, one write counted in autotrace_operator_namespace_label_writes_total"
else
	not_ok "one change, one write counted" "$(curl -s "127.0.0.1:${port[op-b]}/metrics" | grep label_writes)"
fi
