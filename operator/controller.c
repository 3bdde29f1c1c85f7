#include "operator/controller_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/instrumentation/agent_config.h"
#include "lib/instrumentation/naming.h"
#include "lib/instrumentation/optin.h"
#include "lib/instrumentation/spec.h"
#include "lib/kube/api.h"
#include "lib/kube/informer.h"
#include "lib/kube/packed.h"
#include "lib/kube/workqueue.h"
#include "lib/log/log.h"
#include "lib/text/base64.h"
#include "operator/publish.h"
#include "operator/status.h"
#include "operator/usage.h"

#define EVENT_COMPONENT "autotrace-operator"


/* ---- the usage index ------------------------------------------------------------ */

static json_t *usage_entry(json_t *usage, const char *key)
{
	json_t *e = json_object_get(usage, key);

	if (!e) {
		e = json_pack("{s:{}, s:I, s:I}", "ns", "injected", (json_int_t)0, "ready",
			      (json_int_t)0);
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
	if (usage_pod_agent_ready(pod))
		bump(e, "ready");
}

static int usage_refresh(struct controller *ctl)
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

/* ---- API writes ----------------------------------------------------------------- */

static void count_write(struct controller *ctl, const char *what)
{
	const char *v[] = { what };

	if (ctl->m_writes)
		metrics_counter_add_labels(ctl->m_writes, v, 1);
}

/* Where a reconcile reads Secrets: the Instrumentation's namespace. */
struct secret_scope {
	struct controller *ctl;
	const char *ns;
};

/* Reads a Secret key from the API server (no Secret informer: the operator needs a few
 * Secrets, not every Secret of the cluster in memory). */
static int secret_value(void *ud, const char *secret, const char *key, char **ret_value)
{
	const struct secret_scope *scope = ud;
	struct controller *ctl = scope->ctl;
	struct kube_ref ref = { .res = &KUBE_SECRETS, .ns = scope->ns, .name = secret };
	json_t *obj = NULL;
	const char *b64;
	unsigned char *out = NULL;
	size_t n;
	int rc;

	rc = kube_get(ctl->client, &ref, &obj, NULL);
	if (rc < 0)
		return rc;
	b64 = json_string_value(json_object_get(json_object_get(obj, "data"), key));
	if (!b64) {
		rc = -ENOENT;
		goto out;
	}
	if ((rc = base64_decode(b64, &out, &n)) < 0)
		goto out;
	if (strlen((char *)out) != n) {
		rc = -EINVAL; /* a NUL inside: not text */
		goto out;
	}
	*ret_value = (char *)out;
	out = NULL;
	rc = 0;
out:
	free(out);
	json_decref(obj);
	return rc;
}

static void event_sent(void *ud, int rc, struct kube_response *resp,
		       const struct kube_error *err)
{
	char buf[600];

	if (rc < 0)
		log_debug("operator", "event: %s", kube_error_format(err, buf, sizeof(buf)));
}

/* A core/v1 Event about Instrumentation `cr`. Failures are only logged: an Event is
 * for people, never a reason to retry. */
static void record_event(struct controller *ctl, const json_t *cr, const char *type,
			 const char *reason, const char *message)
{
	struct kube_ref ref = { .res = &KUBE_EVENTS, .ns = kube_obj_namespace(cr) };
	char now[32], name[K8S_SUBDOMAIN_MAX + 1], path[512], *body;
	json_t *ev;

	if (status_now(now, sizeof(now)) < 0)
		return;
	snprintf(name, sizeof(name), "%.200s.%lx%04lx", kube_obj_name(cr), (unsigned long)time(NULL),
		 (unsigned long)(random() & 0xffff));
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, "
		       "s:{s:s}, s:s, s:s, s:i, s:s, s:s}",
		       "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace",
		       kube_obj_namespace(cr), "involvedObject", "apiVersion",
		       "autotrace.dev/v1alpha1", "kind", "Instrumentation", "name", kube_obj_name(cr),
		       "namespace", kube_obj_namespace(cr), "uid",
		       kube_obj_uid(cr) ? kube_obj_uid(cr) : "", "type", type, "reason", reason,
		       "message", message, "source", "component", EVENT_COMPONENT,
		       "firstTimestamp", now, "lastTimestamp", now, "count", 1,
		       "reportingComponent", EVENT_COMPONENT, "reportingInstance",
		       ctl->opts.identity ? ctl->opts.identity : EVENT_COMPONENT);
	if (!ev)
		return;
	body = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (!body || kube_ref_path(&ref, path, sizeof(path)) < 0) {
		free(body);
		return;
	}
	struct kube_request req = { .method = "POST", .path = path, .body = body,
				    .body_len = strlen(body) };
	/* Sent without waiting: an Event must not slow the reconcile down. */
	if (kube_client_call(ctl->client, ctl->base, &req, event_sent, ctl, NULL) == 0) {
		ctl->stats.events++;
		count_write(ctl, "event");
	}
	free(body);
}

/* Creates or updates the ConfigMap of `desired` when the cached one differs.
 * 1 when something was written, 0 when it was current, negative on failure. */
static int publish_one(struct controller *ctl, const json_t *desired, struct kube_error *err)
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
	count_write(ctl, "configmap");
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
static int remove_stale(struct controller *ctl, const char *key, const char *cm_name,
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
			count_write(ctl, "configmap_delete");
		} else if (r != -ENOENT) {
			rc = r;
		}
	}
	json_decref(s.doomed);
	return rc;
}

static int write_status(struct controller *ctl, const char *key, const json_t *cr,
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
	count_write(ctl, "status");
	json_object_set(ctl->written, key, (json_t *)status);
	return 0;
}

/* ---- one reconcile -------------------------------------------------------------- */

/* Failures that say nothing about the Instrumentation: retried, not reported. */
static int is_transient(int rc)
{
	return rc == -EBUSY || rc == -EEXIST || rc == -EAGAIN || rc == -ETIMEDOUT ||
	       rc == -ECONNREFUSED || rc == -EIO || rc == -EPROTO;
}

static int reconcile_deleted(struct controller *ctl, const char *key, const char *ns,
			     const char *name)
{
	char cm_name[INSTRUMENTATION_CONFIGMAP_NAME_SIZE];

	json_object_del(ctl->written, key);
	if (instrumentation_configmap_name(ns, name, cm_name, sizeof(cm_name)) < 0)
		return 0;
	return remove_stale(ctl, key, cm_name, ns, NULL);
}

static int reconcile(void *ud, const char *key)
{
	struct controller *ctl = ud;
	char ns[K8S_LABEL_MAX + 1], name[K8S_SUBDOMAIN_MAX + 1];
	char cm_name[INSTRUMENTATION_CONFIGMAP_NAME_SIZE], rev[AGENT_CONFIG_REVISION_LEN + 1];
	char err[512] = "", now[32];
	struct instrumentation_spec spec = { 0 };
	struct status_observation obs = { 0 };
	const json_t *cr = NULL, *packed, *entry, *own, *old_status, *prev_cond;
	json_t *wanted = NULL, *status = NULL;
	char *config = NULL;
	struct secret_scope scope = { ctl, ns };
	struct agent_config_render_opts ro = { .secret_value = secret_value, .ud = &scope };
	struct timespec t0, t1;
	char prev_reason_buf[64] = "", prev_rev_buf[64] = "";
	const char *prev_reason = NULL, *prev_rev = NULL;
	int rc = 0, published = 0;

	if (!ctl->leading)
		return 0;
	if (!controller_synced(ctl)) {
		/* Counting from half-listed caches would publish a wrong status first. */
		workqueue_add_after(ctl->queue, key, 100);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ctl->stats.reconciles++;
	if (usage_key_split(key, ns, name) < 0)
		return 0;
	if ((rc = usage_refresh(ctl)) < 0)
		goto out;
	packed = kube_informer_get(ctl->insts, ns, name);
	if (!packed) {
		rc = reconcile_deleted(ctl, key, ns, name);
		goto out;
	}
	/* Ours while we call the API, whatever the cache does meanwhile. */
	if (!(cr = kube_packed_load(packed))) {
		rc = -ENOMEM;
		goto out;
	}
	/* The cache shows our last status write now: from here on it is the record, and
	 * a thousand Instrumentations do not each keep a copy of their status. */
	if (json_equal(json_object_get(ctl->written, key), json_object_get(cr, "status")))
		json_object_del(ctl->written, key);
	if ((rc = instrumentation_configmap_name(ns, name, cm_name, sizeof(cm_name))) < 0)
		goto out;
	entry = json_object_get(ctl->usage, key);
	wanted = json_deep_copy(json_object_get(entry, "ns"));
	if (!wanted)
		wanted = json_object();
	if (!wanted) {
		rc = -ENOMEM;
		goto out;
	}
	json_object_set_new(wanted, ns, json_true());

	old_status = json_object_get(ctl->written, key);
	if (!old_status)
		old_status = json_object_get(cr, "status");
	prev_cond = status_condition(old_status, "ConfigPublished");
	/* Copies: write_status() replaces the object old_status may point into. */
	if (json_is_string(json_object_get(prev_cond, "reason"))) {
		snprintf(prev_reason_buf, sizeof(prev_reason_buf), "%s",
			 json_string_value(json_object_get(prev_cond, "reason")));
		prev_reason = prev_reason_buf;
	}
	if (json_is_string(json_object_get(old_status, "configRevision"))) {
		snprintf(prev_rev_buf, sizeof(prev_rev_buf), "%s",
			 json_string_value(json_object_get(old_status, "configRevision")));
		prev_rev = prev_rev_buf;
	}

	obs.generation = json_integer_value(json_object_get(json_object_get(cr, "metadata"),
							     "generation"));
	obs.injected = (long)json_integer_value(json_object_get(entry, "injected"));
	obs.ready = (long)json_integer_value(json_object_get(entry, "ready"));
	own = kube_informer_get(ctl->configmaps, ns, cm_name);
	obs.revision = json_string_value(json_object_get(
		json_object_get(json_object_get(own, "metadata"), "annotations"),
		PUBLISH_ANNOTATION_REVISION));

	if (instrumentation_spec_parse((json_t *)cr, &spec, err, sizeof(err)) < 0) {
		obs.problem = STATUS_INVALID_SPEC;
	} else if ((rc = agent_config_render(&spec, &ro, &config, rev, err, sizeof(err))) < 0) {
		if (rc != -ENOENT)
			goto out; /* the API server: retry with backoff */
		obs.problem = STATUS_SECRET_NOT_FOUND;
		rc = 0;
		workqueue_add_after(ctl->queue, key, ctl->opts.secret_retry_ms);
	} else {
		const char *wns;
		json_t *v;
		struct kube_error kerr;

		json_object_foreach(wanted, wns, v) {
			json_t *cm = publish_configmap(wns, cm_name, cr, config, rev);
			int r;

			if (!cm) {
				rc = -ENOMEM;
				goto out;
			}
			r = publish_one(ctl, cm, &kerr);
			json_decref(cm);
			if (r >= 0) {
				published++;
			} else if (r == -ENOENT ||
				   (r == -EACCES && strstr(kerr.message, "being terminated"))) {
				/* A namespace that is gone or terminating: nothing to do. */
			} else if (is_transient(r)) {
				/* A stale cache (conflict) or an API server away: try again
				 * soon, and leave the status as it is meanwhile. */
				rc = r;
				goto out;
			} else {
				char buf[600];
				snprintf(err, sizeof(err), "writing ConfigMap %s/%s: %s", wns, cm_name,
					 kube_error_format(&kerr, buf, sizeof(buf)));
				obs.problem = STATUS_PUBLISH_FAILED;
				rc = r;
			}
		}
		if (obs.problem == STATUS_OK)
			obs.revision = rev;
		int r = remove_stale(ctl, key, cm_name, ns, wanted);
		if (r < 0 && rc == 0)
			rc = r;
	}
	obs.namespaces = (size_t)published;
	obs.problem_message = err;

	if (status_now(now, sizeof(now)) < 0) {
		rc = -EIO;
		goto out;
	}
	status = status_build(old_status, &obs, now);
	if (!status) {
		rc = -ENOMEM;
		goto out;
	}
	if (!json_equal(status, json_object_get(cr, "status")) &&
	    !json_equal(status, json_object_get(ctl->written, key))) {
		int r = write_status(ctl, key, cr, status);
		if (r < 0 && rc == 0)
			rc = r;
	}
	/* Events on what changed, not on every pass. */
	if (obs.problem == STATUS_OK && (!prev_rev || strcmp(prev_rev, rev) != 0)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "agent config %s published in %d namespace%s", rev,
			 published, published == 1 ? "" : "s");
		record_event(ctl, cr, "Normal", "ConfigPublished", msg);
	} else if (obs.problem != STATUS_OK &&
		   (!prev_reason || strcmp(prev_reason, status_problem_reason(obs.problem)) != 0)) {
		record_event(ctl, cr, "Warning", status_problem_reason(obs.problem), err);
	}
out:
	if (rc < 0) {
		ctl->stats.errors++;
		log_warn("operator", "reconcile %s: %s", key, err[0] ? err : strerror(-rc));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ctl->m_reconciles) {
		const char *v[] = { rc < 0 ? "error" : "ok" };
		metrics_counter_add_labels(ctl->m_reconciles, v, 1);
		metrics_histogram_observe(ctl->m_duration, (double)(t1.tv_sec - t0.tv_sec) +
								   (t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	instrumentation_spec_clear(&spec);
	free(config);
	json_decref(wanted);
	json_decref(status);
	json_decref((json_t *)cr);
	return rc;
}

/* ---- lifecycle ------------------------------------------------------------------ */

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
		.transform = res == &KUBE_NAMESPACES	? trim_namespace
			     : res == &KUBE_CONFIGMAPS ? trim_configmap
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
	struct metrics_opts w = {
		.name = "autotrace_operator_api_writes_total",
		.help = "Writes to the API server, by kind (configmap, configmap_delete, status, "
			"event).",
		.labels = kind
	};
	int rc;

	if (!ctl->opts.metrics)
		return 0;
	if ((rc = metrics_counter_new(ctl->opts.metrics, &r, &ctl->m_reconciles)) < 0 ||
	    (rc = metrics_histogram_new(ctl->opts.metrics, &d, &ctl->m_duration)) < 0 ||
	    (rc = metrics_counter_new(ctl->opts.metrics, &w, &ctl->m_writes)) < 0)
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
	ctl->singles = json_object();
	ctl->written = json_object();
	ctl->published = json_object();
	ctl->usage_dirty = 1;
	if (!ctl->singles || !ctl->written || !ctl->published)
		goto fail;
	if ((rc = register_metrics(ctl)) < 0)
		goto fail;
	if ((rc = workqueue_new(base, &qo, reconcile, ctl, &ctl->queue)) < 0)
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
								 .on_delete = ns_added,
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
	    (rc = kube_informer_start(ctl->pods)) < 0)
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
	if (leading)
		kube_informer_foreach(ctl->insts, enqueue_all, ctl);
}

int controller_synced(const struct controller *ctl)
{
	return kube_informer_has_synced(ctl->insts) && kube_informer_has_synced(ctl->namespaces) &&
	       kube_informer_has_synced(ctl->configmaps) && kube_informer_has_synced(ctl->pods);
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
	workqueue_free(ctl->queue);
	json_decref(ctl->usage);
	json_decref(ctl->singles);
	json_decref(ctl->written);
	json_decref(ctl->published);
	free(ctl);
	return NULL;
}
