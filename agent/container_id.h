/* Container IDs and pod UIDs as the kubelet and the container runtimes spell them: the
 * "<runtime>://<id>" of a pod's status.containerStatuses[].containerID, and the checks
 * that the cgroup-path parser shares with it (the two must agree on what an ID is, or
 * a process would never match its container).
 *
 * containerd, CRI-O and Docker (cri-dockerd) all name a container by 64 lowercase hex
 * digits (a SHA-256), so an ID is accepted only in that form.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_CONTAINER_ID_H
#define AUTOTRACE_AGENT_CONTAINER_ID_H

#include <stdbool.h>
#include <stddef.h>

#define CONTAINER_ID_LEN 64
/* A UID as the API server makes it (8-4-4-4-12 hex), or a static pod's UID, which the
 * kubelet derives from a hash of its manifest: 32 hex digits, no dashes. */
#define POD_UID_MAX 36

enum container_runtime {
	CONTAINER_RUNTIME_UNKNOWN, /* a cgroupfs path names no runtime, only the ID */
	CONTAINER_RUNTIME_CONTAINERD,
	CONTAINER_RUNTIME_CRIO,
	CONTAINER_RUNTIME_DOCKER,
};

struct container_id {
	enum container_runtime runtime;
	char id[CONTAINER_ID_LEN + 1];
};

/* "containerd://<id>", "cri-o://<id>" or "docker://<id>" (s is NUL-terminated) into
 * *ret: 0, -EINVAL for any other scheme or an ID that is not 64 lowercase hex digits,
 * -ENOENT for "" (a container that has not started yet has no ID). */
int container_id_parse(const char *s, struct container_id *ret);

/* The scheme of a containerID ("containerd", "cri-o", "docker"; "unknown"). */
const char *container_runtime_name(enum container_runtime rt);

/* Whether the len bytes at s are a container ID (64 lowercase hex digits). */
bool container_id_is_valid(const char *s, size_t len);

/* Whether the len bytes at s are a pod UID: 8-4-4-4-12 hex digits with sep ('-' in the
 * API, '_' in systemd unit names, which reserve '-' as their hierarchy separator), or
 * 32 hex digits (a static pod). Writes the UID with dashes, NUL-terminated, to
 * ret_uid (POD_UID_MAX + 1 bytes) on success. */
bool pod_uid_normalize(const char *s, size_t len, char sep, char ret_uid[POD_UID_MAX + 1]);

#endif
