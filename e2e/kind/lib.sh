# Shared by up.sh, down.sh and the kind rung: where a cluster's files live and how kind
# is run. Sourced.
#
#   KIND_CLUSTER       cluster name (default autotrace)
#   KIND_DIR           $CACHE_DIR/kind/$KIND_CLUSTER: kubeconfig, host-before/, logs
#   KIND_PROVIDER      docker where a Docker engine answers, else podman
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
: "${CACHE_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/autotrace}"
KIND_CLUSTER=${KIND_CLUSTER:-autotrace}
KIND_DIR=$CACHE_DIR/kind/$KIND_CLUSTER
KIND_KUBECONFIG=$KIND_DIR/kubeconfig
. "$root/e2e/kind/host-state.sh"

if [ -z "${KIND_PROVIDER:-}" ]; then
	if command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; then
		KIND_PROVIDER=docker
	else
		KIND_PROVIDER=podman
	fi
fi

if [ "$KIND_PROVIDER" = podman ]; then
	. "$root/images/containers-env.sh"
	export KIND_EXPERIMENTAL_PROVIDER=podman
	# kind always mounts /lib/modules into a node; a kernel without modules has no such
	# directory and podman refuses the mount. A podman first on PATH for kind alone
	# points that one mount at an empty directory instead of creating /lib/modules on
	# the host.
	if [ ! -d /lib/modules ]; then
		mkdir -p "$KIND_DIR/bin" "$KIND_DIR/empty-modules"
		# The real one, also when a caller already put the wrapper on PATH.
		real_podman=$(PATH=${PATH//$KIND_DIR\/bin:/} command -v podman)
		cat >"$KIND_DIR/bin/podman" <<WRAP
#!/bin/sh
# Written by e2e/kind/lib.sh: /lib/modules does not exist on this host.
for a; do
	shift
	[ "\$a" = "/lib/modules:/lib/modules:ro" ] && a="$KIND_DIR/empty-modules:/lib/modules:ro"
	set -- "\$@" "\$a"
done
exec $real_podman "\$@"
WRAP
		chmod +x "$KIND_DIR/bin/podman"
		case ":$PATH:" in *":$KIND_DIR/bin:"*) ;; *) export PATH=$KIND_DIR/bin:$PATH ;; esac
	fi
fi

kind_log() { echo "kind: $*" >&2; }

kind_cluster_exists() {
	kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"
}
