# Shared by up.sh, down.sh and ctl.sh: the layout of a cluster run directory and how
# one component process is started, checked and stopped. Sourced, not run.
#
# Layout of $CLUSTER_DIR (every path absolute, so the files work from any directory):
#   .autotrace-cluster     marker: up.sh only ever wipes a directory that holds it
#   ports.env              the ports chosen at start (shell assignments)
#   etcd-url               etcd's client URL (its JSON gateway serves /v3/kv/*)
#   kubeconfig             admin identity (client certificate, group system:masters)
#   pki/                   CA, serving and client certificates, service-account keys
#   <component>/           one per process: cmd (its argv, NUL-separated), pid, log,
#                          health (curl arguments of its health check) and its data
# Components, in start order. down.sh stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# Seconds between TERM and KILL.
STOP_GRACE=${STOP_GRACE:-10}

cluster_abs_dir() {
	local d=$1
	mkdir -p "$d"
	(cd "$d" && pwd -P)
}

# True when $1 is a live (not zombie) process whose command line still names the
# binary recorded for it, so that a recycled PID is never signalled.
component_pid_alive() {
	local pid=$1 bin=$2 state cmdline
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	state=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$state" != Z ] && [ "$state" != X ] || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	# Empty while the process is in the middle of exec (the launcher below execs
	# setsid, bash and then the component under the same PID).
	[ -z "$cmdline" ] && return 0
	[[ " $cmdline" == *"/$(basename "$bin") "* || "$cmdline" == "$(basename "$bin") "* ]]
}

# The recorded binary of a component: the first word of its cmd after any `env VAR=..`.
component_bin() {
	local dir=$1 c=$2 a
	local -a argv
	mapfile -d '' argv <"$dir/$c/cmd"
	for a in "${argv[@]}"; do
		case $a in
		*/env | env | *=*) continue ;;
		*) echo "$a"; return 0 ;;
		esac
	done
	return 1
}

# PID of a running component, or failure.
component_running_pid() {
	local dir=$1 c=$2 pid bin
	[ -f "$dir/$c/pid" ] && [ -f "$dir/$c/cmd" ] || return 1
	pid=$(<"$dir/$c/pid")
	bin=$(component_bin "$dir" "$c") || return 1
	component_pid_alive "$pid" "$bin" && echo "$pid"
}

# Starts the command in $dir/$c/cmd detached from the caller: its own session, stdin
# from /dev/null, stdout and stderr appended to $dir/$c/log, so that `make cluster-up |
# tail -1` returns and a closing terminal does not take the cluster down. The PID is
# written by the process itself before it execs the component (setsid may fork).
# Descriptors above 2 are closed first: a daemon must not hold a caller's pipe (a
# test runner waiting for EOF would hang) or lock (tests/integration/run.sh).
component_launch() {
	local dir=$1 c=$2 i
	local -a argv
	mapfile -d '' argv <"$dir/$c/cmd"
	rm -f "$dir/$c/pid"
	echo "=== start $(date -u +%FT%TZ)" >>"$dir/$c/log"
	# shellcheck disable=SC2016
	(cd "$dir/$c" && exec setsid bash -c '
		for f in /proc/$$/fd/*; do n=${f##*/}; ((n > 2)) && eval "exec $n>&-"; done
		echo $$ >"$0"; exec "$@"' "$dir/$c/pid" "${argv[@]}" \
		</dev/null >>"$dir/$c/log" 2>&1) &
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/$c/pid" ] && return 0
		sleep 0.05
	done
	echo "$c: no PID recorded after 5 s" >&2
	return 1
}

# Records the command line of a component (NUL-separated argv) and starts it.
component_start_new() {
	local dir=$1 c=$2
	shift 2
	mkdir -p "$dir/$c"
	printf '%s\0' "$@" >"$dir/$c/cmd"
	component_launch "$dir" "$c"
}

# Records the health check of a component as curl arguments.
component_set_health() {
	local dir=$1 c=$2
	shift 2
	printf '%s\0' "$@" >"$dir/$c/health"
}

component_healthy() {
	local dir=$1 c=$2
	local -a args
	mapfile -d '' args <"$dir/$c/health"
	curl -fsS --max-time 2 -o /dev/null "${args[@]}" 2>/dev/null
}

component_log_tail() {
	local dir=$1 c=$2 n=${3:-30}
	echo "--- $c log ($dir/$c/log), last $n lines ---"
	tail -n "$n" "$dir/$c/log" 2>/dev/null
}

# Waits until the component answers its health check. Fails early when its process
# is gone, and prints the tail of its log on failure.
component_wait_healthy() {
	local dir=$1 c=$2 timeout=${3:-30} deadline
	deadline=$((SECONDS + timeout))
	while ! component_healthy "$dir" "$c"; do
		if ! component_running_pid "$dir" "$c" >/dev/null; then
			echo "$c exited before becoming healthy" >&2
			component_log_tail "$dir" "$c" >&2
			return 1
		fi
		if ((SECONDS >= deadline)); then
			echo "$c not healthy after ${timeout}s" >&2
			component_log_tail "$dir" "$c" >&2
			return 1
		fi
		sleep 0.2
	done
}

# Sends SIG to each named component that runs, then waits up to STOP_GRACE seconds
# for all of them and KILLs the rest. Never touches a PID that is not recorded.
components_stop() {
	local dir=$1 sig=$2 c pid deadline
	shift 2
	local -A pids=()
	for c in "$@"; do
		pid=$(component_running_pid "$dir" "$c") || continue
		pids[$c]=$pid
		kill "-$sig" "$pid" 2>/dev/null || true
	done
	deadline=$((SECONDS + STOP_GRACE))
	while :; do
		local left=0
		for c in "${!pids[@]}"; do
			component_running_pid "$dir" "$c" >/dev/null && left=1
		done
		((left)) || break
		if ((SECONDS >= deadline)); then
			for c in "${!pids[@]}"; do
				if component_running_pid "$dir" "$c" >/dev/null; then
					echo "$c (pid ${pids[$c]}) still running after ${STOP_GRACE}s: KILL" >&2
					kill -KILL "${pids[$c]}" 2>/dev/null || true
				fi
			done
			sleep 0.2
			break
		fi
		sleep 0.1
	done
	for c in "${!pids[@]}"; do
		echo "=== stopped $(date -u +%FT%TZ) (SIG$sig)" >>"$dir/$c/log"
	done
}

# A free TCP port on 127.0.0.1 below the kernel's ephemeral range (32768+ here), so an
# outgoing connection cannot be holding it; random, so that two clusters starting at
# the same moment are unlikely to pick the same one. Ports already handed out in this
# run are passed as arguments.
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 12000))
		[[ " $* " == *" $p "* ]] && continue
		if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port found" >&2
	return 1
}
