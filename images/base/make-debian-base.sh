#!/usr/bin/env bash
# Makes docker.io/library/debian:bookworm-slim in the project's container storage
# (images/containers-env.sh) without a registry: debootstrap --variant=minbase from the
# Debian mirror apt already uses, trimmed the way the official slim image is
# (debuerreotype's slimify and minimizing-config), committed with buildah. The autotrace
# images and the kind node image build FROM it.
#
# Once: when the image is already in storage this returns at once (FORCE=1 remakes it).
# Environment: BASE_IMAGE_NAME (default docker.io/library/debian:bookworm-slim),
# DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR (default: read from apt's sources).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../containers-env.sh"

image=${BASE_IMAGE_NAME:-docker.io/library/debian:bookworm-slim}
suite=bookworm
if [ -z "${FORCE:-}" ] && buildah inspect --type image "$image" >/dev/null 2>&1; then
	exit 0
fi
for tool in debootstrap buildah; do
	command -v "$tool" >/dev/null || { echo "make-debian-base: $tool is missing (make deps-apt)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "make-debian-base: debootstrap needs root" >&2; exit 1; }

# The mirrors apt uses (deb822 .sources, then sources.list): the first Debian archive
# URI that is not the security archive, and the security archive.
apt_uris() {
	{
		awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' \
			/etc/apt/sources.list.d/*.sources 2>/dev/null
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
	} | sed 's|/*$||'
}
mirror=${DEBIAN_MIRROR:-$(apt_uris | grep -E '/debian$' | head -n 1 || true)}
security=${DEBIAN_SECURITY_MIRROR:-$(apt_uris | grep -E '/debian-security$' | head -n 1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}

work=$(mktemp -d "$CONTAINERS_DIR/tmp/debian-base.XXXXXX")
ctr=
cleanup() {
	[ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
rootfs=$work/rootfs

echo "make-debian-base: debootstrap $suite from $mirror (a few minutes, once)" >&2
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
	tail -n 30 "$work/debootstrap.log" >&2
	exit 1
}

# apt sources as the official image has them (deb822), on this site's mirrors.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# debuerreotype-minimizing-config: no services started by package scripts, no sync()
# after each unpacked file, no package caches, no translations, compressed lists.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<EOF
DPkg::Post-Invoke { $clean };
APT::Update::Post-Invoke { $clean };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"

# debuerreotype-slimify: dpkg leaves docs, man pages and translations out of every
# later install, and the ones debootstrap unpacked go now (copyright files stay).
excludes=('/usr/share/doc/*' '/usr/share/groff/*' '/usr/share/info/*' '/usr/share/linda/*'
	'/usr/share/lintian/overrides/*' '/usr/share/locale/*' '/usr/share/man/*')
includes=('/usr/share/doc/*/copyright' '/usr/share/locale/locale.alias')
{
	echo '# The "slim" variant: files containers rarely need stay out of every install.'
	for p in "${excludes[@]}"; do echo "path-exclude $p"; done
	for p in "${includes[@]}"; do echo "path-include $p"; done
} >"$rootfs/etc/dpkg/dpkg.cfg.d/docker"
keep=()
for p in "${includes[@]}"; do keep+=(-o -path "$rootfs$p"); done
for p in "${excludes[@]}"; do
	d=$rootfs${p%/\*}
	[ -d "$d" ] || continue
	find "$d" -mindepth 1 -depth ! \( -false "${keep[@]}" \) ! -type d -delete
	find "$d" -mindepth 1 -depth -type d -empty -delete
done

# Security updates from the site's mirror, in a chroot so that no container runtime
# leaves its mount points (resolv.conf, hosts) in the image; then no package lists
# and no logs of the bootstrap: the official image ships neither.
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
chroot "$rootfs" sh -ec '
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get -y -qq upgrade >/dev/null
	rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old
	rm -f /var/log/apt/* /var/log/dpkg.log /var/log/bootstrap.log /var/log/alternatives.log
' >>"$work/debootstrap.log" 2>&1 || {
	tail -n 30 "$work/debootstrap.log" >&2
	exit 1
}

# What a container runtime provides, or what belongs to one machine.
rm -rf "$rootfs"/dev/* "$rootfs"/proc/* "$rootfs"/sys/* "$rootfs"/run/* "$rootfs"/tmp/*
rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
: >"$rootfs/etc/machine-id"

ctr=$(buildah from --pull=never scratch)
mnt=$(buildah mount "$ctr")
cp -a "$rootfs/." "$mnt/"
buildah umount "$ctr" >/dev/null
rm -rf "$rootfs"
buildah config --cmd bash \
	--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
buildah commit --quiet --format docker --rm "$ctr" "$image" >/dev/null
ctr=
echo "make-debian-base: $image $(buildah images --noheading --format "{{.ID}} {{.Size}}" "$image")" >&2
