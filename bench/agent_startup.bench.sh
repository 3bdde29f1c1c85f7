#!/usr/bin/env bash
# autotrace-agent start-up as a user sees it: the agent started next to an
# already-running Go server (the httpsvc fixture, a copy in a private folder so the
# agent targets exactly it) that serves a steady stream of requests, spans exported to
# a real OTLP receiver. Per run, in ms from the agent's exec:
#   ready   /readyz answered 200 (polled every 20 ms)
#   found   the scan found the server's process (the agent's "found pid" debug line)
#   loaded  the BPF programs were loaded (the agent's "BPF programs loaded" line)
#   span    the first traced request started (the earliest span start at the receiver)
# and found -> span, the figure the target is about (tracing within 1 s of finding the
# process). Two conditions in the same run: the baseline, the server under a light
# stream (a request every 5 ms), and the harness's, under wrk -t1 -c16 (the server and
# wrk take the CPUs the agent loads its programs with). RUNS runs each (default 3),
# interleaved; the median and the range. Then what the verifier did per program (the
# kernel's own verification time and instructions, from the agent's log).
set -uo pipefail
cd "$(dirname "$0")/.."
agent=${AGENT:-bin/autotrace-agent}
svc=$(awk '$3 == 0 {p = $1} END {print p}' build/fixtures/httpsvc-manifest.txt 2>/dev/null)
receiver=$(command -v otlp-receiver)
if [ ! -x "$agent" ] || [ -z "$svc" ] || [ ! -x "$svc" ] || [ -z "$receiver" ]; then
	echo "agent_startup: skipped, bin/autotrace-agent, the httpsvc fixture or otlp-receiver is missing"
	exit 0
fi
runs=${RUNS:-3}
dir=$(mktemp -d /tmp/agent-startup-XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
cp "$svc" "$dir/svc"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
"$dir/svc" -addr "127.0.0.1:$port" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

now_ms() { date +%s%3N; }

# The light stream: one keep-alive connection, a request every 5 ms.
light_stream() {
	python3 -c '
import http.client, sys, time
port = int(sys.argv[1])
c = None
while True:
    try:
        if c is None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/")
        c.getresponse().read()
    except Exception:
        c = None
    time.sleep(0.005)
' "$port" >/dev/null 2>&1 &
	echo $!
}

# ms of the first log line of $1 matching $2, from the exec at $3 (ms); -1 if none.
log_at() {
	python3 - "$1" "$2" "$3" <<'EOF'
import datetime, re, sys
path, pat, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
for line in open(path, errors="replace"):
    if re.search(pat, line):
        ts = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
        ts = ts.replace(tzinfo=datetime.timezone.utc)
        print(int(ts.timestamp() * 1000) - t0)
        sys.exit(0)
print(-1)
EOF
}

# ms from $2 (exec, ms) to the earliest span start in the receiver's file $1; -1 if none.
first_span_at() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
t0, first = int(sys.argv[2]), None
for line in open(sys.argv[1], errors="replace"):
    try:
        s = json.loads(line)["start"]
    except Exception:
        continue
    first = s if first is None or s < first else first
print(-1 if first is None else first // 1000000 - t0)
EOF
}

# One start of the agent under condition $1 (light|wrk), run $2: prints
# "ready found loaded span" (ms) and keeps the agent's log as $dir/agent-$1-$2.log.
measure() {
	local cond=$1 run=$2 mport rport apid load_pid t0 ready=-1 spans log
	spans=$dir/spans-$cond-$run.jsonl
	log=$dir/agent-$cond-$run.log
	"$receiver" -out "$spans" -port 0 -port-file "$dir/rx-$cond-$run.port" >/dev/null 2>&1 &
	local rx=$!
	for _ in $(seq 50); do [ -s "$dir/rx-$cond-$run.port" ] && break; sleep 0.1; done
	rport=$(cat "$dir/rx-$cond-$run.port")
	if [ "$cond" = wrk ]; then
		wrk -t1 -c16 -d60s "http://127.0.0.1:$port/" >/dev/null 2>&1 &
		load_pid=$!
	else
		load_pid=$(light_stream)
	fi
	sleep 1 # the load is under way before the agent starts
	mport=$(free_port)
	t0=$(now_ms)
	AUTOTRACE_TARGET_EXE=$dir/svc AUTOTRACE_METRICS_PORT=$mport AUTOTRACE_LOG_LEVEL=debug \
		OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$rport OTEL_TRACES_SAMPLER=always_on \
		AUTOTRACE_CONFIG_FILE=$dir/none "$agent" --scan-interval-ms 200 >"$log" 2>&1 &
	apid=$!
	for _ in $(seq 1000); do
		if curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$mport/readyz"; then
			ready=$(($(now_ms) - t0))
			break
		fi
		sleep 0.02
	done
	# Spans reach the receiver within the exporter's batch delay (1 s).
	for _ in $(seq 150); do [ -s "$spans" ] && break; sleep 0.1; done
	sleep 0.5
	kill -TERM "$apid"; wait "$apid" 2>/dev/null
	kill "$load_pid"; wait "$load_pid" 2>/dev/null
	kill "$rx"; wait "$rx" 2>/dev/null
	echo "$ready $(log_at "$log" 'found pid' "$t0") $(log_at "$log" 'BPF programs loaded' "$t0") \
$(first_span_at "$spans" "$t0")"
}

declare -A fig
for run in $(seq "$runs"); do
	for cond in light wrk; do
		read -r ready found loaded span < <(measure "$cond" "$run")
		fig[$cond,ready]+="$ready "
		fig[$cond,found]+="$found "
		fig[$cond,loaded]+="$loaded "
		fig[$cond,span]+="$span "
		fig[$cond,found_span]+="$([ "$span" -ge 0 ] && [ "$found" -ge 0 ] && echo $((span - found)) || echo -1) "
	done
done

# "median (min to max)" of the numbers in $1.
stat() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{v[NR] = $1} END {
	if (!NR) { print "-"; exit } printf "%5d (%d to %d)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

echo "agent_startup: agent started next to a running Go server, ms from exec, median (range) of $runs runs:"
printf 'agent_startup:   %-34s %-22s %-22s\n' "" "light stream (baseline)" "wrk -t1 -c16"
for m in ready found loaded span found_span; do
	case $m in
	ready) label="/readyz answers" ;;
	found) label="server process found" ;;
	loaded) label="BPF programs loaded" ;;
	span) label="first traced request" ;;
	found_span) label="found -> first traced request" ;;
	esac
	printf 'agent_startup:   %-34s %-22s %-22s\n' "$label" "$(stat "${fig[light,$m]}")" "$(stat "${fig[wrk,$m]}")"
done
for cond in light wrk; do
	line=$(grep -h 'BPF programs loaded' "$dir/agent-$cond-$runs.log" | sed 's/.*tracer: //')
	echo "agent_startup: last $cond run: ${line:-no load line}"
	grep -h 'verified:' "$dir/agent-$cond-$runs.log" | grep -v 'BPF programs loaded' | sed 's/.*tracer: /agent_startup:   /'
done
