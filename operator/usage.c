#include "operator/usage.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/instrumentation/optin.h"
#include "operator/pod_summary.h"

static const json_t *annotations_of(const json_t *obj)
{
	return json_object_get(json_object_get(obj, "metadata"), "annotations");
}

static const char *name_of(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
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

int usage_pod_target(const json_t *summary, const json_t *ns_obj,
		     const struct usage_lookup *lookup, char *ret_key, size_t size)
{
	char rns[K8S_LABEL_MAX + 1], rname[K8S_SUBDOMAIN_MAX + 1];
	struct pod_summary p;
	struct optin o;

	if (pod_summary_unpack(summary, &p) < 0 || !p.injected)
		return -ENOENT;
	if (p.recorded[0] && usage_key_split(p.recorded, rns, rname) == 0)
		return key_of(rns, rname, ret_key, size);
	optin_decide_values(p.inject, p.inject_otel, annotations_of(ns_obj), p.ns, &o);
	return target_of(&o, p.ns, lookup, ret_key, size);
}

int usage_pod_agent_ready(const json_t *summary)
{
	struct pod_summary p;

	return pod_summary_unpack(summary, &p) == 0 && p.running && p.agent_ready;
}

int usage_pod_has_sidecar(const json_t *summary)
{
	struct pod_summary p;

	return pod_summary_unpack(summary, &p) == 0 && p.sidecar;
}

int usage_pod_running(const json_t *summary)
{
	struct pod_summary p;

	return pod_summary_unpack(summary, &p) == 0 && p.running;
}

const char *usage_pod_namespace(const json_t *summary)
{
	struct pod_summary p;

	return pod_summary_unpack(summary, &p) == 0 ? p.ns : NULL;
}

json_t *usage_pod_summary(void *ud, const json_t *pod)
{
	(void)ud;
	return pod_summary_pack(pod);
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
