#!/bin/sh
# Prints the Debian packages that hold the shared libraries a binary links (its ELF
# NEEDED entries, found where ldd finds them) and the ones it loads with dlopen by
# soname (a "libX.so.N" string in the binary that the dynamic loader's cache knows: the
# agent loads capstone so, only while it reads a new binary), one a line. A daemon's runtime stage
# installs exactly these (apt adds what they need), so a library added to the link line
# reaches its image with no edit to a Dockerfile, and no -dev package ever does.
# Usage: runtime-packages.sh BINARY
set -eu
resolved=$(ldd "$1")
if echo "$resolved" | grep -q 'not found'; then
	echo "runtime-packages: $1: $(echo "$resolved" | grep 'not found' | tr -s ' \t' ' ')" >&2
	exit 1
fi
for name in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
	path=$(echo "$resolved" | awk -v n="$name" '$1 == n && $2 == "=>" { print $3 }')
	# merged /usr: dpkg knows a library under the path its package ships it at.
	dpkg-query -S "$path" 2>/dev/null || dpkg-query -S "/usr${path#/usr}" 2>/dev/null ||
		dpkg-query -S "${path#/usr}"
done | sed 's/: .*//; s/:.*//' | sort -u >"${TMPDIR:-/tmp}/runtime-packages.$$"
for name in $(strings -n 8 "$1" | grep -E '^lib[a-z0-9_+-]+\.so\.[0-9]+$' | sort -u); do
	path=$(ldconfig -p | awk -v n="$name" '$1 == n && $NF ~ /^\// { print $NF; exit }')
	[ -n "$path" ] || continue
	dpkg-query -S "$path" 2>/dev/null || dpkg-query -S "/usr${path#/usr}" 2>/dev/null ||
		dpkg-query -S "${path#/usr}"
done | sed 's/: .*//; s/:.*//' | sort -u | sort -u - "${TMPDIR:-/tmp}/runtime-packages.$$"
rm -f "${TMPDIR:-/tmp}/runtime-packages.$$"
