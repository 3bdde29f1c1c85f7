#!/usr/bin/env bash
# Builds the kind node image for machines that reach no image registry ($KIND_NODE_IMAGE,
# in the project's container storage; Dockerfile says what is in it). Run by
# `make kind-node-image`, which passes the tools and versions:
#   K8S_VERSION, K8S_BIN (kubelet, kubeadm, kubectl, kube-apiserver, ..., kube-proxy),
#   ETCD_EXE, COREDNS_EXE, KIND_MODULE_VERSION, KIND_NODE_IMAGE, CACHE_DIR, CC.
# The images kubeadm asks for (`kubeadm config images list`) are made under exactly
# those names from the binaries built here, and checked against that list, so a
# version bump that forgets one fails here rather than as a pull error in the node.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
: "${K8S_VERSION:?}" "${K8S_BIN:?}" "${ETCD_EXE:?}" "${COREDNS_EXE:?}" "${KIND_NODE_IMAGE:?}"
: "${KIND_MODULE_VERSION:?}"
. "$root/images/containers-env.sh"
"$root/images/base/make-debian-base.sh"

ctx=$CACHE_DIR/kind-node/context
rm -rf "$ctx" && mkdir -p "$ctx"/{node,bin,images}
log() { echo "kind-node-image: $*" >&2; }

# kind's node files, from the module this kind was built from.
kind_dir=$(cd "$root" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kind@$KIND_MODULE_VERSION" |
	sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -d "$kind_dir/images/base/files" ] || { log "no images/base/files in $kind_dir"; exit 1; }
cp -r "$kind_dir/images/base/files" "$ctx/kind-base"
chmod -R u+w "$ctx/kind-base"
# Our containerd config replaces kind's (it is installed after the package, whose
# conffile prompt a copied-in config would trigger).
rm -rf "$ctx/kind-base/etc/containerd"
cp "$here"/{containerd.toml,10-pods.conflist,default-cni.yaml,default-storage.yaml} \
	"$here"/{import-images.sh,12-import-images.conf} "$ctx/node/"
cp "$K8S_BIN"/{kubelet,kubeadm,kubectl} "$ctx/bin/"

# name -> how it is made: "scratch BINARY ENTRYPOINT" or "debian BINARY PACKAGES...".
want=$("$K8S_BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
log "kubeadm asks for: $(tr '\n' ' ' <<<"$want")"
image_named() { grep -m1 "/$1:" <<<"$want" || { log "kubeadm lists no $1 image"; exit 1; }; }

# The version each built binary says it is, against the tag kubeadm asks for.
check_version() {
	local name=$1 tag=$2 says=$3 v
	v=${tag#v}
	v=${v%-0}
	[[ "$says" == *"$v"* ]] || { log "$name: kubeadm wants $tag, the binary says: $says"; exit 1; }
}
check_version etcd "$(image_named etcd | cut -d: -f2)" "$("$ETCD_EXE" --version | head -1)"
check_version coredns "$(image_named coredns | cut -d: -f2)" "$("$COREDNS_EXE" -version | head -1)"
for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
	check_version "$c" "$K8S_VERSION" "$("$K8S_BIN/$c" --version)"
done

pause=$CACHE_DIR/kind-node/pause
${CC:-gcc} -static -O2 -Wall -Wextra -Werror -o "$pause" "$here/pause.c"
strip "$pause"

# One image from one static binary: no base, the binary at /usr/local/bin (kubeadm's
# static pods name the command) and as the entrypoint.
scratch_image() {
	local name=$1 bin=$2 entry=$3 c
	c=$(buildah from --pull=never scratch)
	buildah copy --quiet --chmod 0755 "$c" "$bin" "$entry" >/dev/null
	buildah config --entrypoint "[\"$entry\"]" "$c"
	buildah commit --quiet --format docker --rm "$c" "$name" >/dev/null
}
# kube-proxy runs nftables mode (the cluster config says so): it needs nft and
# conntrack, so it sits on the Debian base.
proxy_image() {
	local name=$1 c
	c=$(buildah from --pull=never docker.io/library/debian:bookworm-slim)
	buildah run --network host --isolation chroot "$c" -- sh -ec '
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq && apt-get install -y -qq --no-install-recommends nftables conntrack iptables >/dev/null
		rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log'
	buildah copy --quiet --chmod 0755 "$c" "$K8S_BIN/kube-proxy" /usr/local/bin/kube-proxy >/dev/null
	buildah config --entrypoint '["/usr/local/bin/kube-proxy"]' --cmd '[]' "$c"
	buildah commit --quiet --format docker --rm "$c" "$name" >/dev/null
}

for name in $want; do
	short=${name##*/}
	short=${short%%:*}
	case $short in
	kube-apiserver | kube-controller-manager | kube-scheduler)
		scratch_image "$name" "$K8S_BIN/$short" "/usr/local/bin/$short" ;;
	kube-proxy) proxy_image "$name" ;;
	etcd) scratch_image "$name" "$ETCD_EXE" /usr/local/bin/etcd ;;
	coredns) scratch_image "$name" "$COREDNS_EXE" /coredns ;;
	pause) scratch_image "$name" "$pause" /pause ;;
	*) log "no recipe for $name"; exit 1 ;;
	esac
	buildah push --quiet "$name" "docker-archive:$ctx/images/$short.tar:$name" >/dev/null
	log "$name: $(du -h "$ctx/images/$short.tar" | cut -f1)"
done

log "building $KIND_NODE_IMAGE"
buildah build --quiet --format docker --layers --network host --isolation chroot --pull=never \
	--build-arg "K8S_VERSION=$K8S_VERSION" -f "$here/Dockerfile" -t "$KIND_NODE_IMAGE" "$ctx" >/dev/null
log "$KIND_NODE_IMAGE: $(buildah images --noheading --format '{{.Size}}' "$KIND_NODE_IMAGE")"
rm -rf "$ctx"
