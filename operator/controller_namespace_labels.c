/* The label LABEL_INJECT_ENABLED kept in step with each namespace's opt-in annotation
 * (operator/namespace_label.h decides, this file writes): a queue of namespace names
 * of its own, fed by the Namespace informer while leading, one merge patch per
 * namespace whose label differs from what its annotations say, none otherwise. */
#include "operator/controller_internal.h"

#include <errno.h>
#include <string.h>

#include "lib/instrumentation/optin.h"
#include "lib/kube/api.h"
#include "lib/log/log.h"
#include "lib/metrics/registry.h"
#include "operator/namespace_label.h"

/* Our last write to `name`'s label, until the cache shows it: "true", or JSON null for
 * a removal. Borrowed; NULL when none is pending. */
static const json_t *pending_write(struct controller *ctl, const json_t *ns, const char *name)
{
	const json_t *mine = json_object_get(ctl->ns_labels_written, name);
	const char *have = kube_obj_label(ns, LABEL_INJECT_ENABLED);

	if (!mine)
		return NULL;
	/* The cache shows it: the cache is the record again. */
	if (json_is_null(mine) ? !have : (have && strcmp(have, json_string_value(mine)) == 0)) {
		json_object_del(ctl->ns_labels_written, name);
		return NULL;
	}
	return mine;
}

/* 1 when the change `ns` needs is not the one we wrote last and the cache lags
 * behind (a write of ours on its way would be repeated). */
static int needs_write(struct controller *ctl, const json_t *ns, const char *name,
		       enum namespace_label_change change)
{
	const json_t *mine = pending_write(ctl, ns, name);
	const char *want = namespace_label_value(change);

	if (change == NAMESPACE_LABEL_KEEP)
		return 0;
	if (mine && (json_is_null(mine) ? !want : (want && strcmp(want, json_string_value(mine)) == 0)))
		return 0;
	return 1;
}

void controller_namespace_label_check(struct controller *ctl, const json_t *ns)
{
	const char *name = kube_obj_name(ns);

	if (!ctl->leading || !name)
		return;
	if (needs_write(ctl, ns, name, namespace_label_change(ns)))
		workqueue_add(ctl->ns_queue, name);
}

void controller_namespace_label_forget(struct controller *ctl, const json_t *ns)
{
	const char *name = kube_obj_name(ns);

	if (name)
		json_object_del(ctl->ns_labels_written, name);
}

static void check_one(void *ud, const json_t *ns)
{
	controller_namespace_label_check(ud, ns);
}

void controller_namespace_label_check_all(struct controller *ctl)
{
	kube_informer_foreach(ctl->namespaces, check_one, ctl);
}

int controller_namespace_label_reconcile(void *ud, const char *name)
{
	struct controller *ctl = ud;
	struct kube_ref ref = { .res = &KUBE_NAMESPACES, .name = name };
	const json_t *ns;
	enum namespace_label_change change;
	struct kube_error err;
	json_t *patch;
	char buf[600];
	int rc;

	if (!ctl->leading)
		return 0;
	/* Decided on the cache as it is now, not as it was when the name was queued. */
	ns = kube_informer_get(ctl->namespaces, NULL, name);
	if (!ns)
		return 0;
	change = namespace_label_change(ns);
	if (!needs_write(ctl, ns, name, change))
		return 0;
	if (!(patch = namespace_label_patch_new(change)))
		return -ENOMEM;
	rc = kube_patch(ctl->client, &ref, KUBE_PATCH_MERGE, patch, NULL, NULL, &err);
	json_decref(patch);
	if (rc == -ENOENT)
		return 0; /* deleted meanwhile */
	if (rc < 0) {
		log_warn("operator", "namespace %s: label %s: %s", name, LABEL_INJECT_ENABLED,
			 kube_error_format(&err, buf, sizeof(buf)));
		return rc; /* retried with backoff */
	}
	const char *value = namespace_label_value(change);
	json_object_set_new(ctl->ns_labels_written, name, value ? json_string(value) : json_null());
	ctl->stats.namespace_label_writes++;
	controller_count_write(ctl, "namespace_label");
	if (ctl->m_ns_label_writes) {
		const char *v[] = { change == NAMESPACE_LABEL_SET ? "set" : "remove" };
		metrics_counter_add_labels(ctl->m_ns_label_writes, v, 1);
	}
	log_info("operator", "namespace %s: label %s %s", name, LABEL_INJECT_ENABLED,
		 change == NAMESPACE_LABEL_SET ? "set" : "removed");
	return 0;
}
