#!/usr/bin/env bash
# Sourced by every script that runs buildah, podman or kind: keeps their storage,
# configuration, network config and temporary files under one directory of the
# project's cache ($CONTAINERS_DIR), never in the system paths, and writes the settings
# these machines need (measured; see images/README.md):
#   - default_ulimits: without them every podman container fails here with
#     "error setting rlimit type 7: operation not permitted";
#   - cgroup_manager cgroupfs: the host runs no systemd;
#   - netns host for builds: buildah otherwise calls netavark, which adds iptables
#     chains to the host;
#   - runtime runc on a cgroup v1 hybrid host whose cgroup2 mount holds a controller
#     (hugetlb here): crun refuses to run any container there ("cgroups in hybrid mode
#     not supported, drop all controllers from cgroupv2").
# buildah and podman read the same storage, so images built with one are seen by the
# other and by kind.
: "${CACHE_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/autotrace}"
CONTAINERS_DIR=${CONTAINERS_DIR:-$CACHE_DIR/containers}
mkdir -p "$CONTAINERS_DIR"/{storage,run,tmp,networks,netns}

containers_write_conf() {
	local storage=$CONTAINERS_DIR/storage.conf conf=$CONTAINERS_DIR/containers.conf
	local want_storage want_conf runtime=
	if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ] &&
		command -v runc >/dev/null; then
		runtime='
runtime = "runc"'
	fi
	want_storage="[storage]
driver = \"overlay\"
graphroot = \"$CONTAINERS_DIR/storage\"
runroot = \"$CONTAINERS_DIR/run\""
	want_conf="[containers]
default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]
netns = \"host\"

[engine]
cgroup_manager = \"cgroupfs\"
events_logger = \"file\"
tmp_dir = \"$CONTAINERS_DIR/tmp\"$runtime

[network]
network_config_dir = \"$CONTAINERS_DIR/networks\""
	[ "$(cat "$storage" 2>/dev/null)" = "$want_storage" ] || printf '%s\n' "$want_storage" >"$storage"
	[ "$(cat "$conf" 2>/dev/null)" = "$want_conf" ] || printf '%s\n' "$want_conf" >"$conf"
}
containers_write_conf
export CONTAINERS_STORAGE_CONF=$CONTAINERS_DIR/storage.conf
export CONTAINERS_CONF=$CONTAINERS_DIR/containers.conf
export TMPDIR=${CONTAINERS_TMPDIR:-$CONTAINERS_DIR/tmp}
# Set once, so that no container image path ever reaches a registry by default.
export BUILDAH_FORMAT=docker
