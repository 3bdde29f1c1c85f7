#!/usr/bin/env bash
# Stops or starts one component of a running local cluster with exactly the command
# line up.sh started it with (recorded in CLUSTER_DIR/<component>/cmd), so tests can
# take the API server (or etcd, kwok, ...) away mid-run and bring it back.
# Usage: ctl.sh CLUSTER_DIR stop|start|kill9|restart|status COMPONENT
#   stop     TERM, KILL after STOP_GRACE seconds (default 10)
#   kill9    KILL at once (no graceful shutdown)
#   start    start it again and wait until its health check passes (CTL_WAIT=0: don't
#            wait; CTL_TIMEOUT seconds, default 60); the log is appended to
#   restart  stop, then start
#   status   prints "running PID" or "stopped"; exit status 0 only when running
# Components: etcd kube-apiserver kube-controller-manager kube-scheduler kwok.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
usage() { echo "usage: $0 CLUSTER_DIR stop|start|kill9|restart|status COMPONENT" >&2; exit 2; }
[ $# -eq 3 ] || usage
d=$1 action=$2 c=$3
[ -d "$d" ] || { echo "ctl: no run directory $d" >&2; exit 1; }
D=$(cd "$d" && pwd -P)
[[ " ${COMPONENTS[*]} " == *" $c "* ]] || { echo "ctl: unknown component $c (one of: ${COMPONENTS[*]})" >&2; exit 2; }
[ -f "$D/$c/cmd" ] || { echo "ctl: $c was never started in $D" >&2; exit 1; }

do_stop() {
	component_running_pid "$D" "$c" >/dev/null || { echo "ctl: $c is not running" >&2; return 0; }
	components_stop "$D" "$1" "$c"
	if pid=$(component_running_pid "$D" "$c"); then
		echo "ctl: $c (pid $pid) did not stop" >&2
		return 1
	fi
	rm -f "$D/$c/pid"
}

do_start() {
	if pid=$(component_running_pid "$D" "$c"); then
		echo "ctl: $c already runs (pid $pid)" >&2
		return 1
	fi
	component_launch "$D" "$c"
	[ "${CTL_WAIT:-1}" = 0 ] && return 0
	component_wait_healthy "$D" "$c" "${CTL_TIMEOUT:-60}"
}

case $action in
stop) do_stop TERM ;;
kill9) do_stop KILL ;;
start) do_start ;;
restart) do_stop TERM && do_start ;;
status)
	if pid=$(component_running_pid "$D" "$c"); then echo "running $pid"; else echo stopped; exit 1; fi
	;;
*) usage ;;
esac
