#!/usr/bin/env bash
# The node agent (autotrace-agent --mode node) with PODS (default 50) instrumented pods on
# its node, next to the same agent with none opted in (baseline), in the same run and
# under the same steady load. Pods and containers as in tests/integration/node-agent.t.sh
# (tests/integration/node_fixture.sh): each pod is an object of the API server of
# KUBECONFIG bound to a Node of this benchmark's, and a Go HTTP server
# (build/fixtures/httpsvc-go1.26.8) in a kubelet-style cgroup of its own whose ID the
# pod's status names. One Instrumentation (always_on, node mode) exports to a real
# otlp-receiver; opting in is annotating the namespace.
#
# Load: RATE requests/s (default 10) to every pod's /hello, keep-alive, from one Python
# process, during both phases. Each phase is measured over WINDOW seconds (default 120;
# the report's heartbeat is 60 s) after the agent has settled:
#   RSS (VmRSS) and CPU% (utime+stime from /proc/<pid>/stat over the window, % of one
#   core); spans/s exported (the agent's autotrace_agent_spans_exported_total); the API
#   server requests the agent makes per minute: its AgentReport writes as the
#   kube-apiserver counts them (apiserver_request_total of resource agentreports with
#   a write verb: only this agent writes them here) and as the agent counts them
#   (autotrace_agent_report_writes_total); its three watches (pods of its node,
#   namespaces, Instrumentations) are long-lived and add their reconnections, which
#   neither window is long enough to see (the API server ends a watch after 5-10 min);
#   and the fleet-wide write rate that implies at 5,000 nodes.
# Needs root (BPF, cgroups), a cgroup v2 tree, KUBECONFIG, bin/autotrace-agent, the
# httpsvc fixture, otlp-receiver, kubectl, jq, curl and python3. Prints figures only.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. tests/integration/node_fixture.sh
agent=bin/autotrace-agent
svc_bin=build/fixtures/httpsvc-go1.26.8
pods=${PODS:-50}
rate=${RATE:-10}
window=${WINDOW:-120}
cg_root=$(nf_cgroup_root)
if [ -z "${KUBECONFIG:-}" ] || [ "$(id -u)" != 0 ] || [ -z "$cg_root" ] || [ ! -x "$agent" ] ||
	[ ! -x "$svc_bin" ] || ! command -v otlp-receiver >/dev/null; then
	echo "node_agent: skipped, needs KUBECONFIG, root, a cgroup v2 tree, $agent, $svc_bin and otlp-receiver"
	exit 0
fi
export KUBECONFIG
id=$$
node=autotrace-nb-$id
ns=nb-shop-$id
agent_ns=autotrace-nb-$id
cg=$cg_root/autotrace-bench-$id
dir=$(mktemp -d /tmp/node-agent-bench-XXXXXX)
svc_pids=()
agent_pid=
recv_pid=
load_pid=
cleanup() {
	kill -9 $load_pid $agent_pid "${svc_pids[@]}" $recv_pid 2>/dev/null
	wait 2>/dev/null
	sleep 0.5
	nf_remove_cgroups "$cg"
	kubectl delete namespace "$ns" "$agent_ns" --wait=false >/dev/null 2>&1
	kubectl delete node "$node" --wait=false >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

otlp-receiver -out /dev/null -port 0 -port-file "$dir/rx.port" >/dev/null 2>&1 &
recv_pid=$!
for _ in $(seq 50); do [ -s "$dir/rx.port" ] && break; sleep 0.1; done

kubectl apply -f crds/ >/dev/null
kubectl wait --for condition=established --timeout=30s crd/instrumentations.autotrace.dev crd/agentreports.autotrace.dev >/dev/null
nf_node_create "$node"
kubectl create namespace "$agent_ns" >/dev/null
kubectl create namespace "$ns" >/dev/null
kubectl apply -f - >/dev/null <<YAML
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces, namespace: $ns}
spec:
  exporter: {endpoint: "http://127.0.0.1:$(cat "$dir/rx.port")"}
  sampler: {type: always_on}
  agent: {mode: node}
YAML
ports=()
start=$SECONDS
for i in $(seq 1 "$pods"); do
	port=$(free_port)
	uid=$(nf_pod_create "$ns" "svc-$i" "$node" "svc-$i") || { echo "node_agent: pod $i not created"; exit 0; }
	if ! nf_start_container "$cg" "$uid" "$svc_bin" "$port" "$dir/svc.log"; then
		echo "node_agent: the server of pod $i did not start"
		exit 0
	fi
	svc_pids+=("$nf_pid")
	ports+=("$port")
	nf_set_running "$ns" "svc-$i" "$nf_cid" 0
done
echo "node_agent: $pods pods, each a Go server in its own cgroup, set up in $((SECONDS - start))s"

python3 - "$rate" "${ports[@]}" >"$dir/load.out" 2>&1 <<'PY' &
import http.client, sys, time
rate = float(sys.argv[1]); ports = sys.argv[2:]
conns = {p: http.client.HTTPConnection("127.0.0.1", int(p), timeout=5) for p in ports}
period = 1.0 / rate; nxt = time.monotonic(); sent = 0
while True:
    for p in ports:
        try:
            c = conns[p]; c.request("GET", "/hello"); c.getresponse().read()
        except Exception:
            conns[p] = http.client.HTTPConnection("127.0.0.1", int(p), timeout=5)
    sent += len(ports)
    nxt += period
    d = nxt - time.monotonic()
    if d > 0: time.sleep(d)
    else: nxt = time.monotonic()
PY
load_pid=$!

mport=$(free_port)
NODE_NAME=$node AUTOTRACE_LOG_LEVEL=warn "$agent" --mode node --namespace "$agent_ns" \
	--metrics-listen "127.0.0.1:$mport" >"$dir/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 120); do curl -sf -o /dev/null "127.0.0.1:$mport/readyz" && break; sleep 0.5; done

page() { curl -s "127.0.0.1:$mport/metrics"; }
metric() { page | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d", s }'; }
# "reason N, ..." of a counter family with a reason label; "none" when all are 0.
by_reason() { page | awk -v m="$1" 'index($1, m "{") == 1 && $2 > 0 { match($1, /reason="[^"]*"/);
	r = substr($1, RSTART + 8, RLENGTH - 9); out = out (out ? ", " : "") r " " $2 }
	END { print out ? out : "none" }'; }
# AgentReport writes the API server has served (every code).
api_writes() {
	kubectl get --raw /metrics | awk '/^apiserver_request_total\{/ && /resource="agentreports"/ &&
		/verb="(POST|PATCH|PUT|APPLY)"/ { s += $NF } END { printf "%d", s }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$agent_pid/stat"; }
tck=$(getconf CLK_TCK)

# Measures the agent over $window seconds; prints a line of figures labelled $1.
measure() {
	local t0 c0 e0 w0 a0 t1 c1 e1 w1 a1 rss hwm
	t0=$(date +%s.%N) c0=$(cpu_ticks) e0=$(metric autotrace_agent_spans_exported_total)
	w0=$(metric autotrace_agent_report_writes_total) a0=$(api_writes)
	sleep "$window"
	t1=$(date +%s.%N) c1=$(cpu_ticks) e1=$(metric autotrace_agent_spans_exported_total)
	w1=$(metric autotrace_agent_report_writes_total) a1=$(api_writes)
	api_per_min=$(awk -v a=$((a1 - a0)) -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", 60 * a / (t1 - t0) }')
	rss=$(awk '/^VmRSS/{print $2}' "/proc/$agent_pid/status")
	hwm=$(awk '/^VmHWM/{print $2}' "/proc/$agent_pid/status")
	awk -v l="$1" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v c=$((c1 - c0)) \
		-v k="$tck" -v e=$((e1 - e0)) -v w=$((w1 - w0)) -v a=$((a1 - a0)) -v rss="$rss" -v hwm="$hwm" \
		-v pi="$(metric autotrace_agent_pods_instrumented)" -v pr="$(metric autotrace_agent_processes_instrumented)" 'BEGIN {
		printf "node_agent: %-34s %2d pods / %2d processes instrumented: RSS %6d KiB (peak %d), CPU %5.1f%% of a core, %6.0f spans/s exported, API writes %.2f/min by the API server (%.2f/min by the agent) over %.0fs\n",
			l, pi, pr, rss, hwm, 100 * c / k / t, e / t, 60 * a / t, 60 * w / t, t }'
}

sleep 20 # listed, probes loaded, its first report written
measure "baseline, no pod opted in:"
t=$(date +%s.%N)
kubectl annotate namespace "$ns" autotrace.dev/inject=true >/dev/null
for _ in $(seq 1200); do [ "$(metric autotrace_agent_processes_instrumented)" -ge "$pods" ] && break; sleep 0.1; done
echo "node_agent: namespace annotated: $(metric autotrace_agent_processes_instrumented) of $pods processes instrumented $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s after the annotate command"
sleep 20 # its report of the change written (a random 0..15 s after it)
measure "$pods pods opted in:"
sent=$(awk -v r="$rate" -v n="$pods" 'BEGIN { print r * n }')
echo "node_agent: load: $rate req/s to each of $pods servers (${sent} req/s offered); dropped spans: $(metric autotrace_agent_spans_dropped_total) ($(by_reason autotrace_agent_spans_dropped_total))"
# Every sampled request accounted for: exported, or dropped with a reason, once the load
# has stopped and the last batch has gone (a span lost without a count would show here).
kill $load_pid 2>/dev/null
wait $load_pid 2>/dev/null
load_pid=
sleep 3
sampled=$(metric autotrace_agent_requests_sampled_total) exported=$(metric autotrace_agent_spans_exported_total)
dropped=$(metric autotrace_agent_spans_dropped_total)
echo "node_agent: since the start: $sampled requests sampled, $exported spans exported, $dropped dropped: $((sampled - exported - dropped)) unaccounted for"
echo "node_agent: fleet at 5,000 nodes: $api_per_min writes/min per agent (measured, API server count) x 5,000 / 60 = $(awk -v r="$api_per_min" 'BEGIN { printf "%.0f", r * 5000 / 60 }') writes/s (agent/README.md's design: 1/min, 83/s)"
