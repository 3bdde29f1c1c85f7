#!/usr/bin/env bash
# AgentReports folded into Instrumentation.status by the real operator against the
# real API server: reports applied as an agent writes them (create, then a patch of the
# status subresource) show as counts; a stale report counts as not ready and Degraded
# names it; a new config revision leaves ConfigApplied False, naming the agents
# behind, until their reports catch up; the CRD's printer columns.
# Needs KUBECONFIG (tests/integration/run.sh) and bin/autotrace-operator.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/lib.sh"
: "${KUBECONFIG:?}"
export KUBECONFIG
id=$$
opns=autotrace-rep-$id
ns=rep-shop-$id
logdir=${RESULTS_DIR:-/tmp}/agent-report-t-$id
mkdir -p "$logdir"

plan 9

at_exit "kubectl delete namespace $ns $opns --wait=false"
check "both CRDs apply and are established" bash -c \
	"kubectl apply -f '$root/crds/' >/dev/null &&
	 kubectl wait --for condition=established --timeout=30s crd/instrumentations.autotrace.dev crd/agentreports.autotrace.dev"
kubectl create namespace "$opns" >/dev/null
kubectl create namespace "$ns" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AUTOTRACE_LOG_LEVEL=info "$root/bin/autotrace-operator" --namespace "$opns" --identity rep-op \
	--lease-duration-ms 3000 --listen "127.0.0.1:$port" --status-delay-ms 200 \
	--no-webhook-cert --agent-report-stale-s 6 >"$logdir/operator.log" 2>&1 &
op=$!
at_exit "kill $op"

kubectl apply -f - >/dev/null <<EOF
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces, namespace: $ns}
spec:
  exporter: {endpoint: "http://collector:4318"}
  sampler: {type: traceidratio, ratio: 0.5}
EOF
rev() { kubectl -n "$ns" get inst traces -o jsonpath='{.status.configRevision}' 2>/dev/null; }
wait_until 20 bash -c "[ -n \"\$(kubectl -n $ns get inst traces -o jsonpath='{.status.configRevision}')\" ]"
rev1=$(rev)

# What a node agent writes: the object, then its status (the status subresource is the
# only way to set it), stamped now (or age seconds ago, for a silent agent).
report() { # NODE READY REVISION [AGE_S]
	local node=$1 ready=$2 revision=$3 age=${4:-0} t why=""
	t=$(date -u -d "@$(($(date +%s) - age))" +%Y-%m-%dT%H:%M:%SZ)
	[ "$ready" = false ] && why='"notReadyReason": "ProbesNotLoaded",'
	printf 'apiVersion: autotrace.dev/v1alpha1\nkind: AgentReport\nmetadata: {name: %s, namespace: %s}\n' "$node" "$opns" |
		kubectl apply -f - >/dev/null
	kubectl -n "$opns" patch agentreport "$node" --subresource=status --type=merge -p "{\"status\": {
		\"mode\": \"node\", \"node\": \"$node\", \"agentVersion\": \"0.1.0\", \"ready\": $ready, $why
		\"lastUpdateTime\": \"$t\", \"heartbeatSeconds\": 2, \"podsInstrumented\": 2, \"processesInstrumented\": 3,
		\"instrumentations\": [{\"name\": \"$ns/traces\", \"configRevision\": \"$revision\", \"pods\": 2, \"processes\": 3}]}}" >/dev/null
}
jq_st() { kubectl -n "$ns" get inst traces -o jsonpath="$1" 2>/dev/null; }
is() { [ "$(jq_st "$1")" = "$2" ]; }
has() { jq_st "$1" | grep -qF -- "$2"; }
export -f jq_st is has
export ns

report node-a true "$rev1"
report node-b true "$rev1"
check_eventually "two node agents report: agents/ready/nodes/pods/on-latest = 2/2/2/4/2" 15 \
	is '{.status.agents}/{.status.readyAgents}/{.status.nodesReporting}/{.status.podsInstrumented}/{.status.agentsOnLatestRevision}' 2/2/2/4/2
check "ConfigApplied True, Degraded False" \
	is '{.status.conditions[?(@.type=="ConfigApplied")].status}/{.status.conditions[?(@.type=="Degraded")].status}' True/False
out=$(kubectl -n "$opns" get agentreports 2>&1)
if head -1 <<<"$out" | grep -qE 'NAME +NODE +PODS +PROCESSES +READY +REVISION +UPDATED +AGE' &&
	grep -qE "node-a +node-a +2 +3 +true +$rev1 " <<<"$out"; then
	ok "kubectl get agentreports shows node, pods, processes, ready, revision, updated, age"
else
	not_ok "kubectl get agentreports shows node, pods, processes, ready, revision, updated, age" "$out"
fi

# node-b falls silent while node-a keeps writing the current revision: once node-b's
# report is older than the window (6 s here) it counts as not ready, though nothing
# changed on the API server.
(while kill -0 $op 2>/dev/null; do report node-a true "$(rev)"; sleep 1; done) >/dev/null 2>&1 &
keeper=$!
at_exit "kill $keeper"
check_eventually "a silent node agent: not ready after the staleness window" 20 \
	is '{.status.agents}/{.status.readyAgents}/{.status.conditions[?(@.type=="Degraded")].reason}' 2/1/AgentsNotReady
check "Degraded names it" has '{.status.conditions[?(@.type=="Degraded")].message}' 'node node-b (no report for'
report node-b false "$rev1"
check_eventually "it reports again, not ready: Degraded gives its reason" 15 \
	has '{.status.conditions[?(@.type=="Degraded")].message}' 'node node-b (ProbesNotLoaded)'

# A new config revision: node-a follows it, node-b stays on the old one until it
# writes again.
kubectl -n "$ns" patch inst traces --type=merge -p '{"spec":{"sampler":{"ratio":0.25}}}' >/dev/null
wait_until 10 bash -c "[ \"\$(kubectl -n $ns get inst traces -o jsonpath='{.status.configRevision}')\" != '$rev1' ]"
rev2=$(rev)
report node-b true "$rev1"
check_eventually "new revision: ConfigApplied False, AgentsBehind, naming node-b" 15 \
	has '{.status.conditions[?(@.type=="ConfigApplied")].reason}: {.status.conditions[?(@.type=="ConfigApplied")].message}' "AgentsBehind: 1 of 2 reporting agents apply revision $rev2; behind: node node-b ($rev1)"
report node-b true "$rev2"
check_eventually "its report catches up: every agent on the new revision, ConfigApplied True" 15 \
	is '{.status.agentsOnLatestRevision}/{.status.conditions[?(@.type=="ConfigApplied")].status}' 2/True
