#include "webhook/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log/log.h"
#include "lib/metrics/text_format.h"
#include "webhook/admission.h"
#include "webhook/result.h"

#define COMPONENT "webhook"

/* Admission time as the webhook spends it: 50 µs to 1 s. The API server's own
 * histogram (apiserver_admission_webhook_admission_duration_seconds) starts at 5 ms,
 * far above what a cached lookup takes, so this one starts lower. */
static const double duration_buckets[] = { 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
					   0.0025,  0.005,  0.01,    0.025,  0.05,
					   0.1,	    0.25,   0.5,     1 };

struct informer_seen {
	unsigned long lists, relists_gone, watch_failures, events;
};

struct webhook_server {
	struct webhook_server_opts opts;
	struct webhook_lookup lookup;
	struct metrics_counter *admissions;
	struct metrics_histogram *duration;
	struct metrics_gauge *synced, *objects;
	struct metrics_counter *lists, *relists_gone, *watch_failures, *events;
	struct informer_seen seen[WEBHOOK_CACHE_KINDS];
	int stopping;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count(struct webhook_server *s, enum admission_result result,
		  enum admission_reason reason, double started)
{
	const char *labels[2] = { admission_result_name(result), admission_reason_name(reason) };

	metrics_counter_add_labels(s->admissions, labels, 1);
	metrics_histogram_observe(s->duration, now_seconds() - started);
}

/* The log line of one admission, at a level that says whether someone should look. */
static void log_outcome(const struct admission_outcome *o, const char *peer)
{
	enum log_level level = LOG_DEBUG;
	char detail[sizeof(o->detail)];

	if (o->result == ADMISSION_INJECTED)
		level = LOG_INFO;
	else if (o->result == ADMISSION_SKIPPED || o->result == ADMISSION_ERROR)
		level = LOG_WARN;
	if (!log_enabled(level))
		return;
	/* A parse error may quote the peer's bytes: one line per record, whatever came. */
	snprintf(detail, sizeof(detail), "%s", o->detail);
	for (char *p = detail; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	log_write(level, COMPONENT, "admission result=%s reason=%s status=%d peer=%s pod=%s: %s",
		  admission_result_name(o->result), admission_reason_name(o->reason),
		  o->http_status, peer, o->pod[0] ? o->pod : "-", detail);
}

/* Nothing could be answered (no memory): a 500 makes the API server apply the
 * webhook's failurePolicy (Ignore), so the pod is still created, unchanged. */
static void answer_internal_error(struct http_request *req, const char *what, int r,
				  struct webhook_server *s, double started)
{
	log_warn(COMPONENT,
		 "admission result=error reason=internal status=500 peer=%s: %s: %s; the API "
		 "server applies failurePolicy (the pod is admitted unchanged)",
		 http_request_peer(req), what, strerror(-r));
	count(s, ADMISSION_ERROR, REASON_INTERNAL, started);
	http_response_set_status(req, 500);
	http_response_printf(req, "autotrace-webhook: %s: %s\n", what, strerror(-r));
}

static void serve_mutate(struct http_request *req, void *ud)
{
	struct webhook_server *s = ud;
	struct admission_outcome o = { 0 };
	double started = now_seconds();
	const void *body;
	size_t len;
	int r;

	if ((r = http_request_body(req, &body, &len)) < 0) {
		answer_internal_error(req, "reading the request", r, s, started);
		return;
	}
	r = webhook_admit(s->opts.options, &s->lookup, body, len, &o);
	if (r < 0) {
		answer_internal_error(req, "building the answer", r, s, started);
		return;
	}
	http_response_set_status(req, o.http_status);
	http_response_add_header(req, "Content-Type", o.content_type);
	/* The body goes out without a copy; it is the response's now. */
	r = http_response_append_owned(req, o.body, o.body_len);
	o.body = NULL;
	log_outcome(&o, http_request_peer(req));
	if (r < 0) {
		answer_internal_error(req, "sending the answer", r, s, started);
		return;
	}
	count(s, o.result, o.reason, started);
	admission_outcome_clear(&o);
}

static void serve_healthz(struct http_request *req, void *ud)
{
	http_response_printf(req, "ok\n");
}

static void serve_readyz(struct http_request *req, void *ud)
{
	struct webhook_server *s = ud;
	struct webhook_cache_state st;

	if (s->stopping) {
		http_response_set_status(req, 503);
		http_response_printf(req, "stopping\n");
		return;
	}
	if (webhook_cache_ready(s->opts.cache)) {
		http_response_printf(req, "ok\n");
		return;
	}
	http_response_set_status(req, 503);
	for (int k = 0; k < WEBHOOK_CACHE_KINDS; k++) {
		webhook_cache_state(s->opts.cache, k, &st);
		if (!st.synced)
			http_response_printf(req, "%s: not listed yet%s\n",
					     webhook_cache_kind_name(k),
					     k == WEBHOOK_CACHE_INSTRUMENTATIONS
						     ? " (is the CRD instrumentations.autotrace.dev "
						       "installed?)"
						     : "");
	}
}

/* Counters of the informers grow by what they grew since the last scrape. */
static void add_delta(struct metrics_counter *c, const char *const *labels, unsigned long now,
		      unsigned long *seen)
{
	/* Adding 0 makes the series show from the first scrape. */
	metrics_counter_add_labels(c, labels, now > *seen ? (double)(now - *seen) : 0);
	*seen = now;
}

static void refresh_cache_metrics(struct webhook_server *s)
{
	struct webhook_cache_state st;

	for (int k = 0; k < WEBHOOK_CACHE_KINDS; k++) {
		const char *labels[1] = { webhook_cache_kind_name(k) };
		struct informer_seen *seen = &s->seen[k];

		webhook_cache_state(s->opts.cache, k, &st);
		metrics_gauge_set_labels(s->synced, labels, st.synced);
		metrics_gauge_set_labels(s->objects, labels, (double)st.objects);
		add_delta(s->lists, labels, st.stats.lists, &seen->lists);
		add_delta(s->relists_gone, labels, st.stats.relists_gone, &seen->relists_gone);
		add_delta(s->watch_failures, labels, st.stats.watch_failures, &seen->watch_failures);
		add_delta(s->events, labels, st.stats.events, &seen->events);
	}
}

static void serve_metrics(struct http_request *req, void *ud)
{
	struct webhook_server *s = ud;
	char *text = NULL;
	size_t len = 0;

	refresh_cache_metrics(s);
	if (metrics_registry_format(s->opts.metrics, &text, &len) < 0) {
		http_response_set_status(req, 500);
		http_response_printf(req, "metrics exposition failed\n");
		return;
	}
	http_response_add_header(req, "Content-Type", METRICS_CONTENT_TYPE);
	http_response_append_owned(req, text, len);
}

static int register_metrics(struct webhook_server *s)
{
	static const char *const admission_labels[] = { "result", "reason", NULL };
	static const char *const resource_label[] = { "resource", NULL };
	struct metrics_registry *m = s->opts.metrics;
	struct {
		struct metrics_counter **c;
		const char *name, *help;
	} counters[] = {
		{ &s->lists, "autotrace_webhook_informer_lists_total",
		  "Complete lists of a cache (the first one included)." },
		{ &s->relists_gone, "autotrace_webhook_informer_relists_gone_total",
		  "Lists forced by 410 Gone (the watch fell too far behind)." },
		{ &s->watch_failures, "autotrace_webhook_informer_watch_failures_total",
		  "Watch streams of a cache that ended with an error (retried with backoff)." },
		{ &s->events, "autotrace_webhook_informer_events_total",
		  "Watch events applied to a cache." },
	};
	int r;

	r = metrics_counter_new(m,
				&(struct metrics_opts){
					.name = "autotrace_webhook_admissions_total",
					.help = "Pod admissions by result (injected, skipped, "
						"unchanged, error) and reason.",
					.labels = admission_labels,
				},
				&s->admissions);
	if (r < 0)
		return r;
	r = metrics_histogram_new(m,
				  &(struct metrics_opts){
					  .name = "autotrace_webhook_admission_duration_seconds",
					  .help = "Time from a complete AdmissionReview to its "
						  "answer, in the webhook.",
					  .buckets = duration_buckets,
					  .n_buckets = sizeof(duration_buckets) /
						       sizeof(duration_buckets[0]),
				  },
				  &s->duration);
	if (r < 0)
		return r;
	r = metrics_gauge_new(m,
			      &(struct metrics_opts){
				      .name = "autotrace_webhook_informer_synced",
				      .help = "1 once a cache (namespaces, instrumentations) has "
					      "listed; until then opted-in pods are admitted "
					      "unchanged.",
				      .labels = resource_label,
			      },
			      &s->synced);
	if (r < 0)
		return r;
	r = metrics_gauge_new(m,
			      &(struct metrics_opts){
				      .name = "autotrace_webhook_informer_objects",
				      .help = "Objects held in a cache.",
				      .labels = resource_label,
			      },
			      &s->objects);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		r = metrics_counter_new(m,
					&(struct metrics_opts){ .name = counters[i].name,
								.help = counters[i].help,
								.labels = resource_label },
					counters[i].c);
		if (r < 0)
			return r;
	}
	refresh_cache_metrics(s);
	return 0;
}

int webhook_server_new(const struct webhook_server_opts *opts, struct webhook_server **ret_server)
{
	struct webhook_server *s;
	int r;

	if (!opts || !opts->options || !opts->cache || !opts->metrics)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->opts = *opts;
	webhook_cache_lookup(opts->cache, &s->lookup);
	if ((r = register_metrics(s)) < 0) {
		free(s);
		return r;
	}
	*ret_server = s;
	return 0;
}

void webhook_server_set_stopping(struct webhook_server *server)
{
	server->stopping = 1;
}

struct webhook_server *webhook_server_free(struct webhook_server *server)
{
	free(server);
	return NULL;
}

static int mount_health(struct webhook_server *s, struct http_server *http)
{
	int r = http_server_route(http, HTTP_METHOD_GET, "/healthz", serve_healthz, s);

	return r < 0 ? r : http_server_route(http, HTTP_METHOD_GET, "/readyz", serve_readyz, s);
}

int webhook_server_mount_admission(struct webhook_server *server, struct http_server *http)
{
	int r = http_server_route(http, HTTP_METHOD_POST, WEBHOOK_MUTATE_PATH, serve_mutate, server);

	return r < 0 ? r : mount_health(server, http);
}

int webhook_server_mount_metrics(struct webhook_server *server, struct http_server *http)
{
	int r = http_server_route(http, HTTP_METHOD_GET, "/metrics", serve_metrics, server);

	return r < 0 ? r : mount_health(server, http);
}
