#!/usr/bin/env bash
# The end-to-end rung (`make test-e2e`): the e2e suite (e2e/suite/*.t.sh) against a real
# cluster, each script's TAP in RESULTS_DIR.
#   - By default: a kind cluster on this machine (e2e/kind/up.sh, with autotrace's
#     images loaded), the suite, then e2e/kind/down.sh, whose check that the host is as
#     it was before the cluster is a test of its own.
#   - With E2E_KUBECONFIG=FILE: the same suite against that cluster, which must already
#     have autotrace's images (IMAGE_REGISTRY/IMAGE_TAG name them); nothing is created
#     or deleted but the suite's own namespaces and objects.
# Environment: RESULTS_DIR, and from make: the kind variables (mk/kind.mk) and
# IMAGE_ARCHIVES.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
: "${RESULTS_DIR:?}"
mkdir -p "$RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
export RESULTS_DIR
limit=${E2E_TIMEOUT:-900}

tap1() { printf '1..1\n%s 1 - %s\n' "$1" "$2" | tee "$RESULTS_DIR/$3.tap"; }

if [ -n "${E2E_KUBECONFIG:-}" ]; then
	export KUBECONFIG=$E2E_KUBECONFIG
else
	# Runs from the same machine take turns: they share the cluster name.
	mkdir -p "$root/build"
	exec 9>>"$root/build/kind-e2e.lock"
	flock -w 3600 9 || { tap1 "not ok" "kind-up: another e2e run held the lock for an hour" kind-up; exit 0; }
	trap 'e2e/kind/down.sh >/dev/null 2>&1' EXIT
	trap 'exit 130' INT TERM
	start=$SECONDS
	if ! out=$(e2e/kind/up.sh 2>"$RESULTS_DIR/kind-up.log"); then
		tap1 "not ok" "kind-up: the cluster did not come up (log: $RESULTS_DIR/kind-up.log)" kind-up
		tail -n 40 "$RESULTS_DIR/kind-up.log" | sed 's/^/# /'
		exit 0
	fi
	tap1 ok "kind-up: one node Ready, CoreDNS serving, images loaded in $((SECONDS - start)) s" kind-up
	export KUBECONFIG=${out#export KUBECONFIG=}
fi

for t in e2e/suite/*.t.sh; do
	tests/run-tap.sh "e2e-$(basename "$t" .t.sh)" "$limit" "$t"
done

if [ -z "${E2E_KUBECONFIG:-}" ]; then
	trap - EXIT
	start=$SECONDS
	if e2e/kind/down.sh 2>"$RESULTS_DIR/kind-down.log"; then
		tap1 ok "kind-down: cluster deleted in $((SECONDS - start)) s; sysctls, iptables, links, mounts and cgroups as before" kind-down
	else
		tap1 "not ok" "kind-down: the host differs from before the cluster" kind-down
		sed 's/^/# /' "$RESULTS_DIR/kind-down.log"
	fi
fi
