#include "operator/controller_internal.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "lib/kube/api.h"
#include "operator/publish.h"

/* ---- the work queue's keys from events ------------------------------------------ */

static const char *single_instrumentation(void *ud, const char *ns)
{
	struct controller *ctl = ud;
	const char *n = json_string_value(json_object_get(ctl->singles, ns));

	return n && *n ? n : NULL;
}

void rebuild_singles_one(void *ud, const json_t *obj)
{
	struct controller *ctl = ud;
	const char *ns = kube_obj_namespace(obj), *name = kube_obj_name(obj);

	if (!ns || !name)
		return;
	if (json_object_get(ctl->singles, ns))
		json_object_set_new(ctl->singles, ns, json_string(""));
	else
		json_object_set_new(ctl->singles, ns, json_string(name));
}

struct usage_lookup lookup_of(struct controller *ctl)
{
	return (struct usage_lookup){ .single_instrumentation = single_instrumentation,
				      .ud = ctl };
}

static void enqueue(struct controller *ctl, const char *key, long delay_ms)
{
	if (!key || !ctl->leading)
		return;
	if (delay_ms > 0)
		workqueue_add_after(ctl->queue, key, delay_ms);
	else
		workqueue_add(ctl->queue, key);
}

static void enqueue_namespace_target(struct controller *ctl, const json_t *ns_obj)
{
	struct usage_lookup l = lookup_of(ctl);
	char key[USAGE_KEY_SIZE];

	if (ns_obj && usage_namespace_target(ns_obj, &l, key, sizeof(key)) == 0)
		enqueue(ctl, key, 0);
}

static void enqueue_pod_target(struct controller *ctl, const json_t *pod)
{
	struct usage_lookup l = lookup_of(ctl);
	const char *ns = usage_pod_namespace(pod);
	const json_t *ns_obj = ns ? kube_informer_get(ctl->namespaces, NULL, ns) : NULL;
	char key[USAGE_KEY_SIZE];

	if (pod && usage_pod_target(pod, ns_obj, &l, key, sizeof(key)) == 0)
		enqueue(ctl, key, ctl->opts.status_delay_ms);
}

void enqueue_object(struct controller *ctl, const json_t *obj)
{
	char key[USAGE_KEY_SIZE];

	if (kube_obj_namespace(obj) && kube_obj_name(obj) &&
	    snprintf(key, sizeof(key), "%s/%s", kube_obj_namespace(obj), kube_obj_name(obj)) <
		    (int)sizeof(key))
		enqueue(ctl, key, 0);
}

struct same_ns {
	struct controller *ctl;
	const char *ns;
};

static void enqueue_if_same_ns(void *ud, const json_t *obj)
{
	struct same_ns *s = ud;
	const char *ns = kube_obj_namespace(obj);

	if (ns && strcmp(ns, s->ns) == 0)
		enqueue_object(s->ctl, obj);
}

/* An Instrumentation came or went: "true" in its namespace may now mean another one. */
void inst_added_or_deleted(void *ud, const json_t *obj)
{
	struct controller *ctl = ud;
	struct same_ns s = { ctl, kube_obj_namespace(obj) };

	ctl->usage_dirty = 1;
	enqueue_object(ctl, obj);
	if (s.ns)
		kube_informer_foreach(ctl->insts, enqueue_if_same_ns, &s);
}

void inst_updated(void *ud, const json_t *old_obj, const json_t *obj)
{
	enqueue_object(ud, obj);
}

void ns_added(void *ud, const json_t *obj)
{
	struct controller *ctl = ud;

	ctl->usage_dirty = 1;
	enqueue_namespace_target(ctl, obj);
	controller_namespace_label_check(ctl, obj);
}

void ns_deleted(void *ud, const json_t *obj)
{
	struct controller *ctl = ud;

	ctl->usage_dirty = 1;
	enqueue_namespace_target(ctl, obj);
	controller_namespace_label_forget(ctl, obj);
}

void ns_updated(void *ud, const json_t *old_obj, const json_t *obj)
{
	struct controller *ctl = ud;
	const json_t *oa = json_object_get(json_object_get(old_obj, "metadata"), "annotations");
	const json_t *na = json_object_get(json_object_get(obj, "metadata"), "annotations");

	/* Also on a change of the label alone: one taken off by hand is put back. */
	controller_namespace_label_check(ctl, obj);
	if (json_equal(oa, na) && old_obj != obj)
		return;
	ctl->usage_dirty = 1;
	enqueue_namespace_target(ctl, old_obj);
	enqueue_namespace_target(ctl, obj);
}

void pod_added(void *ud, const json_t *obj)
{
	struct controller *ctl = ud;

	ctl->usage_dirty = 1;
	enqueue_pod_target(ctl, obj);
}

void pod_updated(void *ud, const json_t *old_obj, const json_t *obj)
{
	struct controller *ctl = ud;

	ctl->usage_dirty = 1;
	enqueue_pod_target(ctl, old_obj);
	enqueue_pod_target(ctl, obj);
}

static void cm_changed(void *ud, const json_t *obj)
{
	struct controller *ctl = ud;

	enqueue(ctl, publish_configmap_owner_key(obj), 0);
}

void cm_deleted(void *ud, const json_t *obj)
{
	struct controller *ctl = ud;
	char cm_key[USAGE_KEY_SIZE + 64];

	if (kube_obj_namespace(obj) && kube_obj_name(obj)) {
		snprintf(cm_key, sizeof(cm_key), "%s/%s", kube_obj_namespace(obj), kube_obj_name(obj));
		json_object_del(ctl->published, cm_key);
	}
	cm_changed(ud, obj);
}

/* The first lists of a large cluster leave megabytes of response buffers freed but
 * held by the allocator; hand them back once every cache is complete. */
void informer_synced(void *ud)
{
	struct controller *ctl = ud;

	if (controller_synced(ctl))
		malloc_trim(0);
}

void cm_updated(void *ud, const json_t *old_obj, const json_t *obj)
{
	if (!json_equal(json_object_get(old_obj, "data"), json_object_get(obj, "data")))
		cm_changed(ud, obj);
}

