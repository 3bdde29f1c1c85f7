#!/usr/bin/env bash
# autotrace-agent RSS with 5 instrumented Go processes, by ring-buffer size, next to the
# same agent with nothing to instrument (baseline) in the same run; then under load: one
# instrumented server driven by wrk for LOAD_SECONDS (default 10) with 1% and 100% of
# requests sampled and exported to a real OTLP receiver, next to the same agent idle.
# The servers are copies of the hello fixture in a private folder, so the agent targets
# exactly them.
set -uo pipefail
cd "$(dirname "$0")/.."
agent=${AGENT:-bin/autotrace-agent}
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
echo "agent_rss: (RSS counts shared library pages and the ring; /proc/<pid>/smaps_rollup Anonymous is the private part)"

# --- under load ---------------------------------------------------------------------
receiver=$(command -v otlp-receiver)
if [ -z "$receiver" ] || ! command -v wrk >/dev/null; then
	echo "agent_rss: under load skipped, otlp-receiver or wrk is not on PATH"
	exit 0
fi
"$receiver" -out /dev/null -port 0 -port-file "$dir/rx.port" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$dir/rx.port" ] && break; sleep 0.1; done
seconds=${LOAD_SECONDS:-10}

# The value of a sample line on the metrics page $1 (summed over its label sets).
metric() { awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d", s }' <<<"$1"; }

# The drops on the metrics page $1 by reason, "reason:count,..." ("none" without any).
drops_by_reason() {
	awk -F'[{}" ]+' '/^autotrace_agent_spans_dropped_total\{/ && $NF > 0 { printf "%s%s:%d", n++ ? "," : "", $3, $NF }
		END { if (!n) printf "none" }' <<<"$1"
}

# Starts the agent with sampler $1 (ratio $2), runs wrk for $seconds seconds (none when
# $3 is idle) and prints: requests/s, spans exported/s, spans dropped (by reason), VmRSS
# at the end, the largest VmRSS seen each second, VmHWM (KiB).
measure_load() {
	local sampler=$1 ratio=$2 mode=$3 mport apid rps=0 max=0 rss hwm page
	mport=$(free_port)
	AUTOTRACE_TARGET_EXE=$dir/svc AUTOTRACE_METRICS_PORT=$mport AUTOTRACE_LOG_LEVEL=warn \
		OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$(cat "$dir/rx.port") \
		OTEL_TRACES_SAMPLER=$sampler OTEL_TRACES_SAMPLER_ARG=$ratio \
		AUTOTRACE_CONFIG_FILE=$dir/none "$agent" >/dev/null 2>&1 &
	apid=$!
	for _ in $(seq 200); do
		page=$(curl -s "http://127.0.0.1:$mport/metrics")
		[ "$(metric "$page" autotrace_agent_processes_instrumented)" -ge 5 ] 2>/dev/null && break
		sleep 0.1
	done
	if [ "$mode" != idle ]; then
		wrk -t2 -c32 -d"${seconds}s" "http://127.0.0.1:${ports[0]}/x" >"$dir/wrk.out" 2>&1 &
		local wpid=$!
		while kill -0 $wpid 2>/dev/null; do
			rss=$(awk '/^VmRSS/{print $2}' /proc/$apid/status)
			[ "${rss:-0}" -gt "$max" ] && max=$rss
			sleep 1
		done
		wait $wpid
		rps=$(awk '/^Requests\/sec/{printf "%d", $2}' "$dir/wrk.out")
		sleep 2 # the last batches reach the receiver
	else
		sleep "$seconds"
	fi
	page=$(curl -s "http://127.0.0.1:$mport/metrics")
	rss=$(awk '/^VmRSS/{print $2}' /proc/$apid/status)
	hwm=$(awk '/^VmHWM/{print $2}' /proc/$apid/status)
	[ "$rss" -gt "$max" ] && max=$rss
	kill -TERM $apid; wait $apid 2>/dev/null
	echo "$rps $(( $(metric "$page" autotrace_agent_spans_exported_total) / seconds )) \
$(drops_by_reason "$page") $rss $max $hwm"
}

printf 'agent_rss: under load (%ss of wrk -t2 -c32 on 1 of the 5 servers, spans to otlp-receiver):\n' "$seconds"
for run in "always_on 1 idle" "traceidratio 0.01 load" "always_on 1 load"; do
	read -r sampler ratio mode <<<"$run"
	read -r rps sps drops rss max hwm < <(measure_load "$sampler" "$ratio" "$mode")
	label=$([ "$mode" = idle ] && echo "idle, 100% sampled" || echo "$(awk -v r="$ratio" 'BEGIN { printf "%g%%", r * 100 }') sampled")
	printf 'agent_rss:   %-20s %6d req/s, %6d spans/s exported, dropped %s: %6d KiB RSS (max %d, peak %d)\n' \
		"$label" "$rps" "$sps" "$drops" "$rss" "$max" "$hwm"
done
