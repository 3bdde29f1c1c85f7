#!/usr/bin/env bash
# What a kind node changes on the host, recorded before the cluster starts and put back
# after it is deleted. A privileged node container shares the host's kernel settings:
# systemd in the node raises fs.file-max, the kubelet sets vm.overcommit_memory,
# kernel.panic and kernel.panic_on_oops, podman's dual-stack network turns on IPv6
# forwarding; netavark leaves its NETAVARK_* iptables chains and its bridge behind.
# Sourced by up.sh and down.sh; the host-state test runs the compare.
#
#   host_state_save DIR      sysctls, iptables (nft and legacy), links, mounts, cgroups
#   host_state_restore DIR   sysctls back to DIR's values; netavark's chains, a bridge
#                            and podman's run directories that DIR did not have, removed
#   host_state_diff DIR      prints every difference from DIR; status 1 if any

# Counters and ids that change by themselves.
HOST_STATE_VOLATILE='^(fs\.(dentry|inode|file)-(state|nr)|kernel\.ns_last_pid|kernel\.random\.|net\.netfilter\.nf_conntrack_count|fs\.quota\.)'

host_state_sysctls() {
	sysctl -a 2>/dev/null | grep -Ev "$HOST_STATE_VOLATILE" | sort
}

# Rules and chains without packet counters, per backend.
host_state_iptables() {
	local b
	for b in nft legacy; do
		for t in iptables ip6tables; do
			command -v "$t-$b-save" >/dev/null || continue
			echo "## $t-$b"
			# (An empty ruleset is no failure, also under pipefail.)
			"$t-$b-save" 2>/dev/null | { grep -v '^#' || true; } | sed 's/\[[0-9]*:[0-9]*\]//'
		done
	done
}

host_state_links() {
	ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort
}

host_state_mounts() {
	awk '{ print $5 }' /proc/self/mountinfo | sort
}

# cgroups a container runtime made: the first two levels of every hierarchy.
host_state_cgroups() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d 2>/dev/null | sort
}

host_state_save() {
	local dir=$1
	mkdir -p "$dir"
	host_state_sysctls >"$dir/sysctl"
	host_state_iptables >"$dir/iptables"
	host_state_links >"$dir/links"
	host_state_mounts >"$dir/mounts"
	host_state_cgroups >"$dir/cgroups"
	ls -d /run/containers /run/netns /run/libpod 2>/dev/null >"$dir/rundirs" || true
	nft list tables 2>/dev/null >"$dir/nft-tables" || true
}

# Deletes one chain from one table and every rule that jumps to it.
host_state_drop_chain() {
	local cmd=$1 table=$2 chain=$3 rule
	"$cmd" -t "$table" -S 2>/dev/null | grep -E -- "-j $chain( |\$)" | grep '^-A ' | while read -r rule; do
		# shellcheck disable=SC2086
		"$cmd" -t "$table" ${rule/-A/-D} 2>/dev/null
	done
	"$cmd" -t "$table" -F "$chain" 2>/dev/null
	"$cmd" -t "$table" -X "$chain" 2>/dev/null
}

host_state_restore() {
	local dir=$1 key val cmd table chain l d
	[ -f "$dir/sysctl" ] || return 0
	# Sysctls whose value differs, set back (keys that vanished went with their interface).
	diff <(host_state_sysctls) "$dir/sysctl" | sed -n 's/^> //p' | while IFS= read -r l; do
		key=${l%% = *}
		val=${l#* = }
		[ -e "/proc/sys/${key//.//}" ] && sysctl -q -w "$key=$val" 2>/dev/null
	done
	# netavark's chains (NETAVARK_FORWARD, NETAVARK-HOSTPORT-DNAT, ...) that were not
	# there before, then the nftables tables that were not (iptables-nft made them to
	# hold those chains).
	for cmd in iptables ip6tables iptables-legacy ip6tables-legacy; do
		command -v "$cmd" >/dev/null || continue
		for table in filter nat mangle; do
			"$cmd" -t "$table" -S 2>/dev/null | sed -n 's/^-N \(NETAVARK[-_][A-Z_-]*\)$/\1/p' | while read -r chain; do
				grep -q -- "^:$chain " "$dir/iptables" || host_state_drop_chain "$cmd" "$table" "$chain"
			done
		done
	done
	nft list tables 2>/dev/null | while read -r l; do
		# shellcheck disable=SC2086
		grep -qxF "$l" "$dir/nft-tables" || nft delete $l 2>/dev/null
	done
	# Links that were not there before and that podman or netavark make.
	comm -13 "$dir/links" <(host_state_links) | grep -E '^(podman[0-9]+|veth)' | while read -r l; do
		ip link delete "$l" 2>/dev/null
	done
	# podman makes /run/netns a mount point of its own (shared, for the network
	# namespaces it binds there).
	for d in /run/netns /run/containers /run/libpod; do
		[ -d "$d" ] && ! grep -qx "$d" "$dir/rundirs" || continue
		mountpoint -q "$d" && umount "$d"
		rm -rf "$d"
	done
	return 0
}

host_state_diff() {
	local dir=$1 bad=0 what out
	for what in sysctl iptables links mounts cgroups; do
		out=$(diff "$dir/$what" <("host_state_${what/sysctl/sysctls}") | grep '^[<>]')
		if [ -n "$out" ]; then
			bad=1
			echo "$what differs (< before, > now):"
			head -n 20 <<<"$out" | sed 's/^/  /'
		fi
	done
	return $bad
}
