/* A pod's containers as its status names them: metadata.uid and, for each container
 * that has started, its name and the runtime's ID from status.containerStatuses,
 * initContainerStatuses and ephemeralContainerStatuses. With the cgroup of a process
 * (agent/cgroup_container.h) this says which container of which pod the process is.
 *
 * A container restarted gets a new ID; the status shows it a moment after the process
 * runs, so the node agent rereads the status on each pod update and matches again.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_POD_CONTAINERS_H
#define AUTOTRACE_AGENT_POD_CONTAINERS_H

#include <jansson.h>
#include <stddef.h>

#include "agent/cgroup_container.h"
#include "agent/container_id.h"
#include "lib/instrumentation/naming.h"

enum pod_container_kind {
	POD_CONTAINER_APP,
	POD_CONTAINER_INIT,
	POD_CONTAINER_EPHEMERAL,
};

struct pod_container {
	char name[K8S_LABEL_MAX + 1]; /* a container name is a DNS label */
	enum pod_container_kind kind;
	struct container_id id;
};

struct pod_containers {
	char uid[POD_UID_MAX + 1];
	size_t unreadable; /* statuses with a containerID of no form we know (skipped) */
	size_t n;
	struct pod_container items[];
};

/* The containers of pod (a Pod object; borrowed) that have an ID, as a new object the
 * caller free()s: 0; -EINVAL when it has no readable metadata.uid; -ENOMEM. */
int pod_containers_from_json(const json_t *pod, struct pod_containers **ret);

/* The container of pc a process in cgroup c runs in, or NULL (borrowed from pc).
 * Matched on the container ID alone: IDs are unique on a node, and a static pod's
 * cgroup carries the kubelet's UID, not its mirror pod's metadata.uid. */
const struct pod_container *pod_containers_match(const struct pod_containers *pc,
						 const struct cgroup_container *c);

#endif
