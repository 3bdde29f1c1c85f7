# Shared by the e2e suite's scripts (e2e/suite/*.t.sh): TAP (tests/integration/lib.sh),
# the images under test, and helpers that reach into the cluster the way a user does,
# with kubectl only. Sourced. Needs KUBECONFIG.
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$root/tests/integration/lib.sh"
: "${KUBECONFIG:?}"
export KUBECONFIG
IMAGE_REGISTRY=${IMAGE_REGISTRY:-docker.io/autotrace}
IMAGE_TAG=${IMAGE_TAG:-dev}
E2E_LOGS=${RESULTS_DIR:-/tmp}/e2e-logs
mkdir -p "$E2E_LOGS"

image() { echo "$IMAGE_REGISTRY/$1:$IMAGE_TAG"; }

# deploy/autotrace.yaml with the images under test.
autotrace_manifest() {
	sed -e "s#docker.io/autotrace/\([a-z-]*\):dev#$IMAGE_REGISTRY/\1:$IMAGE_TAG#" "$root/deploy/autotrace.yaml"
}

# port_forward VAR NS TARGET PORT: kubectl port-forward in the background to a free
# local port, whose number goes into VAR. The forward ends with the script (at_exit).
port_forward() {
	local var=$1 ns=$2 target=$3 remote=$4 out pid port=
	out=$(mktemp)
	kubectl -n "$ns" port-forward "$target" ":$remote" >"$out" 2>&1 &
	pid=$!
	at_exit "kill $pid; rm -f $out"
	for _ in $(seq 100); do
		port=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$out")
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$port" ] || { diag "port-forward $ns/$target: $(cat "$out")"; return 1; }
	printf -v "$var" %s "$port"
}

# n GETs of a path through a forwarded port; prints how many answered 200.
http_gets() {
	local port=$1 path=$2 n=$3
	seq "$n" | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 \
		"http://127.0.0.1:$port$path" | grep -c '^200$'
}

# Keeps the logs of every pod of a namespace for a failed run.
save_logs() {
	local ns=$1 p c
	for p in $(kubectl -n "$ns" get pods -o name 2>/dev/null); do
		for c in $(kubectl -n "$ns" get "$p" -o jsonpath='{.spec.initContainers[*].name} {.spec.containers[*].name}' 2>/dev/null); do
			kubectl -n "$ns" logs "$p" -c "$c" >"$E2E_LOGS/$ns.${p#pod/}.$c.log" 2>&1
		done
	done
	kubectl -n "$ns" get events --sort-by=.lastTimestamp >"$E2E_LOGS/$ns.events" 2>&1
}
