#include "operator/usage.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/instrumentation/optin.h"

static const json_t *annotations_of(const json_t *obj)
{
	return json_object_get(json_object_get(obj, "metadata"), "annotations");
}

static const char *name_of(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

static const char *namespace_of(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
}

static int key_of(const char *ns, const char *name, char *ret_key, size_t size)
{
	int n;

	if (!ns || !name || !k8s_is_dns1123_label(ns) || !k8s_is_dns1123_subdomain(name))
		return -ENOENT;
	n = snprintf(ret_key, size, "%s/%s", ns, name);
	return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

/* The key an opt-in decision names, for a pod or namespace in `ns`. */
static int target_of(const struct optin *o, const char *ns, const struct usage_lookup *lookup,
		     char *ret_key, size_t size)
{
	switch (o->kind) {
	case OPTIN_NAMED:
		return key_of(o->ns, o->name, ret_key, size);
	case OPTIN_SINGLE:
		if (!lookup || !lookup->single_instrumentation)
			return -ENOENT;
		return key_of(ns, lookup->single_instrumentation(lookup->ud, ns), ret_key, size);
	default:
		return -ENOENT;
	}
}

int usage_namespace_target(const json_t *ns_obj, const struct usage_lookup *lookup,
			   char *ret_key, size_t size)
{
	const char *ns = name_of(ns_obj);
	struct optin o;

	if (!ns)
		return -ENOENT;
	optin_decide(NULL, annotations_of(ns_obj), ns, &o);
	return target_of(&o, ns, lookup, ret_key, size);
}

int usage_pod_target(const json_t *pod, const json_t *ns_obj, const struct usage_lookup *lookup,
		     char *ret_key, size_t size)
{
	const json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
	const char *ns = namespace_of(pod), *recorded;
	char rns[K8S_LABEL_MAX + 1], rname[K8S_SUBDOMAIN_MAX + 1];
	struct optin o;

	if (!ns || !json_is_string(json_object_get(labels, POD_LABEL_INJECTED)) ||
	    strcmp(json_string_value(json_object_get(labels, POD_LABEL_INJECTED)), "true") != 0)
		return -ENOENT;
	recorded = json_string_value(json_object_get(annotations_of(pod),
						     POD_ANNOTATION_INSTRUMENTATION));
	if (recorded && usage_key_split(recorded, rns, rname) == 0)
		return key_of(rns, rname, ret_key, size);
	optin_decide(annotations_of(pod), annotations_of(ns_obj), ns, &o);
	return target_of(&o, ns, lookup, ret_key, size);
}

static int ready_in(const json_t *statuses)
{
	size_t i;
	const json_t *st;

	json_array_foreach(statuses, i, st) {
		const char *n = json_string_value(json_object_get(st, "name"));

		if (n && strcmp(n, AGENT_CONTAINER_NAME) == 0)
			return json_is_true(json_object_get(st, "ready")) ? 1 : 0;
	}
	return -1;
}

int usage_pod_agent_ready(const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	int r;

	if (!usage_pod_running(pod))
		return 0;
	r = ready_in(json_object_get(status, "initContainerStatuses"));
	if (r < 0)
		r = ready_in(json_object_get(status, "containerStatuses"));
	return r > 0;
}

int usage_pod_running(const json_t *pod)
{
	const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));

	if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
		return 0;
	return !phase || (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0);
}

int usage_key_split(const char *key, char *ret_ns, char *ret_name)
{
	const char *slash = key ? strchr(key, '/') : NULL;
	size_t nl;

	if (!slash)
		return -EINVAL;
	nl = (size_t)(slash - key);
	if (nl == 0 || nl > K8S_LABEL_MAX || strlen(slash + 1) > K8S_SUBDOMAIN_MAX)
		return -EINVAL;
	memcpy(ret_ns, key, nl);
	ret_ns[nl] = '\0';
	if (!k8s_is_dns1123_label(ret_ns) || !k8s_is_dns1123_subdomain(slash + 1))
		return -EINVAL;
	memcpy(ret_name, slash + 1, strlen(slash + 1) + 1);
	return 0;
}

/* Deletes every key of obj not in keep (NULL-terminated). */
static void keep_only(json_t *obj, const char *const *keep)
{
	const char *k;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, k, v) {
		size_t i;

		for (i = 0; keep[i]; i++)
			if (strcmp(k, keep[i]) == 0)
				break;
		if (!keep[i])
			json_object_del(obj, k);
	}
}

static const char *const kept_annotations[] = {
	ANNOTATION_INJECT, ANNOTATION_OTEL_INJECT_GO, POD_ANNOTATION_INSTRUMENTATION, NULL,
};

static void trim_metadata(json_t *meta)
{
	static const char *const keep[] = { "name",	   "namespace", "resourceVersion",
					    "uid",	   "labels",	"annotations",
					    "deletionTimestamp", NULL };
	static const char *const labels[] = { POD_LABEL_INJECTED, NULL };

	keep_only(meta, keep);
	if (json_object_get(meta, "labels"))
		keep_only(json_object_get(meta, "labels"), labels);
	if (json_object_get(meta, "annotations"))
		keep_only(json_object_get(meta, "annotations"), kept_annotations);
}

/* Keeps {name, ready} of the agent's entry only. */
static void trim_statuses(json_t *statuses)
{
	static const char *const keep[] = { "name", "ready", NULL };
	size_t i = 0;

	while (i < json_array_size(statuses)) {
		json_t *st = json_array_get(statuses, i);
		const char *n = json_string_value(json_object_get(st, "name"));

		if (!n || strcmp(n, AGENT_CONTAINER_NAME) != 0) {
			json_array_remove(statuses, i);
			continue;
		}
		keep_only(st, keep);
		i++;
	}
}

void usage_trim_pod(json_t *pod)
{
	static const char *const top[] = { "metadata", "status", NULL };
	static const char *const status[] = { "phase", "initContainerStatuses",
					      "containerStatuses", NULL };
	json_t *st;

	if (!json_is_object(pod))
		return;
	keep_only(pod, top);
	trim_metadata(json_object_get(pod, "metadata"));
	st = json_object_get(pod, "status");
	if (!json_is_object(st))
		return;
	keep_only(st, status);
	trim_statuses(json_object_get(st, "initContainerStatuses"));
	trim_statuses(json_object_get(st, "containerStatuses"));
}

void usage_trim_namespace(json_t *ns)
{
	static const char *const top[] = { "metadata", NULL };

	if (!json_is_object(ns))
		return;
	keep_only(ns, top);
	trim_metadata(json_object_get(ns, "metadata"));
}
