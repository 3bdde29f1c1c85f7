#!/usr/bin/env bash
# What a user of autotrace's images relies on (make test-images, after make images):
# each image exists under its fully qualified name and its archive carries that name
# and that image; its binary runs (--help) with every library it links; the operator,
# the webhook and the test programs run as a non-root uid, the agent as uid 0; no
# compiler or -dev package reached a runtime image, and none is bigger than it should
# be. Then each runs as the cluster runs it: the agent loads its BPF programs with the
# sidecar's securityContext and nothing more, the OTLP receiver takes a span with its
# default command, and the sample service answers /hello on its default port.
#
# Environment (mk/images.mk): IMAGES, IMAGE_REGISTRY, IMAGE_TAG, IMAGE_DIR,
# IMAGE_BUILDER (docker runs them with docker, else podman).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/lib.sh"
: "${IMAGES:?}" "${IMAGE_REGISTRY:?}" "${IMAGE_TAG:?}" "${IMAGE_DIR:?}"
cd "$root"
MAX_MB=${IMAGE_MAX_MB:-150}

if [ "${IMAGE_BUILDER:-}" = docker ]; then
	ctl=docker
else
	ctl=podman
	. "$root/images/containers-env.sh"
fi
name() { echo "$IMAGE_REGISTRY/$1:$IMAGE_TAG"; }
run() { "$ctl" run --rm --network none "$@"; }
# Each image's program and the uid it runs as ("non-root": any but 0).
binary() {
	case $1 in
	sample-httpsvc) echo /usr/local/bin/httpsvc ;;
	sample-shop) echo /usr/local/bin/frontend ;;
	otlp-receiver) echo /usr/local/bin/otlp-receiver ;;
	*) echo "/usr/local/bin/autotrace-$1" ;;
	esac
}

set -- $IMAGES
plan $((7 * $# + 3))
if ! command -v "$ctl" >/dev/null; then
	echo "# $ctl is missing (make deps-apt)"
fi

for short; do
	img=$(name "$short")
	bin=$(binary "$short")

	check "$short: $img exists" "$ctl" image inspect --format '{{.Id}}' "$img"

	id=$("$ctl" image inspect --format '{{.Id}}' "$img" 2>/dev/null)
	tags=$(tar -xOf "$IMAGE_DIR/$short.tar" manifest.json 2>&1)
	if jq -e --arg n "$img" 'any(.[].RepoTags[]; . == $n)' <<<"$tags" >/dev/null 2>&1 &&
		[ -n "$id" ] && [ "$(cat "$IMAGE_DIR/$short.tar.id" 2>/dev/null)" = "$id" ]; then
		ok "$short: $IMAGE_DIR/$short.tar holds this image, named $img"
	else
		not_ok "$short: $IMAGE_DIR/$short.tar holds this image, named $img" \
			"manifest: $tags"$'\n'"image $id, archive of $(cat "$IMAGE_DIR/$short.tar.id" 2>&1)"
	fi

	check "$short: $bin --help exits 0" run "$img" --help

	out=$(run --entrypoint ldd "$img" "$bin" 2>&1)
	if ! grep -q 'not found' <<<"$out" && { grep -q '=>' <<<"$out" || grep -q 'not a dynamic executable' <<<"$out"; }; then
		ok "$short: every library $bin links is in the image"
	else
		not_ok "$short: every library $bin links is in the image" "$out"
	fi

	uid=$(run --entrypoint id "$img" -u 2>&1)
	if [ "$short" = agent ]; then want="0 (CAP_BPF and the others are lost at exec otherwise)"; else want=non-root; fi
	if { [ "$short" = agent ] && [ "$uid" = 0 ]; } ||
		{ [ "$short" != agent ] && [[ $uid =~ ^[0-9]+$ ]] && [ "$uid" -ne 0 ]; }; then
		ok "$short: runs as uid $uid, $want"
	else
		not_ok "$short: runs as uid $want" "id -u: $uid"
	fi

	out=$(run --entrypoint sh "$img" -c '
		for t in gcc cc c99 clang ld as make cpp go pkg-config; do command -v "$t"; done
		dpkg-query -W -f "\${Package}\n" | grep -E -- "-dev$|^(gcc|g\\+\\+|clang|llvm|binutils|cpp)(-[0-9]+)?$"' 2>&1)
	if [ -z "$out" ]; then
		ok "$short: no compiler, build tool or -dev package"
	else
		not_ok "$short: no compiler, build tool or -dev package" "$out"
	fi

	bytes=$("$ctl" image inspect --format '{{.Size}}' "$img" 2>/dev/null || echo 0)
	mb=$((bytes / 1000000))
	if [ "$bytes" -gt 0 ] && [ "$mb" -le "$MAX_MB" ]; then
		ok "$short: $mb MB, within $MAX_MB MB"
	else
		not_ok "$short: $mb MB, within $MAX_MB MB" "a build stage in the runtime image?"
	fi
done

# A container left from an earlier, interrupted run has the same names.
tag=images-t-$$
# The agent first: podman refuses to remove the service while the agent shares its PID
# namespace.
at_exit "$ctl rm -f $tag-agent; $ctl rm -f $tag-recv $tag-svc"

# The agent with what webhook/sidecar.c gives it: uid 0, every capability dropped but
# BPF, PERFMON and SYS_PTRACE, no escalation, a read-only root, in the sample service's
# PID namespace as a sidecar with shareProcessNamespace is. Seccomp unconfined as a
# pod runs by default (podman's default profile refuses bpf() without CAP_SYS_ADMIN).
# What it must do there is read the service's binary (capstone, which it loads only
# then, comes with the image) and trace it.
"$ctl" run -d --name "$tag-svc" --network none "$(name sample-httpsvc)" >/dev/null 2>&1
"$ctl" run -d --name "$tag-agent" --network none --pid "container:$tag-svc" --cap-drop ALL \
	--cap-add BPF --cap-add PERFMON --cap-add SYS_PTRACE --read-only \
	--security-opt no-new-privileges --security-opt seccomp=unconfined \
	"$(name agent)" >/dev/null 2>&1
agent_tracing() { "$ctl" logs "$tag-agent" 2>&1 | grep -q 'tracing pid .*(/usr/local/bin/httpsvc)'; }
if wait_until 60 agent_tracing; then
	ok "agent: traces the service in its PID namespace with CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE only, read-only root"
else
	not_ok "agent: traces the service in its PID namespace with CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE only, read-only root" \
		"$("$ctl" logs "$tag-agent" 2>&1 | tail -n 20)"
fi

# HTTP over bash's /dev/tcp inside the container: the images carry no curl, and
# --network none keeps the host's ports out of it.
http() { # CONTAINER PORT REQUEST...: the response
	"$ctl" exec "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$2"' && printf "%s" "$0" >&3 && cat <&3' \
		"$3" 2>&1
}

# The OTLP receiver with its default command: OTLP/HTTP on 4318 of every address, the
# spans in /var/lib/otlp-receiver/spans.jsonl for kubectl exec to read.
"$ctl" run -d --name "$tag-recv" --network none "$(name otlp-receiver)" >/dev/null 2>&1
span='{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"images-t"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /hello","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}'
req=$(printf 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#span}" "$span")
receiver_took_it() {
	http "$tag-recv" 4318 "$req" | head -n 1 | grep -q ' 200 ' &&
		"$ctl" exec "$tag-recv" cat /var/lib/otlp-receiver/spans.jsonl | grep -q '"name":"GET /hello"'
}
if wait_until 30 receiver_took_it; then
	ok "otlp-receiver: its default command takes a span on :4318 and writes it to its spans file"
else
	not_ok "otlp-receiver: its default command takes a span on :4318 and writes it to its spans file" \
		"$(http "$tag-recv" 4318 "$req"; "$ctl" logs "$tag-recv" 2>&1 | tail -n 5)"
fi

svc_hello() {
	http "$tag-svc" 8080 $'GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		tail -n 1 | grep -qx hello
}
if wait_until 30 svc_hello; then
	ok "sample-httpsvc: its default command answers /hello on :8080"
else
	not_ok "sample-httpsvc: its default command answers /hello on :8080" \
		"$(http "$tag-svc" 8080 $'GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'; "$ctl" logs "$tag-svc" 2>&1 | tail -n 5)"
fi
