#include "lib/instrumentation/workload.h"

#include <stdio.h>
#include <string.h>

/* The controller owner reference, or the first one. Borrowed. */
static const json_t *owner_of(const json_t *pod)
{
	const json_t *refs = json_object_get(json_object_get(pod, "metadata"), "ownerReferences");

	for (size_t i = 0; i < json_array_size(refs); i++)
		if (json_is_true(json_object_get(json_array_get(refs, i), "controller")))
			return json_array_get(refs, i);
	return json_array_get(refs, 0);
}

static void copy_name(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

void workload_from_pod(const json_t *pod, struct workload *ret)
{
	struct workload w = { 0 };
	const json_t *owner = owner_of(pod);
	const char *kind = json_string_value(json_object_get(owner, "kind"));
	const char *name = json_string_value(json_object_get(owner, "name"));
	const json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
	const char *hash = json_string_value(json_object_get(labels, "pod-template-hash"));
	size_t n;

	if (!kind || !name || !k8s_is_dns1123_subdomain(name)) {
		*ret = w;
		return;
	}
	n = strlen(name);
	if (strcmp(kind, "ReplicaSet") == 0) {
		copy_name(w.replicaset, sizeof(w.replicaset), name, n);
		if (hash && hash[0]) {
			size_t h = strlen(hash);

			if (n > h + 1 && name[n - h - 1] == '-' && strcmp(name + n - h, hash) == 0)
				copy_name(w.deployment, sizeof(w.deployment), name, n - h - 1);
		}
	} else if (strcmp(kind, "StatefulSet") == 0) {
		copy_name(w.statefulset, sizeof(w.statefulset), name, n);
	} else if (strcmp(kind, "DaemonSet") == 0) {
		copy_name(w.daemonset, sizeof(w.daemonset), name, n);
	} else if (strcmp(kind, "Job") == 0) {
		size_t digits = 0;

		copy_name(w.job, sizeof(w.job), name, n);
		while (digits < n && name[n - 1 - digits] >= '0' && name[n - 1 - digits] <= '9')
			digits++;
		if (digits >= 8 && n > digits + 1 && name[n - digits - 1] == '-')
			copy_name(w.cronjob, sizeof(w.cronjob), name, n - digits - 1);
	}
	*ret = w;
}

const char *workload_top_name(const struct workload *w)
{
	const char *order[] = { w->deployment, w->statefulset, w->daemonset,
				w->cronjob,    w->job,	       w->replicaset };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (order[i][0])
			return order[i];
	return NULL;
}

static const char *nonempty_string(const json_t *v)
{
	const char *s = json_string_value(v);

	return s && s[0] ? s : NULL;
}

const char *workload_service_name(const json_t *pod, const struct workload *w)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *s;

	if ((s = nonempty_string(json_object_get(json_object_get(meta, "annotations"),
						  ANNOTATION_OTEL_SERVICE_NAME))))
		return s;
	if ((s = nonempty_string(json_object_get(json_object_get(meta, "labels"),
						  LABEL_APP_NAME))))
		return s;
	if ((s = workload_top_name(w)))
		return s;
	return nonempty_string(json_object_get(meta, "name"));
}
