#!/usr/bin/env bash
# AgentReports folded into Instrumentation.status by the real operator against the
# real API server: reports applied as an agent writes them (create, then a patch of the
# status subresource) show as counts; a stale report counts as not ready and Degraded
# names it; a new config revision leaves ConfigApplied False, naming the agents
# behind, until their reports catch up; the CRD's printer columns; a node report written
# outside the operator's namespace does not count; the ServiceAccounts of a namespace
# where the operator published a sidecar-mode config may write their sidecars'
# reports (the RoleBinding it keeps there), those of another namespace may not.
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

plan 14

role=rep-agent-report-$id
other=rep-other-$id
at_exit "kubectl delete namespace $ns $opns $other --wait=false; kubectl delete clusterrole $role"
check "both CRDs apply and are established" bash -c \
	"kubectl apply -f '$root/crds/' >/dev/null &&
	 kubectl wait --for condition=established --timeout=30s crd/instrumentations.autotrace.dev crd/agentreports.autotrace.dev"
kubectl create namespace "$opns" >/dev/null
kubectl create namespace "$ns" >/dev/null
kubectl create namespace "$other" >/dev/null
# The chart's <release>-agent-report.
kubectl create clusterrole "$role" --verb=create --resource=agentreports.autotrace.dev >/dev/null
kubectl patch clusterrole "$role" --type=json -p '[{"op": "add", "path": "/rules/-", "value":
	{"apiGroups": ["autotrace.dev"], "resources": ["agentreports/status"], "verbs": ["get", "patch"]}}]' >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AUTOTRACE_LOG_LEVEL=info "$root/bin/autotrace-operator" --namespace "$opns" --identity rep-op \
	--lease-duration-ms 3000 --listen "127.0.0.1:$port" --status-delay-ms 200 \
	--no-webhook-cert --agent-report-stale-s 6 --agent-report-role "$role" >"$logdir/operator.log" 2>&1 &
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

# Node reports are the release namespace's: one written elsewhere (where a namespace's
# ServiceAccounts may write) is not counted.
printf 'apiVersion: autotrace.dev/v1alpha1\nkind: AgentReport\nmetadata: {name: node-x, namespace: %s}\n' "$ns" |
	kubectl apply -f - >/dev/null
kubectl -n "$ns" patch agentreport node-x --subresource=status --type=merge -p "{\"status\": {
	\"mode\": \"node\", \"node\": \"node-x\", \"ready\": true, \"heartbeatSeconds\": 60,
	\"lastUpdateTime\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",
	\"instrumentations\": [{\"name\": \"$ns/traces\", \"configRevision\": \"$rev2\", \"pods\": 1}]}}" >/dev/null
sleep 2
check "a node report outside the operator's namespace is not counted" \
	is '{.status.agents}/{.status.nodesReporting}' 2/2

# Sidecars write as their pod's ServiceAccount: the operator binds the agent-report
# ClusterRole, beside the config it publishes, to the namespace's ServiceAccounts.
sa=system:serviceaccount:$ns:default
binding() {
	kubectl -n "$ns" get rolebindings -l app.kubernetes.io/managed-by=autotrace -o json | jq -e --arg role "$role" --arg ns "$ns" \
		'[.items[] | select(.roleRef == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": $role} and
			.subjects == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": ("system:serviceaccounts:" + $ns)}] and
			.metadata.ownerReferences[0].kind == "ConfigMap" and .metadata.ownerReferences[0].name == ("autotrace." + $ns + ".traces"))] | length == 1'
}
check_eventually "the operator keeps a RoleBinding of the agent-report ClusterRole to the namespace's ServiceAccounts, owned by its ConfigMap" 15 binding
can() { [ "$(kubectl auth can-i "$@")" = yes ]; }
sa_rights() {
	can create agentreports.autotrace.dev -n "$ns" --as="$sa" &&
		can patch agentreports.autotrace.dev --subresource=status -n "$ns" --as="$sa" &&
		! can delete agentreports.autotrace.dev -n "$ns" --as="$sa" &&
		! can create agentreports.autotrace.dev -n "$opns" --as="$sa" &&
		! can create agentreports.autotrace.dev -n "$other" --as="system:serviceaccount:$other:default"
}
check "a ServiceAccount of that namespace may create AgentReports and patch their status there, and nothing more" sa_rights
# What the sidecar's writer sends (agent/health_writer.c): a create, then a merge patch
# of the status, as the pod's ServiceAccount.
sidecar_writes() {
	printf 'apiVersion: autotrace.dev/v1alpha1\nkind: AgentReport\nmetadata: {name: shop-a, namespace: %s}\n' "$ns" |
		kubectl create --as="$sa" -f - &&
		kubectl -n "$ns" patch agentreport shop-a --as="$sa" --subresource=status --type=merge \
			-p "{\"status\": {\"mode\": \"sidecar\", \"node\": \"n1\", \"pod\": \"$ns/shop-a\", \"ready\": true,
			\"lastUpdateTime\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}}"
}
check "a sidecar's report, as its pod's ServiceAccount: accepted (no 403)" sidecar_writes
refused() {
	local out
	out=$(printf 'apiVersion: autotrace.dev/v1alpha1\nkind: AgentReport\nmetadata: {name: shop-b, namespace: %s}\n' "$other" |
		kubectl create --as="system:serviceaccount:$other:default" -f - 2>&1) && return 1
	grep -q Forbidden <<<"$out"
}
check "in a namespace the operator did not bind: Forbidden" refused
