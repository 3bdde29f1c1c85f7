#include "agent/pod_containers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *field;
	enum pod_container_kind kind;
} status_lists[] = {
	{ "containerStatuses", POD_CONTAINER_APP },
	{ "initContainerStatuses", POD_CONTAINER_INIT },
	{ "ephemeralContainerStatuses", POD_CONTAINER_EPHEMERAL },
};

#define N_LISTS (sizeof(status_lists) / sizeof(status_lists[0]))

static void add_statuses(struct pod_containers *pc, const json_t *list, enum pod_container_kind kind)
{
	size_t i;
	const json_t *st;

	json_array_foreach(list, i, st) {
		const char *name = json_string_value(json_object_get(st, "name"));
		const char *id = json_string_value(json_object_get(st, "containerID"));
		struct pod_container *c = &pc->items[pc->n];
		size_t len = name ? strlen(name) : 0;

		if (!id || !*id)
			continue; /* not started yet: nothing runs to map */
		if (!len || len > K8S_LABEL_MAX || container_id_parse(id, &c->id)) {
			pc->unreadable++;
			continue;
		}
		memcpy(c->name, name, len + 1);
		c->kind = kind;
		pc->n++;
	}
}

int pod_containers_from_json(const json_t *pod, struct pod_containers **ret)
{
	const json_t *status = json_object_get(pod, "status"), *lists[N_LISTS];
	const char *uid = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
	struct pod_containers *pc;
	size_t total = 0;

	if (!uid)
		return -EINVAL;
	for (size_t l = 0; l < N_LISTS; l++) {
		lists[l] = json_object_get(status, status_lists[l].field);
		total += json_array_size(lists[l]); /* 0 when absent or not an array */
	}
	pc = calloc(1, sizeof(*pc) + total * sizeof(pc->items[0]));
	if (!pc)
		return -ENOMEM;
	if (!pod_uid_normalize(uid, strlen(uid), '-', pc->uid)) {
		free(pc);
		return -EINVAL;
	}
	for (size_t l = 0; l < N_LISTS; l++)
		add_statuses(pc, lists[l], status_lists[l].kind);
	*ret = pc;
	return 0;
}

const struct pod_container *pod_containers_match(const struct pod_containers *pc,
						 const struct cgroup_container *c)
{
	for (size_t i = 0; i < pc->n; i++)
		if (strcmp(pc->items[i].id.id, c->container.id) == 0)
			return &pc->items[i];
	return NULL;
}
