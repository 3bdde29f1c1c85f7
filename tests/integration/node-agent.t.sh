#!/usr/bin/env bash
# autotrace-agent --mode node against the real API server of this rung, the real kernel
# and a real OTLP receiver, with a pod whose container is real: the test makes the
# cgroup the kubelet would (cgroupfs driver, under a prefix of its own in the machine's
# cgroup v2 tree: <prefix>/kubepods/besteffort/pod<uid>/<container id>), starts a Go
# HTTP server (tests/fixtures/go/httpsvc) in it, and writes the container's ID into the
# pod's status as the kubelet would. The pod is bound to a Node object of the test's
# own that no kwok manages, so nothing else writes its status.
#
# Asserts: before any opt-in the agent traces nothing; annotating the namespace makes
# the agent attach (no restart) and spans reach the receiver with the pod's k8s.*
# resource, the pod's HTTP calls as client spans under the same resource, children of
# their server spans, with the trace context carried to the next request; a sampler
# change of the Instrumentation applies live; removing the
# annotation detaches (no more spans); a restarted container (new ID, new process) is
# traced again; deleting the pod detaches; SIGTERM ends the agent cleanly. With the
# real operator beside it: the agent's AgentReport (named after its node, in its
# namespace) names the Instrumentation with the pod and its process, the
# Instrumentation's status counts the node agent, a new config revision shows it
# catching up, and an agent that stops writing (SIGSTOP) is not ready once its report
# is older than the staleness window (a short one here), and ready again after. Every
# process and cgroup the test made is removed at exit.
#
# Needs root (BPF, cgroups), a writable cgroup v2 hierarchy (/sys/fs/cgroup or its
# hybrid unified mount), KUBECONFIG of a running cluster (tests/integration/run.sh),
# bin/autotrace-agent, build/fixtures/httpsvc-go1.26.8, otlp-receiver on PATH, kubectl,
# jq and curl.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/node_fixture.sh"
: "${KUBECONFIG:?}"
export KUBECONFIG
agent_bin=$root/bin/autotrace-agent
svc_bin=$root/build/fixtures/httpsvc-go1.26.8
id=$$
node=autotrace-na-$id
ns=na-shop-$id
pod=checkout-$id
logdir=${RESULTS_DIR:-/tmp}/node-agent-t-$id
mkdir -p "$logdir"

plan 24

cg_root=$(nf_cgroup_root)
if [ "$(id -u)" != 0 ] || [ -z "$cg_root" ] || [ ! -x "$agent_bin" ] || [ ! -x "$svc_bin" ] ||
	! command -v otlp-receiver >/dev/null; then
	for ((i = 0; i < 24; i++)); do
		skip "node agent test $i" "needs root, a cgroup v2 tree, bin/autotrace-agent, $svc_bin and otlp-receiver"
	done
	exit 0
fi
cg=$cg_root/autotrace-itest-$id

rport=$(free_port)
mport=$(free_port)
sport=$(free_port)
spans=$logdir/spans.jsonl
: >"$spans"
otlp-receiver -port "$rport" -out "$spans" >"$logdir/receiver.log" 2>&1 &
recv_pid=$!
at_exit "kill $recv_pid"

# Processes and cgroups go first at exit, then the API objects.
svc_pid=
agent_pid=
agent_ns=autotrace-na-$id
at_exit "kubectl delete namespace $ns $agent_ns --wait=false; kubectl delete node $node --wait=false"
at_exit 'for p in $svc_pid $agent_pid; do kill -9 $p; done; sleep 0.5; nf_remove_cgroups "$cg"'

# A container of the pod: its cgroup as the kubelet's cgroupfs driver names it, and the
# Go server started inside it. Sets cid and svc_pid.
start_container() {
	nf_start_container "$cg" "$uid" "$svc_bin" "$sport" "$logdir/svc.log"
	local rc=$?
	cid=$nf_cid svc_pid=$nf_pid
	return $rc
}
# The pod's status as the kubelet writes it once the container runs.
set_running() { nf_set_running "$ns" "$pod" "$cid" "$1"; }
metric() { curl -s "127.0.0.1:$mport/metrics" | awk -v f="$1" '$1 == f { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
traffic() { for _ in $(seq 1 "${1:-10}"); do curl -s -o /dev/null "127.0.0.1:$sport/hello"; done; }
span_count() { jq -s --arg p "$pod" '[.[] | select(.resource["k8s.pod.name"] == $p)] | length' "$spans"; }
spans_arrive() { traffic 5; [ "$(span_count)" -gt 0 ]; }
# /call makes an HTTP call to the server's own /hello: a server span, a client span, and
# the /hello server span the client's traceparent makes its child.
calls() { for _ in $(seq 1 "${1:-5}"); do curl -s -o /dev/null "127.0.0.1:$sport/call?url=http://127.0.0.1:$sport/hello"; done; }
# A client span (kind 3) of the pod, child of a /call server span (kind 2) of the pod.
client_span_of_call() {
	jq -se --arg p "$pod" '[.[] | select(.resource["k8s.pod.name"] == $p)] as $s |
		any($s[] | select(.kind == 3); . as $c | any($s[]; .kind == 2 and
			.attributes["url.path"] == "/call" and .trace_id == $c.trace_id and
			.span_id == $c.parent_span_id))' "$spans" >/dev/null
}
client_spans_arrive() { calls 5; client_span_of_call; }
# ... and a /hello server span of the pod that is a client span's child.
call_carries_context() {
	jq -se --arg p "$pod" '[.[] | select(.resource["k8s.pod.name"] == $p)] as $s |
		any($s[] | select(.kind == 3); . as $c | any($s[]; .kind == 2 and
			.attributes["url.path"] == "/hello" and .trace_id == $c.trace_id and
			.parent_span_id == $c.span_id))' "$spans" >/dev/null
}
instrumentation() {
	kubectl apply -f - >/dev/null <<YAML
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces, namespace: $ns}
spec:
  exporter: {endpoint: "http://127.0.0.1:$rport"}
  sampler: {type: $1}
  agent: {mode: node}
YAML
}

kubectl apply -f "$root/crds/" >/dev/null
wait_until 30 kubectl wait --for condition=established --timeout=5s crd/instrumentations.autotrace.dev crd/agentreports.autotrace.dev
nf_node_create "$node"
kubectl create namespace "$ns" >/dev/null
kubectl create namespace "$agent_ns" >/dev/null
kubectl -n "$ns" create serviceaccount default >/dev/null 2>&1
# The operator folds the node agent's report into the Instrumentation's status; a
# report older than 4 s (or 2.5 of the agent's 2 s heartbeats) is stale.
oport=$(free_port)
AUTOTRACE_LOG_LEVEL=info "$root/bin/autotrace-operator" --namespace "$agent_ns" --identity "na-op-$id" \
	--lease-duration-ms 3000 --listen "127.0.0.1:$oport" --status-delay-ms 200 \
	--no-webhook-cert --agent-report-stale-s 4 >"$logdir/operator.log" 2>&1 &
op_pid=$!
at_exit "kill $op_pid"
instrumentation always_on
uid=$(nf_pod_create "$ns" "$pod" "$node" checkout)
# Not through check: start_container sets cid and svc_pid in this shell.
if start_container; then ok "the container's Go server runs in a kubelet-style cgroup of pod $uid"
else not_ok "the container's Go server runs in a kubelet-style cgroup of pod $uid" "$(tail -n 5 "$logdir/svc.log")"; fi
set_running 0
check "the pod's status names the container (containerd://<id>)" \
	test "$(kubectl -n "$ns" get pod "$pod" -o jsonpath='{.status.containerStatuses[0].containerID}')" = "containerd://$cid"

NODE_NAME=$node AUTOTRACE_REPORT_MIN_INTERVAL_S=1 AUTOTRACE_REPORT_HEARTBEAT_S=2 \
	"$agent_bin" --mode node --namespace "$agent_ns" \
	--metrics-listen "127.0.0.1:$mport" --scan-interval-ms 200 >"$logdir/agent.log" 2>&1 &
agent_pid=$!
check_eventually "the node agent loads its probes and serves /metrics" 60 \
	sh -c "curl -sf 127.0.0.1:$mport/readyz | grep -q processes"
traffic 10
sleep 2
check "before the namespace opts in: no pod instrumented, no spans" \
	sh -c "[ \"\$(curl -s 127.0.0.1:$mport/metrics | awk '\$1 == \"autotrace_agent_pods_instrumented\" { print \$2 }')\" = 0 ] && [ $(span_count) = 0 ]"

kubectl annotate namespace "$ns" autotrace.dev/inject=true >/dev/null
check_eventually "annotating the namespace: its pod is instrumented, no restart" 20 \
	metric_is autotrace_agent_pods_instrumented 1
check_eventually "... and the Go process in its container has probes" 20 \
	metric_is autotrace_agent_processes_instrumented 1
check_eventually "spans arrive at the receiver" 30 spans_arrive
res=$(jq -sc --arg p "$pod" '[.[] | select(.resource["k8s.pod.name"] == $p)][0].resource' "$spans")
check "with the pod's k8s.* resource and service.name" jq -e --arg ns "$ns" --arg uid "$uid" \
	--arg node "$node" '.["k8s.namespace.name"] == $ns and .["k8s.pod.uid"] == $uid and
	.["k8s.node.name"] == $node and .["k8s.container.name"] == "app" and
	.["service.name"] == "checkout"' <<<"$res"
check_eventually "its HTTP calls: client spans under the pod's resource, children of its server spans" \
	30 client_spans_arrive
check_eventually "... whose trace context the next request carries (its server span is the client span's child)" \
	20 sh -c "$(declare -f calls call_carries_context); pod=$pod spans=$spans sport=$sport; calls 2; call_carries_context"

# --- its AgentReport, and the Instrumentation's status ------------------------------
inst_rev() { kubectl -n "$ns" get inst traces -o jsonpath='{.status.configRevision}'; }
node_report() {
	kubectl -n "$agent_ns" get agentreport "$node" -o json | jq -e --arg ns "$ns" --arg node "$node" --arg rev "$(inst_rev)" '
		.status.mode == "node" and .status.node == $node and .status.ready == true and
		.status.podsInstrumented == 1 and .status.processesInstrumented == 1 and
		.status.heartbeatSeconds == 2 and (.status.instrumentations | length == 1) and
		.status.instrumentations[0] == (.status.instrumentations[0] + {name: ($ns + "/traces"),
			configRevision: $rev, pods: 1, processes: 1}) and
		.status.instrumentations[0].spans.exported > 0'
}
check_eventually "its AgentReport (named after the node, in its namespace): ready, the Instrumentation with its revision, pod, process and exported spans" 20 node_report
st() { kubectl -n "$ns" get inst traces -o jsonpath="$1"; }
st_is() { [ "$(st "$1")" = "$2" ]; }
check_eventually "the Instrumentation's status counts the node agent: agents/ready/nodes/pods/on-latest = 1/1/1/1/1" 20 \
	st_is '{.status.agents}/{.status.readyAgents}/{.status.nodesReporting}/{.status.podsInstrumented}/{.status.agentsOnLatestRevision}' 1/1/1/1/1

rev_on=$(inst_rev)
instrumentation always_off
wait_until 10 grep -q "config .*sampler always_off" "$logdir/agent.log"
sleep 1
before=$(span_count)
traffic 20
sleep 3
check "the Instrumentation's sampler applies live (always_off: no new spans)" test "$(span_count)" = "$before"
caught_up() {
	[ "$(st '{.status.configRevision}')" != "$rev_on" ] &&
		st_is '{.status.agentsOnLatestRevision}/{.status.conditions[?(@.type=="ConfigApplied")].status}' 1/True
}
check_eventually "the new config revision: the status shows the node agent on it (agentsOnLatestRevision 1, ConfigApplied True)" 20 caught_up
instrumentation always_on
check_eventually "... and back to always_on: spans again" 20 sh -c "$(declare -f traffic span_count); pod=$pod spans=$spans sport=$sport; traffic 5; [ \$(span_count) -gt $before ]"

# An agent that stops writing: its report goes stale and the status says so.
kill -STOP "$agent_pid"
check_eventually "a stopped node agent: not ready after the staleness window, Degraded naming its node" 20 \
	sh -c "[ \"\$(kubectl -n $ns get inst traces -o jsonpath='{.status.readyAgents}/{.status.conditions[?(@.type==\"Degraded\")].reason}')\" = 0/AgentsNotReady ] &&
		kubectl -n $ns get inst traces -o jsonpath='{.status.conditions[?(@.type==\"Degraded\")].message}' | grep -qF 'node $node (no report for'"
kill -CONT "$agent_pid"
check_eventually "... and ready again once it writes again" 20 \
	st_is '{.status.readyAgents}/{.status.conditions[?(@.type=="Degraded")].status}' 1/False

kubectl annotate namespace "$ns" autotrace.dev/inject- >/dev/null
check_eventually "removing the annotation detaches the process" 20 \
	metric_is autotrace_agent_processes_instrumented 0
before=$(span_count)
traffic 20
sleep 3
check "... and no more spans arrive" test "$(span_count)" = "$before"

kubectl annotate namespace "$ns" autotrace.dev/inject=true >/dev/null
kill "$svc_pid"
wait "$svc_pid" 2>/dev/null
old_cid=$cid
start_container
rmdir "$cg/kubepods/besteffort/pod$uid/$old_cid"
set_running 1
check_eventually "a restarted container (new ID, new process) is traced again" 20 \
	metric_is autotrace_agent_processes_instrumented 1
before=$(span_count)
check_eventually "... and its spans arrive" 30 sh -c "$(declare -f traffic span_count); pod=$pod spans=$spans sport=$sport; traffic 5; [ \$(span_count) -gt $before ]"

kubectl -n "$ns" delete pod "$pod" --grace-period=0 --force >/dev/null 2>&1
check_eventually "deleting the pod detaches: no pod, no process instrumented" 20 \
	sh -c "[ \"\$(curl -s 127.0.0.1:$mport/metrics | awk '\$1 == \"autotrace_agent_processes_instrumented\" { print \$2 }')\" = 0 ] && [ \"\$(curl -s 127.0.0.1:$mport/metrics | awk '\$1 == \"autotrace_agent_pods_instrumented\" { print \$2 }')\" = 0 ]"

kill -TERM "$agent_pid"
wait_until 10 sh -c "! kill -0 $agent_pid"
wait "$agent_pid"
rc=$?
agent_pid=
check "SIGTERM: the agent exits 0 (exit status $rc)" test "$rc" = 0
check "the agent logged no error" sh -c "! grep -E ' (error|ERROR) ' '$logdir/agent.log'"
