#!/usr/bin/env bash
# `make kind-down`: deletes the kind cluster $KIND_CLUSTER, removes the podman network
# kind made, and puts back what the node changed on the host (host-state.sh), then
# prints anything that still differs from before the cluster; status 1 if something does.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/e2e/kind/lib.sh"

if kind_cluster_exists; then
	kind delete cluster --name "$KIND_CLUSTER" --kubeconfig "$KIND_KUBECONFIG" >/dev/null 2>&1 ||
		kind_log "kind delete cluster failed"
fi
if [ "$KIND_PROVIDER" = podman ] && podman network exists kind 2>/dev/null; then
	podman network rm -f kind >/dev/null 2>&1 || kind_log "podman network rm kind failed"
fi
rm -f "$KIND_KUBECONFIG"
[ -d "$KIND_DIR/host-before" ] || exit 0
host_state_restore "$KIND_DIR/host-before"
if host_state_diff "$KIND_DIR/host-before" >"$KIND_DIR/host-diff"; then
	rm -rf "$KIND_DIR/host-before"
	kind_log "cluster $KIND_CLUSTER deleted; host as before"
else
	cat "$KIND_DIR/host-diff" >&2
	kind_log "cluster $KIND_CLUSTER deleted; the host differs from before (above)"
	rm -rf "$KIND_DIR/host-before"
	exit 1
fi
