/* What the controller's files share: the controller itself, and the functions each of
 * its files (operator/controller_*.c) gives the others. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OPERATOR_CONTROLLER_INTERNAL_H
#define AUTOTRACE_OPERATOR_CONTROLLER_INTERNAL_H

#include <jansson.h>

#include "lib/kube/error.h"
#include "lib/kube/informer.h"
#include "lib/kube/workqueue.h"
#include "operator/agent_fold.h"
#include "operator/controller.h"
#include "operator/usage.h"

struct controller {
	struct kube_client *client;
	struct event_base *base;
	struct controller_opts opts;
	struct kube_informer *insts, *namespaces, *configmaps, *pods;
	/* AgentReports, trimmed (operator/agent_report.h); NULL when the API server does
	 * not serve them (the CRD not installed, e.g. after a helm upgrade, which never
	 * installs new CRDs): the status then counts sidecars from their pods alone. */
	struct kube_informer *reports;
	/* The cached reports by the Instrumentation they name: {"ns/name": [report, ...]},
	 * rebuilt from the cache when it changed since. */
	json_t *reports_by_key;
	int reports_dirty;
	struct workqueue *queue;
	/* Namespaces whose label LABEL_INJECT_ENABLED differs from their annotations
	 * (keys: namespace names), apart from the Instrumentations' queue: a label write
	 * has no Instrumentation to be keyed by. */
	struct workqueue *ns_queue;
	int leading;

	/* Which namespaces use which Instrumentation, and its pod counts:
	 * {"ns/name": {"ns": {namespace: true}, "injected": n, "sidecars": n, "ready": n}}, rebuilt from
	 * the caches when one of them changed since. */
	json_t *usage;
	int usage_dirty;
	/* Per namespace, the name of its only Instrumentation ("" when several). */
	json_t *singles;
	/* The status last written per key, so a cache that lags behind our own write
	 * does not make us write it again. */
	json_t *written;
	/* The revision last written per ConfigMap ("ns/name"), so a reconcile that runs
	 * before the ConfigMap cache shows our own write does not write it again. */
	json_t *published;
	/* The label value last written per namespace ("true", or null: removed), until
	 * the Namespace cache shows it. */
	json_t *ns_labels_written;
	/* The uid of each ConfigMap ("ns/name") whose report binding exists, so that it is
	 * created once per ConfigMap and operator run. */
	json_t *bound;

	struct controller_stats stats;
	struct metrics_counter *m_reconciles;
	struct metrics_histogram *m_duration;
	struct metrics_counter *m_writes;
	struct metrics_counter *m_ns_label_writes;
};

/* Informer handlers: every change that can alter an Instrumentation's outcome queues
 * that Instrumentation's key. */
void inst_added_or_deleted(void *ud, const json_t *obj);
void inst_updated(void *ud, const json_t *old_obj, const json_t *obj);
void ns_added(void *ud, const json_t *obj);
void ns_updated(void *ud, const json_t *old_obj, const json_t *obj);
void ns_deleted(void *ud, const json_t *obj);
void pod_added(void *ud, const json_t *obj);
void pod_updated(void *ud, const json_t *old_obj, const json_t *obj);
void cm_updated(void *ud, const json_t *old_obj, const json_t *obj);
void cm_deleted(void *ud, const json_t *obj);
void informer_synced(void *ud);

/* Queues the Instrumentation `obj` names (an Instrumentation itself). */
void enqueue_object(struct controller *ctl, const json_t *obj);
/* The usage rule's view of the caches. */
struct usage_lookup lookup_of(struct controller *ctl);
/* Rebuilds the per-namespace single-Instrumentation index, one cached Instrumentation
 * at a time. */
void rebuild_singles_one(void *ud, const json_t *obj);

/* operator/controller_reconcile.c: the work queue's callback, one reconcile of the
 * Instrumentation "<ns>/<name>" `key`. */
int controller_reconcile(void *ud, const char *key);

/* operator/controller_reports.c. Informer handlers for AgentReports: a change of what
 * the fold reads queues the Instrumentations the report names (old and new). */
void report_added_or_deleted(void *ud, const json_t *obj);
void report_updated(void *ud, const json_t *old_obj, const json_t *obj);
/* Is the AgentReport resource served? 1 yes, 0 no (404, or not in the group's list);
 * a failure to ask counts as yes (the informer retries until it is). */
int controller_reports_served(struct controller *ctl);
/* The agents of Instrumentation `key` (its usage entry `entry`, borrowed) at the
 * current time, for its latest revision `revision` (NULL: none); when a report goes
 * stale later, the key is queued again for then. */
int controller_fold_agents(struct controller *ctl, const char *key, const json_t *entry,
			   const char *revision, struct agent_fold *ret);

/* operator/controller_usage_index.c: rebuilds ctl->usage (and ctl->singles) from the
 * caches when one of them changed since the last time. */
int controller_usage_refresh(struct controller *ctl);

/* operator/controller_secrets.c. Where a reconcile reads Secrets: the
 * Instrumentation's namespace. */
struct secret_scope {
	struct controller *ctl;
	const char *ns;
};
/* The agent config renderer's secret_value callback (ud: a struct secret_scope):
 * the text of `key` in Secret `secret`. *ret_value: a new string the caller frees.
 * -ENOENT when the Secret or the key is missing, -EINVAL when the value is not text. */
int controller_secret_value(void *ud, const char *secret, const char *key, char **ret_value);

/* operator/controller_writes.c. Counts one write of kind `what` in the metrics. */
void controller_count_write(struct controller *ctl, const char *what);
/* Creates or updates the ConfigMap `desired` when the cached one differs: 1 when
 * something was written, 0 when it was current. err: the API's answer on failure. */
int controller_publish_one(struct controller *ctl, const json_t *desired, struct kube_error *err);
/* The report binding of the cached ConfigMap `cm_name` in `ns`, created when missing
 * (operator/report_binding.h). 0 also when the cache does not show the ConfigMap yet
 * (its arrival queues the Instrumentation again). */
int controller_bind_reports(struct controller *ctl, const char *ns, const char *cm_name,
			    struct kube_error *err);
/* Deletes the ConfigMaps `cm_name` of Instrumentation `key` in namespaces not in
 * `wanted` (object ns → true, or NULL), keep_ns aside. */
int controller_remove_stale(struct controller *ctl, const char *key, const char *cm_name,
			    const char *keep_ns, const json_t *wanted);
/* Patches the status subresource of `cr` (borrowed) and remembers it as written. */
int controller_write_status(struct controller *ctl, const char *key, const json_t *cr,
			    const json_t *status);

/* operator/controller_namespace_labels.c. While leading, queues the namespace `ns`
 * (a cached one) when its label LABEL_INJECT_ENABLED needs a write. */
void controller_namespace_label_check(struct controller *ctl, const json_t *ns);
/* The same for every cached namespace (on taking the lead). */
void controller_namespace_label_check_all(struct controller *ctl);
/* A namespace deleted: forgets the write pending for it. */
void controller_namespace_label_forget(struct controller *ctl, const json_t *ns);
/* The namespace queue's callback: one merge patch of the label of namespace `name`
 * when the cache shows it differs from its annotations, nothing otherwise. */
int controller_namespace_label_reconcile(void *ud, const char *name);

/* operator/controller_event_recorder.c. Posts a core/v1 Event about Instrumentation
 * `cr`; failures are only logged: an Event is for people, never a reason to retry. */
void controller_record_event(struct controller *ctl, const json_t *cr, const char *type,
			     const char *reason, const char *message);

#endif
