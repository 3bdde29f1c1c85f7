/* Which pod and which of its containers a process belongs to, read from the content of
 * its /proc/<pid>/cgroup, as the kubelet and the runtimes lay cgroups out:
 *
 *   cgroupfs driver  .../kubepods[/burstable|/besteffort]/pod<uid>/<id>
 *                    .../pod<uid>/crio-<id>                    (CRI-O)
 *   systemd driver   .../kubepods[-<qos>]-pod<uid_with_underscores>.slice/
 *                         cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
 *
 * under any prefix: a custom cgroupRoot, kind's /kubelet.slice/kubelet-kubepods.slice
 * inside a node container that has its own /docker/<id> or libpod-<id>.scope, and the
 * "/../.." a reader in another cgroup namespace sees. The innermost pod cgroup
 * decides (kind nests a node's pods in a container that may itself be a pod's); the
 * container is the cgroup just below it, so a process that made sub-cgroups of its
 * container still counts as the container's. A process in the pod's cgroup but in no
 * container's (CRI-O's conmon, crio-conmon-<id>.scope) belongs to none.
 *
 * Files: cgroup v2 has one line "0::<path>"; v1 has one "<n>:<controllers>:<path>" per
 * hierarchy (hybrid hosts both). The v2 line is read first, then the v1 lines in
 * order; the first that names a pod's container wins.
 *
 * Pure: no I/O, so the parser is fuzzed on bytes. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_CGROUP_CONTAINER_H
#define AUTOTRACE_AGENT_CGROUP_CONTAINER_H

#include <stddef.h>

#include "agent/container_id.h"

enum cgroup_driver {
	CGROUP_DRIVER_CGROUPFS,
	CGROUP_DRIVER_SYSTEMD,
};

struct cgroup_container {
	char pod_uid[POD_UID_MAX + 1]; /* with dashes, as metadata.uid has it */
	/* The runtime as the path names it: UNKNOWN for a bare ID (containerd and Docker
	 * under the cgroupfs driver write the same path). */
	struct container_id container;
	enum cgroup_driver driver;
	int cgroup_version; /* 2 when found on the "0::" line, else 1 */
};

/* The container of a process from its cgroup file's len bytes (need not be
 * NUL-terminated): 0 and *ret written; -ENOENT when no line names a pod's container;
 * -EINVAL when no line has the "<n>:<controllers>:/<path>" form. */
int cgroup_container_parse(const char *text, size_t len, struct cgroup_container *ret);

/* The same for one cgroup path (len bytes, from the line's third field). */
int cgroup_path_container(const char *path, size_t len, struct cgroup_container *ret);

#endif
