/* The controller's lifecycle: its informers (what each caches and how it is cut down),
 * its work queue and metrics, leadership, and stats. The reconcile is in
 * controller_reconcile.c, the informer handlers in controller_events.c. */
#include "operator/controller_internal.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/instrumentation/optin.h"
#include "lib/kube/api.h"
#include "lib/kube/packed.h"
#include "lib/log/log.h"
#include "operator/agent_report.h"
#include "operator/publish.h"
#include "operator/usage.h"

static void trim_namespace(void *ud, json_t *obj)
{
	optin_trim_namespace(obj);
}

static void trim_configmap(void *ud, json_t *obj)
{
	publish_trim_configmap(obj);
}

/* Instrumentations are kept as text (lib/kube/packed.h), cut to what a reconcile
 * reads: spec, status and the metadata that names it and its generation (not its
 * labels, nor kubectl's last-applied copy of the whole object). */
static json_t *pack_instrumentation(void *ud, const json_t *obj)
{
	static const char *const top[] = { "apiVersion", "kind", "metadata", "spec", "status",
					   NULL };
	static const char *const meta[] = { "name",	       "namespace",	    "uid",
					    "resourceVersion", "generation",
					    "deletionTimestamp", NULL };

	return kube_packed_new(obj, top, meta);
}

static int make_informer(struct controller *ctl, const struct kube_resource *res,
			 const char *selector, struct kube_informer_handlers h,
			 struct kube_informer **ret)
{
	struct kube_informer_opts o = {
		.res = res, .label_selector = selector,
		/* Every Instrumentation again now and then: a changed Secret value has no
		 * event of its own here (Secrets are read, not watched). */
		.resync_ms = res == &KUBE_INSTRUMENTATIONS ? ctl->opts.resync_ms : 0,
		.handlers = h, .ud = ctl,
		.transform = res == &KUBE_NAMESPACES	  ? trim_namespace
			     : res == &KUBE_CONFIGMAPS	  ? trim_configmap
			     : res == &KUBE_AGENTREPORTS ? agent_report_trim
							  : NULL,
		/* Pods are many: the cache keeps a hundred-byte summary of each, and they are
		 * listed 100 at a time, so that a page of whole pods (~20 KiB each as parsed
		 * JSON) is not what sets the process's peak. */
		.page_size = res == &KUBE_PODS ? 100 : 0,
		.summarize = res == &KUBE_PODS		   ? usage_pod_summary
			     : res == &KUBE_INSTRUMENTATIONS ? pack_instrumentation
							     : NULL,
	};

	return kube_informer_new(ctl->client, ctl->base, &o, ret);
}

static int register_metrics(struct controller *ctl)
{
	static const char *const result[] = { "result", NULL };
	static const char *const kind[] = { "kind", NULL };
	static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					  0.25,	 0.5,	 1,	2.5,  5,     10 };
	struct metrics_opts r = { .name = "autotrace_operator_reconciles_total",
				  .help = "Reconciles of an Instrumentation, by result (ok, error).",
				  .labels = result };
	struct metrics_opts d = { .name = "autotrace_operator_reconcile_duration_seconds",
				  .help = "Time one reconcile of an Instrumentation took.",
				  .buckets = buckets,
				  .n_buckets = sizeof(buckets) / sizeof(buckets[0]) };
	static const char *const change[] = { "change", NULL };
	struct metrics_opts w = {
		.name = "autotrace_operator_api_writes_total",
		.help = "Writes to the API server, by kind (configmap, configmap_delete, status, "
			"event, namespace_label).",
		.labels = kind
	};
	struct metrics_opts nl = {
		.name = "autotrace_operator_namespace_label_writes_total",
		.help = "Patches of the label autotrace.dev/inject-enabled on a namespace, by "
			"change (set, remove); none when the label already matches.",
		.labels = change
	};
	int rc;

	if (!ctl->opts.metrics)
		return 0;
	if ((rc = metrics_counter_new(ctl->opts.metrics, &r, &ctl->m_reconciles)) < 0 ||
	    (rc = metrics_histogram_new(ctl->opts.metrics, &d, &ctl->m_duration)) < 0 ||
	    (rc = metrics_counter_new(ctl->opts.metrics, &w, &ctl->m_writes)) < 0 ||
	    (rc = metrics_counter_new(ctl->opts.metrics, &nl, &ctl->m_ns_label_writes)) < 0)
		return rc;
	return 0;
}

int controller_new(struct kube_client *c, struct event_base *base,
		   const struct controller_opts *opts, struct controller **ret_ctl)
{
	struct controller *ctl = calloc(1, sizeof(*ctl));
	struct workqueue_opts qo = { .base_delay_ms = 100, .max_delay_ms = 30000 };
	int rc = -ENOMEM;

	if (!ctl)
		return -ENOMEM;
	ctl->client = c;
	ctl->base = base;
	if (opts)
		ctl->opts = *opts;
	if (ctl->opts.status_delay_ms <= 0)
		ctl->opts.status_delay_ms = 300;
	if (ctl->opts.secret_retry_ms <= 0)
		ctl->opts.secret_retry_ms = 5000;
	if (ctl->opts.resync_ms <= 0)
		ctl->opts.resync_ms = 300000;
	if (ctl->opts.agent_report_stale_s <= 0)
		ctl->opts.agent_report_stale_s = 150;
	ctl->singles = json_object();
	ctl->written = json_object();
	ctl->published = json_object();
	ctl->ns_labels_written = json_object();
	ctl->bound = json_object();
	ctl->usage_dirty = 1;
	if (!ctl->singles || !ctl->written || !ctl->published || !ctl->ns_labels_written ||
	    !ctl->bound)
		goto fail;
	if ((rc = register_metrics(ctl)) < 0)
		goto fail;
	if ((rc = workqueue_new(base, &qo, controller_reconcile, ctl, &ctl->queue)) < 0 ||
	    (rc = workqueue_new(base, &qo, controller_namespace_label_reconcile, ctl,
				&ctl->ns_queue)) < 0)
		goto fail;
	if ((rc = make_informer(ctl, &KUBE_INSTRUMENTATIONS, NULL,
				(struct kube_informer_handlers){ .on_add = inst_added_or_deleted,
								 .on_update = inst_updated,
								 .on_delete = inst_added_or_deleted,
								 .on_synced = informer_synced },
				&ctl->insts)) < 0 ||
	    (rc = make_informer(ctl, &KUBE_NAMESPACES, NULL,
				(struct kube_informer_handlers){ .on_add = ns_added,
								 .on_update = ns_updated,
								 .on_delete = ns_deleted,
								 .on_synced = informer_synced },
				&ctl->namespaces)) < 0 ||
	    (rc = make_informer(ctl, &KUBE_CONFIGMAPS, PUBLISH_SELECTOR,
				(struct kube_informer_handlers){ .on_update = cm_updated,
								 .on_delete = cm_deleted,
								 .on_synced = informer_synced },
				&ctl->configmaps)) < 0 ||
	    (rc = make_informer(ctl, &KUBE_PODS, POD_LABEL_INJECTED "=true",
				(struct kube_informer_handlers){ .on_add = pod_added,
								 .on_update = pod_updated,
								 .on_delete = pod_added,
								 .on_synced = informer_synced },
				&ctl->pods)) < 0)
		goto fail;
	if (!controller_reports_served(ctl))
		log_warn("operator", "the API server does not serve agentreports.autotrace.dev "
			 "(kubectl apply -f crds/agentreport.yaml): agents are counted from their "
			 "pods only");
	else if ((rc = make_informer(ctl, &KUBE_AGENTREPORTS, NULL,
				     (struct kube_informer_handlers){
					     .on_add = report_added_or_deleted,
					     .on_update = report_updated,
					     .on_delete = report_added_or_deleted,
					     .on_synced = informer_synced },
				     &ctl->reports)) < 0)
		goto fail;
	*ret_ctl = ctl;
	return 0;
fail:
	controller_free(ctl);
	return rc;
}

int controller_start(struct controller *ctl)
{
	int rc;

	if ((rc = kube_informer_start(ctl->insts)) < 0 ||
	    (rc = kube_informer_start(ctl->namespaces)) < 0 ||
	    (rc = kube_informer_start(ctl->configmaps)) < 0 ||
	    (rc = kube_informer_start(ctl->pods)) < 0 ||
	    (ctl->reports && (rc = kube_informer_start(ctl->reports)) < 0))
		return rc;
	return 0;
}

static void enqueue_all(void *ud, const json_t *obj)
{
	enqueue_object(ud, obj);
}

void controller_set_leading(struct controller *ctl, int leading)
{
	ctl->leading = leading;
	json_object_clear(ctl->written);
	json_object_clear(ctl->published);
	json_object_clear(ctl->ns_labels_written);
	if (leading) {
		kube_informer_foreach(ctl->insts, enqueue_all, ctl);
		controller_namespace_label_check_all(ctl);
	}
}

int controller_synced(const struct controller *ctl)
{
	return kube_informer_has_synced(ctl->insts) && kube_informer_has_synced(ctl->namespaces) &&
	       kube_informer_has_synced(ctl->configmaps) && kube_informer_has_synced(ctl->pods) &&
	       (!ctl->reports || kube_informer_has_synced(ctl->reports));
}

struct controller_stats controller_stats(const struct controller *ctl)
{
	struct controller_stats s = ctl->stats;
	struct workqueue_stats q = workqueue_stats(ctl->queue);

	s.queue_depth = q.depth;
	s.queue_waiting = q.waiting;
	return s;
}

struct controller *controller_free(struct controller *ctl)
{
	if (!ctl)
		return NULL;
	kube_informer_free(ctl->insts);
	kube_informer_free(ctl->namespaces);
	kube_informer_free(ctl->configmaps);
	kube_informer_free(ctl->pods);
	kube_informer_free(ctl->reports);
	json_decref(ctl->reports_by_key);
	workqueue_free(ctl->queue);
	workqueue_free(ctl->ns_queue);
	json_decref(ctl->usage);
	json_decref(ctl->singles);
	json_decref(ctl->written);
	json_decref(ctl->published);
	json_decref(ctl->ns_labels_written);
	json_decref(ctl->bound);
	free(ctl);
	return NULL;
}
