#!/usr/bin/env bash
# Builds one image of `make images` (mk/images.mk) from images/SHORT/Dockerfile, or for
# a daemon, target SHORT of images/daemons/Dockerfile; writes
# it as a docker-archive (what `kind load image-archive` and `ctr images import` take)
# when the image changed, and prints its size and what makes it up: the layers above
# the base and the largest Debian packages added to it.
#
# Usage: build-image.sh SHORT CONTEXT
# Environment: IMAGE_BUILDER (docker, buildah or podman), IMAGE_REGISTRY, IMAGE_TAG,
# BASE_IMAGE, IMAGE_DIR (where SHORT.tar, its image id and its report go).
set -euo pipefail
short=$1 context=$2
root=$(cd "$(dirname "$0")/.." && pwd)
builder=${IMAGE_BUILDER:?no image builder: install docker, buildah or podman (make deps-apt)}
name=${IMAGE_REGISTRY:?}/$short:${IMAGE_TAG:?}
base=${BASE_IMAGE:?}
dir=${IMAGE_DIR:?}
archive=$dir/$short.tar
mkdir -p "$dir"
[ "$builder" = docker ] || . "$root/images/containers-env.sh"

# The tool that inspects and runs images: podman reads buildah's storage.
case $builder in
docker) build=(docker build) ctl=docker ;;
buildah | podman)
	# As measured on machines with no engine and no registry (images/README.md).
	build=("$builder" build --format docker --layers --network host --isolation chroot --pull=never)
	ctl=$(command -v podman >/dev/null && echo podman || echo "")
	;;
*) echo "images: unknown IMAGE_BUILDER '$builder' (docker, buildah or podman)" >&2; exit 2 ;;
esac

image_id() {
	case $builder in
	buildah) buildah inspect --type image --format '{{.FromImageID}}' "$1" ;;
	*) "$builder" image inspect --format '{{.Id}}' "$1" ;;
	esac
}

dockerfile=$root/images/$short/Dockerfile target=()
if [ ! -f "$dockerfile" ]; then
	dockerfile=$root/images/daemons/Dockerfile target=(--target "$short")
fi
log=$dir/$short.build.log
start=$SECONDS
if ! "${build[@]}" --build-arg BASE_IMAGE="$base" -f "$dockerfile" "${target[@]}" \
	-t "$name" "$context" >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "images: $short: the build failed (whole log: $log)" >&2
	exit 1
fi
took=$((SECONDS - start))
id=$(image_id "$name")

state="archive unchanged"
if [ ! -s "$archive" ] || [ "$(cat "$archive.id" 2>/dev/null)" != "$id" ]; then
	rm -f "$archive.tmp"
	case $builder in
	docker) docker save -o "$archive.tmp" "$name" ;;
	# The :NAME suffix puts the reference into the archive; without it an importer has
	# no name to give the image.
	buildah) buildah push --quiet "$name" "docker-archive:$archive.tmp:$name" >/dev/null ;;
	podman) podman save --quiet --format docker-archive -o "$archive.tmp" "$name" ;;
	esac
	mv "$archive.tmp" "$archive"
	echo "$id" >"$archive.id"
	state="archive written"
	rm -f "$dir/$short.report"
fi

mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
layers() { # IMAGE: "bytes|created by" of every layer, the top one first
	if [ "$ctl" = docker ]; then
		docker history --no-trunc --human=false --format '{{.Size}}|{{.CreatedBy}}' "$1"
	else
		podman history --format json "$1" | jq -r '.[] | "\(.size)|\(.CreatedBy)"'
	fi
}
packages() { # IMAGE: "KiB package" of every installed package
	"$ctl" run --rm --network none --user 0 --entrypoint dpkg-query "$1" \
		-W -f='${Installed-Size} ${Package}\n' 2>/dev/null | sort -k2
}

# What dominates: the layers above the base, largest first, and the largest packages
# the image adds to the base. Worked out once per image id.
report=$dir/$short.report
if [ ! -s "$report" ] && [ -n "$ctl" ]; then
	size=$("$ctl" image inspect --format '{{.Size}}' "$name")
	base_size=$("$ctl" image inspect --format '{{.Size}}' "$base" 2>/dev/null || echo 0)
	{
		echo "$(mb "$size") (base $(mb "$base_size") + $(mb $((size - base_size))))"
		layers "$name" | sed '$d' | awk -F'|' '$1 >= 100000' | sort -t'|' -k1,1nr | head -n 3 |
			while IFS='|' read -r bytes what; do
				what=$(sed -E 's@^\|[0-9]+ [^ ]+ /bin/sh -c @RUN @; s@^/bin/sh -c #\(nop\) @@;
					s@^/bin/sh -c @RUN @; s@file:[0-9a-f]{64} @@; s/  +/ /g' <<<"$what")
				printf '  layer %9s  %.80s\n' "$(mb "$bytes")" "$what"
			done
		added=$(join -1 2 -2 2 -v 1 <(packages "$name") <(packages "$base") |
			sort -k2,2nr | head -n 6 | awk '{ printf "%s %.1f MB, ", $1, $2 / 1000 }')
		[ -z "$added" ] || echo "  packages added: ${added%, }"
	} >"$report.tmp"
	mv "$report.tmp" "$report"
fi
summary=$( [ -s "$report" ] && head -n 1 "$report" || echo "")
printf 'images: %-15s %-42s %s; built in %ds, %s\n' "$short" "$name" "$summary" "$took" "$state"
[ ! -s "$report" ] || tail -n +2 "$report"
