/* The controller's writes to the API server: the published ConfigMaps, the removal of
 * those no namespace uses any more, the status subresource, and their count. */
#include "operator/controller_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/kube/api.h"
#include "lib/metrics/registry.h"
#include "operator/publish.h"

void controller_count_write(struct controller *ctl, const char *what)
{
	const char *v[] = { what };

	if (ctl->m_writes)
		metrics_counter_add_labels(ctl->m_writes, v, 1);
}

/* Creates or updates the ConfigMap of `desired` when the cached one differs.
 * 1 when something was written, 0 when it was current, negative on failure. */
int controller_publish_one(struct controller *ctl, const json_t *desired, struct kube_error *err)
{
	const char *ns = kube_obj_namespace(desired), *name = kube_obj_name(desired);
	const json_t *have = kube_informer_get(ctl->configmaps, ns, name);
	struct kube_ref ref = { .res = &KUBE_CONFIGMAPS, .ns = ns };
	json_t *obj;
	int rc;

	const char *rev = json_string_value(json_object_get(
		json_object_get(json_object_get(desired, "metadata"), "annotations"),
		PUBLISH_ANNOTATION_REVISION));
	const char *have_rev = have ? kube_obj_annotation(have, PUBLISH_ANNOTATION_REVISION) : NULL;
	char cm_key[USAGE_KEY_SIZE + 64];
	const char *mine;

	snprintf(cm_key, sizeof(cm_key), "%s/%s", ns, name);
	mine = json_string_value(json_object_get(ctl->published, cm_key));
	/* The cache shows our last write: forget it, the cache is the record again. */
	if (mine && have_rev && strcmp(mine, have_rev) == 0) {
		json_object_del(ctl->published, cm_key);
		mine = NULL;
	}
	if (have && publish_configmap_current(have, desired))
		return 0;
	/* Our own write not in the cache yet: the cache shows nothing or the revision
	 * before it. */
	if (mine && rev && strcmp(mine, rev) == 0 && (!have || !have_rev || strcmp(have_rev, rev) != 0))
		return 0;
	if (!have) {
		rc = kube_create(ctl->client, &ref, desired, NULL, err);
		if (rc != -EEXIST)
			goto done;
		/* Not in our cache (yet, or without our label): take it over. */
	}
	ref.name = name;
	obj = json_deep_copy(desired);
	if (!obj)
		return -ENOMEM;
	if (have && kube_obj_resource_version(have))
		json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion",
				    json_string(kube_obj_resource_version(have)));
	rc = have ? kube_update(ctl->client, &ref, obj, NULL, err)
		  : kube_patch(ctl->client, &ref, KUBE_PATCH_MERGE, obj, NULL, NULL, err);
	json_decref(obj);
done:
	if (rc < 0)
		return rc;
	if (rev)
		json_object_set_new(ctl->published, cm_key, json_string(rev));
	ctl->stats.configmap_writes++;
	controller_count_write(ctl, "configmap");
	return 1;
}

struct stale_scan {
	const char *cm_name, *key, *keep_ns;
	const json_t *wanted; /* object ns → true; NULL: none */
	json_t *doomed;       /* array of namespaces */
};

static void find_stale(void *ud, const json_t *cm)
{
	struct stale_scan *s = ud;
	const char *ns = kube_obj_namespace(cm), *owner = publish_configmap_owner_key(cm);

	if (!ns || !owner || strcmp(owner, s->key) != 0 || strcmp(kube_obj_name(cm), s->cm_name) != 0)
		return;
	if ((s->keep_ns && strcmp(ns, s->keep_ns) == 0) || json_object_get(s->wanted, ns))
		return;
	json_array_append_new(s->doomed, json_string(ns));
}

/* Deletes the ConfigMaps of `key` in namespaces that no longer use it (keep_ns aside:
 * the owned one there goes with its Instrumentation). */
int controller_remove_stale(struct controller *ctl, const char *key, const char *cm_name,
			const char *keep_ns, const json_t *wanted)
{
	struct stale_scan s = { cm_name, key, keep_ns, wanted, json_array() };
	struct kube_error err;
	size_t i;
	json_t *v;
	int rc = 0;

	if (!s.doomed)
		return -ENOMEM;
	kube_informer_foreach(ctl->configmaps, find_stale, &s);
	json_array_foreach(s.doomed, i, v) {
		struct kube_ref ref = { .res = &KUBE_CONFIGMAPS, .ns = json_string_value(v),
					.name = cm_name };
		int r = kube_delete(ctl->client, &ref, NULL, &err);

		if (r == 0) {
			ctl->stats.configmap_deletes++;
			controller_count_write(ctl, "configmap_delete");
		} else if (r != -ENOENT) {
			rc = r;
		}
	}
	json_decref(s.doomed);
	return rc;
}

int controller_write_status(struct controller *ctl, const char *key, const json_t *cr,
			const json_t *status)
{
	struct kube_ref ref = { .res = &KUBE_INSTRUMENTATIONS, .ns = kube_obj_namespace(cr),
				.name = kube_obj_name(cr), .subresource = "status" };
	json_t *patch = json_pack("{s:O}", "status", status);
	struct kube_error err;
	int rc;

	if (!patch)
		return -ENOMEM;
	rc = kube_patch(ctl->client, &ref, KUBE_PATCH_MERGE, patch, NULL, NULL, &err);
	json_decref(patch);
	if (rc == -ENOENT)
		return 0; /* deleted meanwhile */
	if (rc < 0)
		return rc;
	ctl->stats.status_writes++;
	controller_count_write(ctl, "status");
	json_object_set(ctl->written, key, (json_t *)status);
	return 0;
}
