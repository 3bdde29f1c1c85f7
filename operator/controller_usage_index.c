/* The controller's usage index: which namespaces use which Instrumentation and how many
 * of its pods run and have a ready agent, rebuilt from the caches when one changed. */
#include "operator/controller_internal.h"

#include <errno.h>

#include "lib/kube/api.h"

static json_t *usage_entry(json_t *usage, const char *key)
{
	json_t *e = json_object_get(usage, key);

	if (!e) {
		e = json_pack("{s:{}, s:I, s:I, s:I}", "ns", "injected", (json_int_t)0, "sidecars",
			      (json_int_t)0, "ready", (json_int_t)0);
		if (!e || json_object_set_new(usage, key, e) < 0)
			return NULL;
	}
	return e;
}

static void index_namespace(void *ud, const json_t *ns_obj)
{
	struct controller *ctl = ud;
	struct usage_lookup l = lookup_of(ctl);
	char key[USAGE_KEY_SIZE];
	json_t *e;

	if (usage_namespace_target(ns_obj, &l, key, sizeof(key)) == 0 &&
	    (e = usage_entry(ctl->usage, key)))
		json_object_set_new(json_object_get(e, "ns"), kube_obj_name(ns_obj), json_true());
}

static void bump(json_t *e, const char *field)
{
	json_integer_set(json_object_get(e, field),
			 json_integer_value(json_object_get(e, field)) + 1);
}

static void index_pod(void *ud, const json_t *pod)
{
	struct controller *ctl = ud;
	struct usage_lookup l = lookup_of(ctl);
	const char *ns = usage_pod_namespace(pod);
	char key[USAGE_KEY_SIZE];
	json_t *e;

	if (!ns || usage_pod_target(pod, kube_informer_get(ctl->namespaces, NULL, ns), &l, key,
				    sizeof(key)) < 0 ||
	    !(e = usage_entry(ctl->usage, key)))
		return;
	json_object_set_new(json_object_get(e, "ns"), ns, json_true());
	if (!usage_pod_running(pod))
		return;
	bump(e, "injected");
	if (usage_pod_has_sidecar(pod))
		bump(e, "sidecars");
	if (usage_pod_agent_ready(pod))
		bump(e, "ready");
}

int controller_usage_refresh(struct controller *ctl)
{
	if (!ctl->usage_dirty && ctl->usage)
		return 0;
	json_decref(ctl->usage);
	json_object_clear(ctl->singles);
	ctl->usage = json_object();
	if (!ctl->usage)
		return -ENOMEM;
	kube_informer_foreach(ctl->insts, rebuild_singles_one, ctl);
	kube_informer_foreach(ctl->namespaces, index_namespace, ctl);
	kube_informer_foreach(ctl->pods, index_pod, ctl);
	ctl->usage_dirty = 0;
	return 0;
}
