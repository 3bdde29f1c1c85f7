#!/usr/bin/env bash
# Stops the cluster recorded in a run directory: TERM to exactly the recorded PIDs
# (only while each still runs the recorded binary), KILL after STOP_GRACE seconds
# (default 10). Logs and data stay for inspection; up.sh clears them on the next start.
# Safe to run twice, and on a directory whose cluster never started.
# Usage: down.sh [CLUSTER_DIR]   (default: $CLUSTER_DIR, else build/cluster)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
d=${1:-${CLUSTER_DIR:-build/cluster}}
if [ ! -d "$d" ]; then
	echo "cluster-down: no run directory $d" >&2
	exit 0
fi
D=$(cd "$d" && pwd -P)
running=()
for c in "${COMPONENTS[@]}"; do
	component_running_pid "$D" "$c" >/dev/null && running+=("$c")
done
if ((${#running[@]} == 0)); then
	echo "cluster-down: nothing running in $D" >&2
	exit 0
fi
components_stop "$D" TERM "${running[@]}"
left=0
for c in "${running[@]}"; do
	if pid=$(component_running_pid "$D" "$c"); then
		echo "cluster-down: $c (pid $pid) did not stop" >&2
		left=1
	else
		rm -f "$D/$c/pid"
	fi
done
echo "cluster-down: stopped ${running[*]} in $D" >&2
exit $left
