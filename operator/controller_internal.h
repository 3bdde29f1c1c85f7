/* What the controller's files share: the controller itself, and the informer event
 * handlers (operator/controller_events.c) that turn cache changes into work queue keys. */
#ifndef AUTOTRACE_OPERATOR_CONTROLLER_INTERNAL_H
#define AUTOTRACE_OPERATOR_CONTROLLER_INTERNAL_H

#include <jansson.h>

#include "lib/kube/informer.h"
#include "lib/kube/workqueue.h"
#include "operator/controller.h"
#include "operator/usage.h"

struct controller {
	struct kube_client *client;
	struct event_base *base;
	struct controller_opts opts;
	struct kube_informer *insts, *namespaces, *configmaps, *pods;
	struct workqueue *queue;
	int leading;

	/* Which namespaces use which Instrumentation, and its pod counts:
	 * {"ns/name": {"ns": {namespace: true}, "injected": n, "ready": n}}, rebuilt from
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

	struct controller_stats stats;
	struct metrics_counter *m_reconciles;
	struct metrics_histogram *m_duration;
	struct metrics_counter *m_writes;
};

/* Informer handlers: every change that can alter an Instrumentation's outcome queues
 * that Instrumentation's key. */
void inst_added_or_deleted(void *ud, const json_t *obj);
void inst_updated(void *ud, const json_t *old_obj, const json_t *obj);
void ns_added(void *ud, const json_t *obj);
void ns_updated(void *ud, const json_t *old_obj, const json_t *obj);
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

#endif
