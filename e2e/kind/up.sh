#!/usr/bin/env bash
# `make kind-up`: a one-node kind cluster named $KIND_CLUSTER with autotrace's images
# loaded; prints the KUBECONFIG to use on its last line. Its kubeconfig is
# $KIND_DIR/kubeconfig, never ~/.kube/config. With podman (no Docker engine) the node
# is $KIND_NODE_IMAGE, built here (make kind-node-image); with Docker, the official
# kindest/node image of the same Kubernetes version.
# Before the first node starts, what a node changes on the host is recorded
# (host-state.sh) for down.sh to put back.
# Environment: KIND_NODE_IMAGE, K8S_VERSION, IMAGE_ARCHIVES (image tars to load),
# PATH with kind and kubectl, CACHE_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/e2e/kind/lib.sh"
: "${K8S_VERSION:?}"
mkdir -p "$KIND_DIR"
start=$SECONDS

if kind_cluster_exists; then
	kind_log "cluster $KIND_CLUSTER exists; reusing it"
else
	[ -d "$KIND_DIR/host-before" ] || host_state_save "$KIND_DIR/host-before"
	if [ "$KIND_PROVIDER" = podman ]; then
		image=${KIND_NODE_IMAGE:?}
	else
		image=kindest/node:$K8S_VERSION
	fi
	# kube-proxy in nftables mode: it needs no guess of the node's iptables backend.
	cat >"$KIND_DIR/cluster.yaml" <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  kubeProxyMode: nftables
nodes:
- role: control-plane
YAML
	kind_log "creating cluster $KIND_CLUSTER ($KIND_PROVIDER, $image)"
	if ! kind create cluster --name "$KIND_CLUSTER" --image "$image" --config "$KIND_DIR/cluster.yaml" \
		--kubeconfig "$KIND_KUBECONFIG" --wait 180s >"$KIND_DIR/create.log" 2>&1; then
		tail -n 40 "$KIND_DIR/create.log" >&2
		kind export logs "$KIND_DIR/logs" --name "$KIND_CLUSTER" >/dev/null 2>&1 || true
		kind_log "create failed; node logs in $KIND_DIR/logs"
		exit 1
	fi
	kind_log "node Ready after $((SECONDS - start)) s"
fi
export KUBECONFIG=$KIND_KUBECONFIG

for f in ${IMAGE_ARCHIVES:-}; do
	kind load image-archive "$f" --name "$KIND_CLUSTER" >/dev/null 2>"$KIND_DIR/load.log" ||
		{ cat "$KIND_DIR/load.log" >&2; exit 1; }
done
[ -z "${IMAGE_ARCHIVES:-}" ] || kind_log "images loaded: $(for f in $IMAGE_ARCHIVES; do basename "$f" .tar; done | tr '\n' ' ')"

# Cluster DNS is what in-cluster names need; kind's --wait covers the node only.
kubectl -n kube-system rollout status deployment/coredns --timeout=180s >/dev/null
kind_log "cluster $KIND_CLUSTER ready in $((SECONDS - start)) s"
echo "export KUBECONFIG=$KIND_KUBECONFIG"
