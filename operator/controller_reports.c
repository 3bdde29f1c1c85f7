/* AgentReports in the controller: which Instrumentations a report change concerns,
 * the index of reports by Instrumentation, and the fold of one Instrumentation's
 * agents at reconcile time (operator/agent_fold.h). */
#include "operator/controller_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/kube/api.h"
#include "operator/agent_report.h"

static void enqueue_key(void *ud, const char *key)
{
	struct controller *ctl = ud;

	if (ctl->leading)
		workqueue_add_after(ctl->queue, key, ctl->opts.status_delay_ms);
}

/* A report without its time: what changes on every heartbeat. NULL: no memory. */
static json_t *without_time(const json_t *obj)
{
	json_t *c = json_deep_copy(json_object_get(obj, "status"));

	json_object_del(c, "lastUpdateTime");
	return c;
}

/* Whether a report, as cached, counts as fresh now (the fold's rule, on one report). */
static int is_fresh(const struct controller *ctl, const json_t *obj)
{
	struct agent_report_view v;
	int64_t window;

	if (agent_report_view(obj, &v) < 0 || v.updated < 0)
		return 0;
	window = v.heartbeat_s * 5 / 2 > ctl->opts.agent_report_stale_s
			 ? v.heartbeat_s * 5 / 2
			 : ctl->opts.agent_report_stale_s;
	return (int64_t)time(NULL) <= v.updated + window;
}

void report_added_or_deleted(void *ud, const json_t *obj)
{
	struct controller *ctl = ud;

	ctl->reports_dirty = 1;
	agent_report_foreach_key(obj, enqueue_key, ctl);
}

/* A heartbeat (only lastUpdateTime moved, and the report was fresh) changes no count:
 * no reconcile; the time is read from the cache when the key is next folded, and the
 * reconcile that folded it last has queued the key for when it would go stale. */
void report_updated(void *ud, const json_t *old_obj, const json_t *obj)
{
	struct controller *ctl = ud;
	json_t *a, *b;
	int same;

	ctl->reports_dirty = 1;
	a = without_time(old_obj);
	b = without_time(obj);
	same = a && b && json_equal(a, b) && is_fresh(ctl, old_obj);
	json_decref(a);
	json_decref(b);
	if (same)
		return;
	agent_report_foreach_key(old_obj, enqueue_key, ctl);
	agent_report_foreach_key(obj, enqueue_key, ctl);
}

int controller_reports_served(struct controller *ctl)
{
	struct kube_request req = { .path = "/apis/autotrace.dev/v1alpha1", .timeout_ms = 5000 };
	struct kube_response resp = { 0 };
	struct kube_error err;
	json_t *doc, *r;
	size_t i;
	int rc, served = 0;

	rc = kube_client_do(ctl->client, &req, &resp, &err);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return 1;
	doc = json_loadb(resp.body, resp.len, 0, NULL);
	kube_response_release(&resp);
	if (!doc)
		return 1;
	json_array_foreach(json_object_get(doc, "resources"), i, r) {
		const char *n = json_string_value(json_object_get(r, "name"));

		if (n && strcmp(n, KUBE_AGENTREPORTS.plural) == 0)
			served = 1;
	}
	json_decref(doc);
	return served;
}

struct index_ctx {
	struct controller *ctl;
	const json_t *report;
	int failed;
};

static void index_under(void *ud, const char *key)
{
	struct index_ctx *x = ud;
	json_t *list = json_object_get(x->ctl->reports_by_key, key);

	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(x->ctl->reports_by_key, key, list) < 0) {
			x->failed = 1;
			return;
		}
	}
	/* A report naming one Instrumentation twice counts once. */
	if (json_array_size(list) && json_array_get(list, json_array_size(list) - 1) == x->report)
		return;
	if (json_array_append(list, (json_t *)x->report) < 0)
		x->failed = 1;
}

static void index_report(void *ud, const json_t *obj)
{
	struct index_ctx *x = ud;

	x->report = obj;
	agent_report_foreach_key(obj, index_under, x);
}

static int refresh_index(struct controller *ctl)
{
	struct index_ctx x = { ctl, NULL, 0 };

	if (!ctl->reports_dirty && ctl->reports_by_key)
		return 0;
	json_decref(ctl->reports_by_key);
	ctl->reports_by_key = json_object();
	if (!ctl->reports_by_key)
		return -ENOMEM;
	kube_informer_foreach(ctl->reports, index_report, &x);
	if (x.failed) {
		ctl->reports_by_key = (json_decref(ctl->reports_by_key), NULL);
		return -ENOMEM;
	}
	ctl->reports_dirty = 0;
	return 0;
}

struct sidecar_ctx {
	struct controller *ctl;
	const char *key;
};

/* A sidecar's pod, as the fold asks: one of this Instrumentation's running sidecars,
 * ready (1) or not (0); -1 when it is not one (gone, not injected, another's). */
static int sidecar_state(void *ud, const char *pod)
{
	struct sidecar_ctx *s = ud;
	char ns[K8S_LABEL_MAX + 1], name[K8S_SUBDOMAIN_MAX + 1], key[USAGE_KEY_SIZE];
	struct usage_lookup l = lookup_of(s->ctl);
	const json_t *summary;

	if (usage_key_split(pod, ns, name) < 0)
		return -1;
	summary = kube_informer_get(s->ctl->pods, ns, name);
	if (!summary || !usage_pod_running(summary) || !usage_pod_has_sidecar(summary) ||
	    usage_pod_target(summary, kube_informer_get(s->ctl->namespaces, NULL, ns), &l, key,
			     sizeof(key)) < 0 ||
	    strcmp(key, s->key) != 0)
		return -1;
	return usage_pod_agent_ready(summary) ? 1 : 0;
}

int controller_fold_agents(struct controller *ctl, const char *key, const json_t *entry,
			   const char *revision, struct agent_fold *ret)
{
	struct sidecar_ctx sc = { ctl, key };
	struct agent_fold_input in = {
		.key = key,
		.revision = revision,
		.sidecars = (long)json_integer_value(json_object_get(entry, "sidecars")),
		.sidecars_ready = (long)json_integer_value(json_object_get(entry, "ready")),
		.now = (int64_t)time(NULL),
		.stale_s = ctl->opts.agent_report_stale_s,
		.node_ns = ctl->opts.agents_namespace,
		.sidecar_state = sidecar_state,
		.ud = &sc,
	};
	int rc;

	if ((rc = refresh_index(ctl)) < 0)
		return rc;
	if ((rc = agent_fold(json_object_get(ctl->reports_by_key, key), &in, ret)) < 0)
		return rc;
	/* Nothing tells us when a silent agent goes stale: look again then. */
	if (ret->next_change > in.now)
		workqueue_add_after(ctl->queue, key, (long)(ret->next_change - in.now) * 1000);
	return 0;
}
