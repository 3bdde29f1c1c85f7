#!/usr/bin/env bash
# autotrace-agent RSS with 5 instrumented Go processes, by ring-buffer size, next to the
# same agent with nothing to instrument (baseline) in the same run. The servers are
# copies of the hello fixture in a private folder, so the agent targets exactly them.
set -uo pipefail
cd "$(dirname "$0")/.."
agent=bin/autotrace-agent
hello=$(awk '$3 == 0 && $1 !~ /pie/ {p = $1} END {print p}' build/fixtures/manifest.txt 2>/dev/null)
if [ ! -x "$agent" ] || [ -z "$hello" ] || [ ! -x "$hello" ]; then
	echo "agent_rss: skipped, bin/autotrace-agent or the hello fixture is not built"
	exit 0
fi
dir=$(mktemp -d /tmp/agent-rss-XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
cp "$hello" "$dir/svc"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ports=()
for i in 1 2 3 4 5; do
	port=$(free_port)
	"$dir/svc" -addr "127.0.0.1:$port" >/dev/null 2>&1 &
	pids+=($!)
	ports+=("$port")
done
sleep 1

# Starts the agent with $1 (target) and $2 (ring KiB), sends requests, prints VmRSS/VmHWM.
measure() {
	local target=$1 ring=$2 mport
	mport=$(free_port)
	AUTOTRACE_TARGET_EXE=$target AUTOTRACE_METRICS_PORT=$mport AUTOTRACE_LOG_LEVEL=warn \
		OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 AUTOTRACE_CONFIG_FILE=$dir/none \
		"$agent" --ringbuf-kib "$ring" >/dev/null 2>&1 &
	local apid=$!
	for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$mport/readyz" && break; sleep 0.1; done
	sleep 1
	for p in "${ports[@]}"; do
		for _ in $(seq 20); do curl -s -o /dev/null "http://127.0.0.1:$p/x"; done
	done
	sleep 1
	local procs
	procs=$(curl -s "http://127.0.0.1:$mport/metrics" | awk '/^autotrace_agent_processes_instrumented /{print $2}')
	local rss hwm
	rss=$(awk '/^VmRSS/{print $2}' /proc/$apid/status)
	hwm=$(awk '/^VmHWM/{print $2}' /proc/$apid/status)
	kill -TERM $apid; wait $apid 2>/dev/null
	echo "$procs $rss $hwm"
}

read -r p0 base base_hwm < <(measure /nonexistent/binary 1024)
printf 'agent_rss: baseline, nothing to instrument (1 MiB ring): %6d KiB (peak %d)\n' "$base" "$base_hwm"
for ring in 4096 1024 256; do
	read -r p rss hwm < <(measure "$dir/svc" "$ring")
	printf 'agent_rss: %s processes instrumented, %4d KiB ring: %6d KiB (peak %d), %sx baseline\n' \
		"$p" "$ring" "$rss" "$hwm" "$(awk -v a="$rss" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
done
echo "agent_rss: (RSS counts shared library pages and the ring twice; /proc/<pid>/smaps_rollup Anonymous is the private part)"
