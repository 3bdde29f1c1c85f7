#!/usr/bin/env bash
# The end-to-end rung (`make test-e2e`): autotrace installed the way a user installs it
# and the chainsaw scenarios run against it, on a real cluster, each part's TAP in
# RESULTS_DIR:
#   1. e2e/install.t.sh: `helm install` of charts/autotrace with the images under test,
#      and `helm test`;
#   2. e2e/chainsaw.t.sh: the scenarios of e2e/chainsaw/ (chainsaw, as the OpenTelemetry
#      Operator's e2e tests run);
#   3. e2e/uninstall.t.sh: `helm uninstall` leaves only what the README says it keeps;
#   4. e2e/upgrade.t.sh: `helm upgrade` from the previous chart version keeps a traced
#      workload traced.
# Where:
#   - By default: a kind cluster on this machine (e2e/kind/up.sh, with autotrace's
#     images loaded), then e2e/kind/down.sh, whose check that the host is as it was
#     before the cluster is a test of its own. A kind cluster already up (`make demo`)
#     is used as it is, like one given by E2E_KUBECONFIG, and left up.
#   - With E2E_KUBECONFIG=FILE: the same suite against that cluster, which must already
#     have autotrace's images (IMAGE_REGISTRY/IMAGE_TAG name them). If release
#     $RELEASE is installed there already (`helm install` of images you pushed), the
#     suite tests it and leaves it installed; otherwise it installs and uninstalls it.
# Environment: RESULTS_DIR, and from make: PATH with the tools, the kind variables
# (mk/kind.mk) and IMAGE_ARCHIVES.
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
	. e2e/kind/lib.sh
	# A cluster that is already up (`make demo`'s) is the user's: the suite runs on it
	# as on any cluster and leaves it up.
	kept=0
	kind_cluster_exists && kept=1
	((kept)) || trap 'e2e/kind/down.sh >/dev/null 2>&1' EXIT
	trap 'exit 130' INT TERM
	start=$SECONDS
	# 9>&-: the node's conmon and podman's DNS server would inherit the lock and hold it
	# for as long as they live.
	if ! out=$(e2e/kind/up.sh 2>"$RESULTS_DIR/kind-up.log" 9>&-); then
		tap1 "not ok" "kind-up: the cluster did not come up (log: $RESULTS_DIR/kind-up.log)" kind-up
		tail -n 40 "$RESULTS_DIR/kind-up.log" | sed 's/^/# /'
		exit 0
	fi
	tap1 ok "kind-up: one node Ready, CoreDNS serving, images loaded in $((SECONDS - start)) s" kind-up
	export KUBECONFIG=${out#export KUBECONFIG=}
fi

export RELEASE=${RELEASE:-autotrace} RELEASE_NAMESPACE=${RELEASE_NAMESPACE:-autotrace-system}
export IMAGE_REGISTRY=${IMAGE_REGISTRY:-docker.io/autotrace} IMAGE_TAG=${IMAGE_TAG:-dev}
ours=1
if { [ -n "${E2E_KUBECONFIG:-}" ] || ((${kept:-0})); } && helm status "$RELEASE" -n "$RELEASE_NAMESPACE" >/dev/null 2>&1; then
	ours=0
	echo "# e2e: testing release $RELEASE already installed in $RELEASE_NAMESPACE; it stays installed"
fi
if ((ours)); then
	tests/run-tap.sh e2e-install "$limit" e2e/install.t.sh
fi
if ! grep -q '^not ok' "$RESULTS_DIR/e2e-install.tap" 2>/dev/null; then
	tests/run-tap.sh e2e-chainsaw "${E2E_SUITE_TIMEOUT:-1800}" e2e/chainsaw.t.sh
fi
if ((ours)); then
	tests/run-tap.sh e2e-uninstall 300 e2e/uninstall.t.sh
	tests/run-tap.sh e2e-upgrade 900 e2e/upgrade.t.sh
fi

if [ -z "${E2E_KUBECONFIG:-}" ] && ((kept == 0)); then
	trap - EXIT
	start=$SECONDS
	if e2e/kind/down.sh 2>"$RESULTS_DIR/kind-down.log"; then
		tap1 ok "kind-down: cluster deleted in $((SECONDS - start)) s; sysctls, iptables, links, mounts and cgroups as before" kind-down
	else
		tap1 "not ok" "kind-down: the host differs from before the cluster" kind-down
		sed 's/^/# /' "$RESULTS_DIR/kind-down.log"
	fi
fi
