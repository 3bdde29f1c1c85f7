#!/usr/bin/env bash
# autotrace-agent side by side with its peer, OpenTelemetry Go automatic
# instrumentation (go.opentelemetry.io/auto, built by tools/build-otel-go-auto.sh, found
# as $OTEL_GO_AUTO or otel-go-instrumentation on PATH), tracing the same Go HTTP server
# (tests/fixtures/go/httpsvc, the local toolchain's build, a private copy) under the
# same load, each sampling 1% and 100% (parentbased_traceidratio) and exporting
# OTLP/HTTP to a real otlp-receiver. Next to them, the floor: two empty probes at the
# instructions autotrace probes (bench/hold_empty_probes.c, the "two empty probes at the
# jbe's" arm of bench_tracer_overhead), the uprobe machinery's own cost.
#
# Load and pinning as bench_tracer_overhead's: the server on CPU 0 with GOMAXPROCS=1;
# wrk -t1 -c16 against /hello for RUN_SECONDS (default 5), the tracer and the receiver
# on CPU 1. ROUNDS (default 5) rounds; in each, every arm runs once, in turn (each round
# starts one arm later), each arm between two untraced runs whose mean is its baseline,
# so that the drift of a shared machine cancels out. Each traced run starts its tracer
# afresh, waits until it has instrumented the server, runs the load, reads the tracer's
# RSS (VmRSS at the end of the load and its largest 0.5 s sample, VmHWM) and CPU time,
# stops it (SIGTERM: both flush what they hold) and counts the spans the receiver got.
# Printed per arm: median req/s; the median (min-max) of the runs' ratios to their
# baselines; the tracer's VmRSS (median of the runs) and VmHWM (largest); its CPU as %
# of one core over the load; spans received per request (all runs).
#
# The peer notices the kernel's lockdown (and so leaves out its header writer, which
# needs bpf_probe_write_user) only through /sys/kernel/security/lockdown: securityfs
# is mounted for the run when it is not, and unmounted after.
# PEERS_RESULTS=<file> keeps every run's figures.
# Needs root, bin/autotrace-agent, the httpsvc fixture, build/rel/bench/hold_empty_probes,
# otlp-receiver, wrk, taskset, curl. Prints figures only.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
agent=${AGENT:-bin/autotrace-agent}
floor=build/rel/bench/hold_empty_probes
svc_src=$(awk '$3 == 0 {p = $1} END {print p}' build/fixtures/httpsvc-manifest.txt 2>/dev/null)
peer=${OTEL_GO_AUTO:-$(command -v otel-go-instrumentation)}
seconds=${RUN_SECONDS:-5}
rounds=${ROUNDS:-5}
if [ "$(id -u)" != 0 ] || [ ! -x "$agent" ] || [ -z "$svc_src" ] || [ ! -x "$svc_src" ] ||
	! command -v otlp-receiver >/dev/null || ! command -v wrk >/dev/null ||
	! command -v taskset >/dev/null; then
	echo "peers: skipped, needs root, $agent, the httpsvc fixture, otlp-receiver, wrk and taskset"
	exit 0
fi
dir=$(mktemp -d /tmp/peers-bench-XXXXXX)
svc_pid=
rx_pid=
tracer_pid=
mounted_securityfs=
cleanup() {
	[ -z "$tracer_pid" ] || kill -9 "$tracer_pid" 2>/dev/null
	[ -z "$svc_pid" ] || kill "$svc_pid" 2>/dev/null
	[ -z "$rx_pid" ] || kill "$rx_pid" 2>/dev/null
	wait 2>/dev/null
	[ -z "$mounted_securityfs" ] || umount /sys/kernel/security
	rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- the peer: built, and able to see the lockdown? ---------------------------------
peer_note=
if [ -z "$peer" ] || [ ! -x "$peer" ]; then
	log=${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/autotrace}/otel-go-auto-${OTEL_GO_AUTO_VERSION:-v0.24.0}.log
	peer_note="not found (${OTEL_GO_AUTO:-otel-go-instrumentation on PATH}; make otel-go-auto builds it); its build log $log: $(tail -n 3 "$log" 2>/dev/null | tr '\n' ' ' | grep . || echo empty or absent)"
	peer=
elif ! mountpoint -q /sys/kernel/security; then
	if mount -t securityfs securityfs /sys/kernel/security 2>"$dir/mount.err"; then
		mounted_securityfs=1
	else
		echo "peers: NOTE: cannot mount securityfs ($(cat "$dir/mount.err")): the peer cannot see the lockdown and may fail to load its probes"
	fi
fi
lockdown=$(cat /sys/kernel/security/lockdown 2>/dev/null || echo "unknown (no securityfs)")

# --- the server and the receiver ----------------------------------------------------
cp "$svc_src" "$dir/svc"
port=$(free_port)
GOMAXPROCS=1 taskset -c 0 "$dir/svc" -addr "127.0.0.1:$port" >/dev/null 2>&1 &
svc_pid=$!
taskset -c 1 otlp-receiver -out /dev/null -port 0 -port-file "$dir/rx.port" >/dev/null 2>&1 &
rx_pid=$!
for _ in $(seq 50); do
	[ -s "$dir/rx.port" ] && curl -s -o /dev/null "http://127.0.0.1:$port/hello" && break
	sleep 0.1
done
rx=http://127.0.0.1:$(cat "$dir/rx.port")
url=http://127.0.0.1:$port/hello

rx_spans() { curl -s "$rx/admin/stats" | sed -n 's/.*"spans":\([0-9]*\).*/\1/p'; }
# The receiver's span count once it has stopped growing (up to 10 s).
rx_spans_settled() {
	local last=-1 now
	for _ in $(seq 20); do
		now=$(rx_spans)
		[ "$now" = "$last" ] && break
		last=$now
		sleep 0.5
	done
	echo "${now:-0}"
}
# Runs wrk on CPU 1; prints "<req/s> <requests>".
run_wrk() {
	taskset -c 1 wrk -t1 -c16 -d"${seconds}s" "$url" >"$dir/wrk.out" 2>&1
	awk '/^Requests\/sec/ {r = $2} / requests in / {n = $1} END {printf "%d %d\n", r, n}' "$dir/wrk.out"
}
# utime + stime of $1 in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }

# Starts the tracer of arm $1 on CPU 1 and waits until it has instrumented the server;
# sets tracer_pid, or returns 1 with the reason in $dir/why.
start_tracer() {
	local arm=$1 ratio mport
	case $arm in *1) ratio=0.01 ;; *) ratio=1 ;; esac
	: >"$dir/tracer.log"
	case $arm in
	floor)
		taskset -c 1 "$floor" "$svc_pid" >"$dir/tracer.log" 2>&1 &
		tracer_pid=$!
		for _ in $(seq 100); do grep -q '^attached' "$dir/tracer.log" && return 0; sleep 0.1; done
		;;
	autotrace*)
		mport=$(free_port)
		AUTOTRACE_TARGET_EXE=$dir/svc AUTOTRACE_METRICS_PORT=$mport AUTOTRACE_LOG_LEVEL=warn \
			OTEL_EXPORTER_OTLP_ENDPOINT=$rx OTEL_TRACES_SAMPLER=parentbased_traceidratio \
			OTEL_TRACES_SAMPLER_ARG=$ratio AUTOTRACE_CONFIG_FILE=$dir/none \
			taskset -c 1 "$agent" >"$dir/tracer.log" 2>&1 &
		tracer_pid=$!
		for _ in $(seq 200); do
			curl -s "http://127.0.0.1:$mport/metrics" |
				awk '$1 == "autotrace_agent_processes_instrumented" && $2 >= 1 {f = 1} END {exit !f}' &&
				return 0
			kill -0 "$tracer_pid" 2>/dev/null || break
			sleep 0.1
		done
		;;
	otel*)
		OTEL_GO_AUTO_TARGET_PID=$svc_pid OTEL_SERVICE_NAME=httpsvc OTEL_TRACES_EXPORTER=otlp \
			OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_EXPORTER_OTLP_ENDPOINT=$rx \
			OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=$ratio \
			OTEL_LOG_LEVEL=info taskset -c 1 "$peer" >"$dir/tracer.log" 2>&1 &
		tracer_pid=$!
		for _ in $(seq 1200); do
			grep -q 'instrumentation loaded successfully' "$dir/tracer.log" && return 0
			kill -0 "$tracer_pid" 2>/dev/null || break
			sleep 0.1
		done
		;;
	esac
	{ echo "$arm did not instrument the server:"; tail -n 5 "$dir/tracer.log"; } >"$dir/why"
	stop_tracer
	return 1
}
# SIGTERM (both tracers flush what they hold), then SIGKILL after 30 s.
stop_tracer() {
	[ -n "$tracer_pid" ] || return 0
	kill -TERM "$tracer_pid" 2>/dev/null
	for _ in $(seq 300); do kill -0 "$tracer_pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$tracer_pid" 2>/dev/null
	wait "$tracer_pid" 2>/dev/null
	tracer_pid=
}

# One traced run of arm $1 (in this shell, so that cleanup knows its tracer); writes
# "<req/s> <requests> <VmRSS> <max VmRSS> <VmHWM> <cpu %> <spans received> <probe hits>"
# to $dir/res, or "-1" when the tracer did not start.
traced_run() {
	local arm=$1 spans0 t0 t1 wpid rss max=0 hwm out hits=0
	spans0=$(rx_spans_settled)
	start_tracer "$arm" || { echo -1 >"$dir/res"; return; }
	t0=$(cpu_ticks "$tracer_pid")
	run_wrk >"$dir/run.out" &
	wpid=$!
	while kill -0 "$wpid" 2>/dev/null; do
		rss=$(status_kib "$tracer_pid" VmRSS)
		[ "${rss:-0}" -gt "$max" ] && max=$rss
		sleep 0.5
	done
	wait "$wpid"
	t1=$(cpu_ticks "$tracer_pid")
	rss=$(status_kib "$tracer_pid" VmRSS)
	hwm=$(status_kib "$tracer_pid" VmHWM)
	[ "${rss:-0}" -gt "$max" ] && max=$rss
	stop_tracer
	[ "$arm" = floor ] && hits=$(awk '/^hits/ {print $2}' "$dir/tracer.log")
	# The peer's warnings and errors, to print once at the end.
	case $arm in otel*)
		sed -n 's/.*"level":"\(WARN\|ERROR\)".*"msg":"\([^"]*\)".*/\1 \2/p' "$dir/tracer.log" |
			sort -u >>"$dir/peer.msgs"
		grep -o "the Linux Kernel doesn't support context propagation[^{]*" "$dir/tracer.log" |
			sed 's/^/NOTICE /' | sort -u >>"$dir/peer.msgs"
		;;
	esac
	read -r rps n <"$dir/run.out"
	out="$rps $n ${rss:-0} $max ${hwm:-0}"
	out="$out $(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v s="$seconds" 'BEGIN {printf "%.1f", 100 * t / hz / s}')"
	echo "$out $(($(rx_spans_settled) - spans0)) ${hits:-0}" >"$dir/res"
}

arms=(floor autotrace1 autotrace100)
[ -n "$peer" ] && arms+=(otel1 otel100)
peer_failures=0
: >"$dir/results"
: >"$dir/base"
echo "peers: load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs; other work on the machine shows as spread)"
run_wrk >/dev/null # warm up
for ((round = 0; round < rounds; round++)); do
	read -r last _ < <(run_wrk)
	echo "$last" >>"$dir/base"
	for ((k = 0; k < ${#arms[@]}; k++)); do
		arm=${arms[$(((k + round) % ${#arms[@]}))]}
		case $arm in otel*) [ -n "$peer" ] || continue ;; esac
		traced_run "$arm"
		res=$(cat "$dir/res")
		read -r after _ < <(run_wrk)
		echo "$after" >>"$dir/base"
		if [ "$res" = -1 ]; then
			echo "peers: round $((round + 1)): $(head -c 2000 "$dir/why" | tr '\n' ' ')"
			case $arm in otel*)
				peer_failures=$((peer_failures + 1))
				if [ "$peer_failures" -ge 2 ]; then
					peer_note="failed to instrument the server twice; left out from then on (last: $(tail -n 2 "$dir/why" | tr '\n' ' '))"
					peer=
				fi
				;;
			esac
		else
			echo "$arm $(awk -v a="$last" -v b="$after" 'BEGIN {printf "%.0f", (a + b) / 2}') $res" >>"$dir/results"
		fi
		last=$after
	done
done

# --- figures -----------------------------------------------------------------------
# "median min max" of the numbers on stdin.
spread() { sort -g | awk '{v[NR] = $1} END {if (!NR) {print "0 0 0"; exit}
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR]}'; }
# Fields of $dir/results: arm base rps requests rss maxrss hwm cpu% spans hits.
col() { awk -v a="$1" "\$1 == a && \$3 > 0 && \$2 > 0 {print $2}" "$dir/results"; }
read -r bmed bmin bmax < <(spread <"$dir/base")
printf 'peers: %s (%s), GOMAXPROCS=1 on CPU 0; wrk -t1 -c16 -d%ss %s, tracers and otlp-receiver on CPU 1; lockdown: %s\n' \
	"$svc_src" "$(awk '{print $2}' <<<"$(grep -F "$svc_src " build/fixtures/httpsvc-manifest.txt)")" \
	"$seconds" /hello "$lockdown"
printf 'peers: %d rounds, arms in turn, each between two untraced runs; median req/s, median (min-max) ratio to the untraced runs around it:\n' "$rounds"
printf 'peers:   %-42s %7.0f req/s  1.000               (untraced itself %.0f-%.0f)\n' untraced: "$bmed" "$bmin" "$bmax"
for arm in floor autotrace1 autotrace100 otel1 otel100; do
	case $arm in
	floor) label="floor, two empty probes at the jbe's:" ;;
	autotrace1) label="autotrace-agent, 1% sampled:" ;;
	autotrace100) label="autotrace-agent, 100% sampled:" ;;
	otel1) label="OpenTelemetry Go auto, 1% sampled:" ;;
	otel100) label="OpenTelemetry Go auto, 100% sampled:" ;;
	esac
	if [ -z "$(col "$arm" '$1')" ]; then
		case $arm in otel*) printf 'peers:   %-42s not run: %s\n' "$label" "${peer_note:-it never instrumented the server (above)}" ;;
		*) printf 'peers:   %-42s not run (above)\n' "$label" ;;
		esac
		continue
	fi
	read -r rps _ _ < <(col "$arm" '$3' | spread)
	read -r q qmin qmax < <(col "$arm" '$3 / $2' | spread)
	line=$(printf '%-42s %7.0f req/s  %.3f (%.3f-%.3f)' "$label" "$rps" "$q" "$qmin" "$qmax")
	if [ "$arm" = floor ]; then
		hpr=$(awk '$1 == "floor" {h += $10; n += $4} END {printf "%.2f", n ? h / n : 0}' "$dir/results")
		echo "peers:   $line  probe hits per request $hpr"
		continue
	fi
	read -r rss _ _ < <(col "$arm" '$5' | spread)
	read -r maxrss _ _ < <(col "$arm" '$6' | spread)
	read -r _ _ hwm < <(col "$arm" '$7' | spread)
	read -r cpu _ _ < <(col "$arm" '$8' | spread)
	spr=$(awk -v a="$arm" '$1 == a {s += $9; n += $4} END {printf "%.4f (%d spans, %d requests)", n ? s / n : 0, s, n}' "$dir/results")
	echo "peers:   $line"
	printf 'peers:   %-42s RSS %d KiB (largest sample %d), VmHWM %d KiB; CPU %s%% of a core; spans received per request %s\n' \
		"" "$rss" "$maxrss" "$hwm" "$cpu" "$spr"
done
[ -z "$peer_note" ] || echo "peers: OpenTelemetry Go auto-instrumentation: $peer_note"
if [ -s "$dir/peer.msgs" ]; then
	echo "peers: the peer logged, in how many of its runs:"
	sort "$dir/peer.msgs" | uniq -c | sed 's/^ */peers:   /'
fi
echo "peers: (wrk counts the responses it read; the requests still in flight when it stops are served and traced too)"
echo "peers: load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
# Every run, for a closer look: arm, baseline, req/s, requests, VmRSS, largest VmRSS,
# VmHWM, CPU %, spans received, probe hits.
[ -z "${PEERS_RESULTS:-}" ] || cp "$dir/results" "$PEERS_RESULTS"
