#!/usr/bin/env bash
# Two pods of two Instrumentations on one node, traced by one autotrace-agent --mode node
# (the real API server of this rung, the real kernel, two real OTLP receivers; pods and
# containers as in node-agent.t.sh: tests/integration/node_fixture.sh).
#
# Pod A (namespace A, Instrumentation A: always_on, receiver A) and pod B (namespace B,
# Instrumentation B: always_off, receiver B). Asserts: both processes are traced; A's
# spans arrive at receiver A only, under A's k8s.* resource, one per request; nothing
# arrives for B while it samples always_off; switching B to always_on brings B's spans to
# receiver B only, under B's resource, and leaves A sampling every request; switching A
# to always_off stops A's spans and leaves B sampling every request; no span of either
# pod ever reaches the other's receiver; the agent's AgentReport names both
# Instrumentations and, at steady state, is written by its heartbeat only (span counters
# ride along); deleting the pods detaches; SIGTERM ends the agent; no process or
# cgroup the test made is left.
#
# Needs what node-agent.t.sh needs: root, a cgroup v2 tree, KUBECONFIG, bin/autotrace-agent,
# build/fixtures/httpsvc-go1.26.8, otlp-receiver on PATH, kubectl, jq and curl.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/node_fixture.sh"
: "${KUBECONFIG:?}"
export KUBECONFIG
agent_bin=$root/bin/autotrace-agent
svc_bin=$root/build/fixtures/httpsvc-go1.26.8
id=$$
node=autotrace-n2-$id
agent_ns=autotrace-n2-$id
logdir=${RESULTS_DIR:-/tmp}/node-agent-two-t-$id
mkdir -p "$logdir"

plan 21

cg_root=$(nf_cgroup_root)
if [ "$(id -u)" != 0 ] || [ -z "$cg_root" ] || [ ! -x "$agent_bin" ] || [ ! -x "$svc_bin" ] ||
	! command -v otlp-receiver >/dev/null; then
	for ((i = 0; i < 21; i++)); do
		skip "two-pod node agent test $i" "needs root, a cgroup v2 tree, bin/autotrace-agent, $svc_bin and otlp-receiver"
	done
	exit 0
fi
cg=$cg_root/autotrace-itest-n2-$id

# Per side (a, b): namespace, pod, uid, server port, receiver port and file, pids.
declare -A ns pod uid sport rport spans svc recv
for s in a b; do
	ns[$s]=n2-$s-$id
	pod[$s]=svc-$s-$id
	sport[$s]=$(free_port)
	rport[$s]=$(free_port)
	spans[$s]=$logdir/spans-$s.jsonl
	: >"${spans[$s]}"
	otlp-receiver -port "${rport[$s]}" -out "${spans[$s]}" >"$logdir/receiver-$s.log" 2>&1 &
	recv[$s]=$!
	svc[$s]=
done
mport=$(free_port)
agent_pid=
at_exit "kill ${recv[a]} ${recv[b]}"
at_exit "kubectl delete namespace ${ns[a]} ${ns[b]} $agent_ns --wait=false; kubectl delete node $node --wait=false"
at_exit 'for p in ${svc[a]} ${svc[b]} $agent_pid; do kill -9 $p; done; sleep 0.5; nf_remove_cgroups "$cg"'

instrumentation() { # side, sampler
	kubectl apply -f - >/dev/null <<YAML
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces, namespace: ${ns[$1]}}
spec:
  exporter: {endpoint: "http://127.0.0.1:${rport[$1]}"}
  sampler: {type: $2}
  agent: {mode: node}
YAML
}
metric() { curl -s "127.0.0.1:$mport/metrics" | awk -v f="$1" '$1 == f { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
traffic() { for _ in $(seq 1 "$2"); do curl -s -o /dev/null "127.0.0.1:${sport[$1]}/hello"; done; }
# Spans of pod $2 at receiver $1.
count() { jq -s --arg p "${pod[$2]}" '[.[] | select(.resource["k8s.pod.name"] == $p)] | length' "${spans[$1]}"; }
total() { jq -s 'length' "${spans[$1]}"; }
# Waits until the count of pod $2 at receiver $1 has stayed the same for 3 s; prints it.
settled() {
	local last=-1 now _
	for _ in $(seq 1 20); do
		now=$(count "$1" "$2")
		[ "$now" = "$last" ] && break
		last=$now
		sleep 3
	done
	echo "$now"
}
# Waits for the agent to log that side $1's Instrumentation now samples $2.
applied() { wait_until 20 grep -q "Instrumentation ${ns[$1]}/traces: config .*sampler $2 " "$logdir/agent.log"; }

kubectl apply -f "$root/crds/" >/dev/null
wait_until 30 kubectl wait --for condition=established --timeout=5s crd/instrumentations.autotrace.dev crd/agentreports.autotrace.dev
nf_node_create "$node"
kubectl create namespace "$agent_ns" >/dev/null
for s in a b; do
	kubectl create namespace "${ns[$s]}" >/dev/null
	kubectl -n "${ns[$s]}" create serviceaccount default >/dev/null 2>&1
	kubectl annotate namespace "${ns[$s]}" autotrace.dev/inject=true >/dev/null
done
instrumentation a always_on
instrumentation b always_off
for s in a b; do
	uid[$s]=$(nf_pod_create "${ns[$s]}" "${pod[$s]}" "$node" "svc-$s")
	# Not through check: nf_start_container sets nf_cid and nf_pid in this shell.
	if nf_start_container "$cg" "${uid[$s]}" "$svc_bin" "${sport[$s]}" "$logdir/svc-$s.log"; then
		ok "pod $s: its Go server runs in a kubelet-style cgroup of pod ${uid[$s]}"
	else
		not_ok "pod $s: its Go server runs in a kubelet-style cgroup of pod ${uid[$s]}" "$(tail -n 5 "$logdir/svc-$s.log")"
	fi
	svc[$s]=$nf_pid
	nf_set_running "${ns[$s]}" "${pod[$s]}" "$nf_cid" 0
done

# Reports: a change written within 1 s, a heartbeat every 10 s.
NODE_NAME=$node AUTOTRACE_REPORT_MIN_INTERVAL_S=1 AUTOTRACE_REPORT_HEARTBEAT_S=10 \
	"$agent_bin" --mode node --namespace "$agent_ns" \
	--metrics-listen "127.0.0.1:$mport" --scan-interval-ms 200 >"$logdir/agent.log" 2>&1 &
agent_pid=$!
check_eventually "the node agent loads its probes and serves /metrics" 60 \
	sh -c "curl -sf 127.0.0.1:$mport/readyz | grep -q processes"
check_eventually "both pods instrumented, one process each" 30 \
	sh -c "$(declare -f metric metric_is); mport=$mport; metric_is autotrace_agent_pods_instrumented 2 && metric_is autotrace_agent_processes_instrumented 2"

# --- A always_on, B always_off ---------------------------------------------------------
check_eventually "pod A's spans arrive at receiver A" 30 \
	bash -c "$(declare -f traffic count); $(declare -p sport pod spans); traffic a 5; [ \$(count a a) -gt 0 ]"
res=$(jq -sc --arg p "${pod[a]}" '[.[] | select(.resource["k8s.pod.name"] == $p)][0].resource' "${spans[a]}")
check "... under pod A's k8s.* resource" jq -e --arg ns "${ns[a]}" --arg uid "${uid[a]}" --arg node "$node" \
	'.["k8s.namespace.name"] == $ns and .["k8s.pod.uid"] == $uid and .["k8s.node.name"] == $node and
	.["k8s.container.name"] == "app" and .["service.name"] == "svc-a"' <<<"$res"
n=40
a0=$(settled a a)
traffic a $n
traffic b $n
a1=$(settled a a)
check "A always_on: each of $n requests gives a span at receiver A (got $((a1 - a0)))" test $((a1 - a0)) = $n
check "B always_off: no span at receiver B, none of B's at A ($(total b) at B, $(count a b) of B's at A)" \
	test "$(total b)/$(count a b)" = 0/0

# --- B to always_on: B's spans at B only, A unchanged ------------------------------------
instrumentation b always_on
applied b always_on
sleep 1
a0=$(settled a a)
b0=$(count b b)
traffic a $n
traffic b $n
a1=$(settled a a)
b1=$(settled b b)
check "B switched to always_on: each of $n requests gives a span at receiver B (got $((b1 - b0)))" test $((b1 - b0)) = $n
res=$(jq -sc --arg p "${pod[b]}" '[.[] | select(.resource["k8s.pod.name"] == $p)][0].resource' "${spans[b]}")
check "... under pod B's k8s.* resource" jq -e --arg ns "${ns[b]}" --arg uid "${uid[b]}" --arg node "$node" \
	'.["k8s.namespace.name"] == $ns and .["k8s.pod.uid"] == $uid and .["k8s.node.name"] == $node and
	.["k8s.container.name"] == "app" and .["service.name"] == "svc-b"' <<<"$res"
check "... and A still samples every request (got $((a1 - a0)) of $n)" test $((a1 - a0)) = $n

# --- A to always_off: A stops, B unchanged ---------------------------------------------
instrumentation a always_off
applied a always_off
sleep 1
a0=$(settled a a)
b0=$(settled b b)
traffic a $n
traffic b $n
sleep 3
a1=$(settled a a)
b1=$(settled b b)
check "A switched to always_off: no new span at receiver A (got $((a1 - a0)))" test $((a1 - a0)) = 0
check "... and B still samples every request (got $((b1 - b0)) of $n)" test $((b1 - b0)) = $n

check "receiver A holds only pod A's spans ($(total a) spans, $(count a a) of A)" test "$(total a)" = "$(count a a)"
check "receiver B holds only pod B's spans ($(total b) spans, $(count b b) of B)" test "$(total b)" = "$(count b b)"
report() {
	kubectl -n "$agent_ns" get agentreport "$node" -o json | jq -e --arg a "${ns[a]}/traces" --arg b "${ns[b]}/traces" '
		.status.podsInstrumented == 2 and .status.processesInstrumented == 2 and
		([.status.instrumentations[] | {name, pods, processes}] | sort_by(.name)) ==
		([{name: $a, pods: 1, processes: 1}, {name: $b, pods: 1, processes: 1}] | sort_by(.name))'
}
check_eventually "the AgentReport names both Instrumentations, one pod and one process each" 20 report
# Nothing but span counters changes now: the report is written by its heartbeat only.
sleep 2
w0=$(metric autotrace_agent_report_writes_total)
traffic b 20
sleep 12
w1=$(metric autotrace_agent_report_writes_total)
check "at steady state the report is written by its 10 s heartbeat only: $((w1 - w0)) writes in 12 s" \
	test $((w1 - w0)) -le 2

# --- cleanup ---------------------------------------------------------------------------
for s in a b; do kubectl -n "${ns[$s]}" delete pod "${pod[$s]}" --grace-period=0 --force >/dev/null 2>&1; done
check_eventually "deleting both pods detaches: no pod, no process instrumented" 20 \
	sh -c "$(declare -f metric metric_is); mport=$mport; metric_is autotrace_agent_pods_instrumented 0 && metric_is autotrace_agent_processes_instrumented 0"
kill -TERM "$agent_pid"
wait_until 10 sh -c "! kill -0 $agent_pid"
wait "$agent_pid"
rc=$?
agent_pid=
check "SIGTERM: the agent exits 0 (exit status $rc)" test "$rc" = 0
check "the agent logged no error" sh -c "! grep -E ' (error|ERROR) ' '$logdir/agent.log'"
kill "${svc[a]}" "${svc[b]}"
wait "${svc[a]}" "${svc[b]}" 2>/dev/null
left=$(for p in "${svc[a]}" "${svc[b]}"; do kill -0 "$p" 2>/dev/null && echo "$p"; done)
svc[a]= svc[b]=
nf_remove_cgroups "$cg"
check "no process or cgroup of the test is left (processes: ${left:-none})" \
	sh -c "[ -z '$left' ] && [ ! -e '$cg' ]"
