#include "agent/health_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/kube/api.h"
#include "lib/log/log.h"

#define COMPONENT "agent"

struct health_writer {
	struct kube_client *client;
	struct event_base *base;
	struct event *tick;
	enum health_mode mode;
	char *ns, *name, *owner_name, *owner_uid;
	struct health_pacing pacing;
	uint32_t jitter_s;
	health_collect_fn collect;
	void *ud;

	int created;
	json_t *written;    /* the status last written; NULL: none yet */
	int64_t written_at; /* monotonic seconds */
	int64_t send_at;    /* a change waiting out its random delay; 0: none */
	int64_t retry_at;   /* after a failure, nothing before this */
	unsigned consecutive_failures;
	char last_error[64]; /* the reason last logged, so a repeat is not */

	struct kube_call *inflight;
	json_t *sending; /* the status of the call in flight */
	char *body;	 /* its request body */
	char path[512];
	struct health_writer_stats stats;
};

static int64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void send_patch(struct health_writer *w);

static void failed(struct health_writer *w, const char *what, const struct kube_error *err)
{
	char buf[600];
	int64_t backoff = w->pacing.min_interval_s;

	w->stats.failures++;
	w->consecutive_failures++;
	for (unsigned i = 1; i < w->consecutive_failures && backoff < w->pacing.heartbeat_s; i++)
		backoff *= 2;
	if (backoff > w->pacing.heartbeat_s)
		backoff = w->pacing.heartbeat_s;
	w->retry_at = mono_s() + backoff;
	/* Once per kind of failure: an API server away for an hour is one line. */
	if (strcmp(w->last_error, err->reason[0] ? err->reason : kube_error_kind_name(err->kind))) {
		snprintf(w->last_error, sizeof(w->last_error), "%s",
			 err->reason[0] ? err->reason : kube_error_kind_name(err->kind));
		log_warn(COMPONENT, "health report %s/%s: %s failed: %s (tracing goes on; retrying, "
			 "counted in autotrace_agent_report_write_failures_total)",
			 w->ns, w->name, what, kube_error_format(err, buf, sizeof(buf)));
	}
}

static void call_done(struct health_writer *w)
{
	w->inflight = NULL;
	free(w->body);
	w->body = NULL;
}

static void on_patched(void *ud, int rc, struct kube_response *resp, const struct kube_error *err)
{
	struct health_writer *w = ud;

	call_done(w);
	if (rc == -ENOENT) {
		/* Deleted under us (by hand, or its owner's garbage collection): create it
		 * again on the next tick. */
		w->created = 0;
	}
	if (rc < 0) {
		failed(w, "status patch", err);
		json_decref(w->sending);
		w->sending = NULL;
		return;
	}
	if (w->last_error[0])
		log_info(COMPONENT, "health report %s/%s: written again", w->ns, w->name);
	w->last_error[0] = '\0';
	w->consecutive_failures = 0;
	json_decref(w->written);
	w->written = w->sending;
	w->sending = NULL;
	w->written_at = mono_s();
	w->stats.writes++;
	w->stats.last_success_unix = (int64_t)time(NULL);
}

static void on_created(void *ud, int rc, struct kube_response *resp, const struct kube_error *err)
{
	struct health_writer *w = ud;

	call_done(w);
	if (rc < 0 && rc != -EEXIST) {
		failed(w, "create", err);
		json_decref(w->sending);
		w->sending = NULL;
		return;
	}
	w->created = 1;
	if (rc == 0)
		w->stats.creates++;
	send_patch(w);
}

static int start_call(struct health_writer *w, const char *method, const char *content_type,
		      json_t *doc, kube_response_fn fn)
{
	struct kube_request req = { .method = method, .path = w->path,
				    .content_type = content_type, .timeout_ms = 10000 };

	w->body = json_dumps(doc, JSON_COMPACT);
	if (!w->body)
		return -ENOMEM;
	req.body = w->body;
	req.body_len = strlen(w->body);
	return kube_client_call(w->client, w->base, &req, fn, w, &w->inflight);
}

static void local_failure(struct health_writer *w, const char *what, int rc)
{
	struct kube_error err;

	kube_error_set(&err, KUBE_ERR_LOCAL, rc, "%s", strerror(-rc));
	free(w->body);
	w->body = NULL;
	w->inflight = NULL;
	json_decref(w->sending);
	w->sending = NULL;
	failed(w, what, &err);
}

static void send_patch(struct health_writer *w)
{
	struct kube_ref ref = { .res = &KUBE_AGENTREPORTS, .ns = w->ns, .name = w->name,
				.subresource = "status" };
	json_t *patch;
	int rc;

	if ((rc = kube_ref_path(&ref, w->path, sizeof(w->path))) < 0)
		return local_failure(w, "status patch", rc);
	/* A merge patch of the whole status: keys the new report no longer has (a
	 * failure gone, notReadyReason once ready) are set to null, so they go. The
	 * nulls go into a copy: w->sending becomes w->written, which the next report is
	 * compared with, and a null left in it would count as a change on every tick. */
	patch = json_pack("{s:o}", "status", json_copy(w->sending));
	if (patch && w->written) {
		const char *k;
		json_t *v;

		json_object_foreach(w->written, k, v)
			if (!json_object_get(w->sending, k))
				json_object_set_new(json_object_get(patch, "status"), k, json_null());
	}
	if (!patch)
		return local_failure(w, "status patch", -ENOMEM);
	rc = start_call(w, "PATCH", "application/merge-patch+json", patch, on_patched);
	json_decref(patch);
	if (rc < 0)
		local_failure(w, "status patch", rc);
}

static void send_create(struct health_writer *w)
{
	struct kube_ref ref = { .res = &KUBE_AGENTREPORTS, .ns = w->ns };
	json_t *obj;
	int rc;

	if ((rc = kube_ref_path(&ref, w->path, sizeof(w->path))) < 0)
		return local_failure(w, "create", rc);
	obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}}", "apiVersion",
			"autotrace.dev/v1alpha1", "kind", "AgentReport", "metadata", "name", w->name,
			"namespace", w->ns, "labels", "app.kubernetes.io/managed-by", "autotrace-agent",
			"autotrace.dev/agent-mode",
			w->mode == HEALTH_MODE_SIDECAR ? "sidecar" : "node");
	if (obj && w->owner_uid && w->owner_name)
		json_object_set_new(json_object_get(obj, "metadata"), "ownerReferences",
				    json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion", "v1", "kind", "Pod",
					      "name", w->owner_name, "uid", w->owner_uid));
	if (!obj)
		return local_failure(w, "create", -ENOMEM);
	rc = start_call(w, "POST", NULL, obj, on_created);
	json_decref(obj);
	if (rc < 0)
		local_failure(w, "create", rc);
}

static void on_tick(evutil_socket_t fd, short what, void *ud)
{
	struct health_writer *w = ud;
	int64_t now = mono_s();
	enum health_write due;
	json_t *next = NULL;

	if (w->inflight || now < w->retry_at)
		return;
	if (w->collect(w->ud, (int64_t)time(NULL), &next) < 0 || !next)
		return;
	/* The operator's staleness window grows with it (operator/agent_fold.h). */
	json_object_set_new(next, "heartbeatSeconds", json_integer(w->pacing.heartbeat_s));
	due = health_report_due(w->written, w->written_at, next, now, &w->pacing, NULL);
	if (due == HEALTH_WRITE_NOT_DUE) {
		/* A change undone before its delay ran out: the next one draws its own. */
		w->send_at = 0;
		json_decref(next);
		return;
	}
	if (due == HEALTH_WRITE_CHANGED && w->jitter_s > 0) {
		if (!w->send_at)
			w->send_at = now + (int64_t)(random() % w->jitter_s);
		if (now < w->send_at) {
			json_decref(next);
			return;
		}
	}
	w->send_at = 0;
	w->sending = next;
	if (w->created)
		send_patch(w);
	else
		send_create(w);
}

int health_writer_new(struct kube_client *c, struct event_base *base,
		      const struct health_writer_opts *o, struct health_writer **ret_writer)
{
	struct health_writer *w;
	struct timeval tv;

	if (!o->ns || !o->name || !o->collect)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->client = c;
	w->base = base;
	w->mode = o->mode;
	w->collect = o->collect;
	w->ud = o->ud;
	w->pacing.min_interval_s = o->pacing.min_interval_s ? o->pacing.min_interval_s : 15;
	w->pacing.heartbeat_s = o->pacing.heartbeat_s ? o->pacing.heartbeat_s
				: o->mode == HEALTH_MODE_SIDECAR ? 300 : 60;
	w->jitter_s = o->jitter_s ? o->jitter_s : w->pacing.min_interval_s;
	w->ns = strdup(o->ns);
	w->name = strdup(o->name);
	w->owner_name = o->owner_name ? strdup(o->owner_name) : NULL;
	w->owner_uid = o->owner_uid ? strdup(o->owner_uid) : NULL;
	w->tick = event_new(base, -1, EV_PERSIST, on_tick, w);
	if (!w->ns || !w->name || (o->owner_name && !w->owner_name) ||
	    (o->owner_uid && !w->owner_uid) || !w->tick) {
		health_writer_free(w);
		return -ENOMEM;
	}
	tv = (struct timeval){ (o->tick_ms ? o->tick_ms : 1000) / 1000,
			       ((o->tick_ms ? o->tick_ms : 1000) % 1000) * 1000 };
	event_add(w->tick, &tv);
	event_active(w->tick, EV_TIMEOUT, 0);
	*ret_writer = w;
	return 0;
}

struct health_writer *health_writer_free(struct health_writer *w)
{
	if (!w)
		return NULL;
	kube_call_cancel(w->inflight);
	if (w->tick)
		event_free(w->tick);
	json_decref(w->written);
	json_decref(w->sending);
	free(w->body);
	free(w->ns);
	free(w->name);
	free(w->owner_name);
	free(w->owner_uid);
	free(w);
	return NULL;
}

struct health_writer_stats health_writer_stats(const struct health_writer *w)
{
	return w->stats;
}

int health_writer_scrape(const struct health_writer *w, struct prom_text *out)
{
	if (!w)
		return 0;
	return prom_text_appendf(
		out,
		"# HELP autotrace_agent_report_writes_total Writes of this agent's AgentReport status that succeeded.\n"
		"# TYPE autotrace_agent_report_writes_total counter\n"
		"autotrace_agent_report_writes_total %llu\n"
		"# HELP autotrace_agent_report_write_failures_total Creates and status writes of this agent's AgentReport that failed (tracing goes on).\n"
		"# TYPE autotrace_agent_report_write_failures_total counter\n"
		"autotrace_agent_report_write_failures_total %llu\n"
		"# HELP autotrace_agent_report_last_success_timestamp_seconds When the AgentReport was last written.\n"
		"# TYPE autotrace_agent_report_last_success_timestamp_seconds gauge\n"
		"autotrace_agent_report_last_success_timestamp_seconds %lld\n",
		(unsigned long long)w->stats.writes, (unsigned long long)w->stats.failures,
		(long long)w->stats.last_success_unix);
}
