#include "agent/self_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/db_red_metrics.h"
#include "agent/red_metrics.h"
#include "agent/rpc_red_metrics.h"
#include "lib/metrics/registry.h"
#include "lib/metrics/text_format.h"

struct self_metrics {
	struct metrics_registry *reg;
	struct metrics_gauge *pods, *processes, *probes, *queue_length, *config_info, *config_failed,
		*propagation, *in_flight;
	struct metrics_counter *probe_failures, *skipped, *requests, *sampled, *spans_produced,
		*spans_exported, *spans_dropped, *export_requests, *traceparents, *config_errors,
		*client_calls, *client_sampled, *tp_sent, *grpc_tp_sent, *h2_out_of_step;
	const char *mechanism; /* the propagation_info series set to 1 */
	struct tracer_stats last_t;
	struct otlp_exporter_stats last_e;
	char revision[64], instrumentation[256];
	int pods_set; /* self_metrics_pods was called: a node agent */
};

static const char *const reason_label[] = { "reason", NULL };
static const char *const result_label[] = { "result", NULL };
static const char *const config_labels[] = { "revision", "instrumentation", NULL };
static const char *const mechanism_label[] = { "mechanism", NULL };
static const char *const side_label[] = { "side", NULL };

#define NEW(kind, field, n, h, l)                                                                  \
	(rc == 0 ? (rc = metrics_##kind##_new(m->reg, &(struct metrics_opts){ .name = n, .help = h, \
									   .labels = l },        \
					      &m->field))                                        \
		 : rc)

int self_metrics_new(struct self_metrics **ret)
{
	struct self_metrics *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	rc = metrics_registry_new(&m->reg);
	NEW(gauge, pods, "autotrace_agent_pods_instrumented",
	    "Pods whose processes the agent traces now (a node agent's opted-in pods).", NULL);
	NEW(gauge, processes, "autotrace_agent_processes_instrumented",
	    "Go processes with probes attached now.", NULL);
	NEW(gauge, probes, "autotrace_agent_probes_attached", "Uprobes attached now.", NULL);
	NEW(gauge, in_flight, "autotrace_agent_requests_in_flight",
	    "Requests (side server) and client calls (side client) started and not ended, as "
	    "the kernel's maps hold them now; a process's go when it is no longer traced.",
	    side_label);
	NEW(counter, probe_failures, "autotrace_agent_probe_attach_failures_total",
	    "Uprobes the kernel refused to attach.", NULL);
	NEW(counter, skipped, "autotrace_agent_instrumentation_errors_total",
	    "Go processes that could not be instrumented, by reason.", reason_label);
	NEW(counter, requests, "autotrace_agent_requests_total",
	    "HTTP server requests the probes saw, sampled or not.", NULL);
	NEW(counter, sampled, "autotrace_agent_requests_sampled_total",
	    "Requests the in-kernel sampler kept.", NULL);
	NEW(counter, traceparents, "autotrace_agent_traceparent_received_total",
	    "Requests that carried a valid W3C traceparent header.", NULL);
	NEW(counter, client_calls, "autotrace_agent_client_requests_total",
	    "HTTP client calls the probes saw, sampled or not.", NULL);
	NEW(counter, client_sampled, "autotrace_agent_client_requests_sampled_total",
	    "Client calls sampled (their own decision, or their server request's).", NULL);
	NEW(counter, tp_sent, "autotrace_agent_traceparent_outgoing_total",
	    "Outgoing requests by what became of their trace context: injected, or "
	    "left_alone (the request carried its own), or failed, or http2 (an HTTP/2 "
	    "call: none can be added).",
	    result_label);
	NEW(counter, grpc_tp_sent, "autotrace_agent_grpc_traceparent_outgoing_total",
	    "gRPC calls by what became of their trace context: injected (appended to the "
	    "call's HEADERS frame over h2c), left_alone (its metadata carried one) or missed "
	    "(its frame was cut across two writes, or one write carried over 128 of them); "
	    "calls over TLS carry none.",
	    result_label);
	NEW(counter, h2_out_of_step, "autotrace_agent_http2_writes_out_of_step_total",
	    "Writes of HTTP/2 connections with gRPC calls whose frames could not be followed "
	    "(the calls in them carry no trace context).",
	    NULL);
	NEW(gauge, propagation, "autotrace_agent_propagation_info",
	    "The mechanism carrying trace context to the next service: sk_msg, or none.",
	    mechanism_label);
	NEW(counter, spans_produced, "autotrace_agent_spans_produced_total",
	    "Spans built from the ring buffer and handed to the exporter.", NULL);
	NEW(counter, spans_exported, "autotrace_agent_spans_exported_total",
	    "Spans the collector accepted.", NULL);
	NEW(counter, spans_dropped, "autotrace_agent_spans_dropped_total",
	    "Spans lost, by reason: ringbuf_full and inflight in the kernel, the exporter's "
	    "queue_full, retries_exhausted, rejected and shutdown.",
	    reason_label);
	NEW(counter, export_requests, "autotrace_agent_export_requests_total",
	    "OTLP export attempts, by result.", result_label);
	NEW(gauge, queue_length, "autotrace_agent_export_queue_length", "Spans waiting to be exported.",
	    NULL);
	NEW(gauge, config_info, "autotrace_agent_config_info",
	    "The config in force: 1 for its revision (empty: environment only).", config_labels);
	NEW(gauge, config_failed, "autotrace_agent_config_last_load_failed",
	    "1 when the last config file read was refused and the previous config kept.", NULL);
	NEW(counter, config_errors, "autotrace_agent_config_errors_total",
	    "Config files refused (the previous config stays).", NULL);
	if (rc < 0) {
		self_metrics_free(m);
		return rc;
	}
	self_metrics_config(m, "", "", 0);
	*ret = m;
	return 0;
}

struct self_metrics *self_metrics_free(struct self_metrics *m)
{
	if (!m)
		return NULL;
	metrics_registry_free(m->reg);
	free(m);
	return NULL;
}

void self_metrics_config(struct self_metrics *m, const char *revision, const char *instrumentation,
			 int last_load_failed)
{
	const char *old[] = { m->revision, m->instrumentation };

	/* An info metric: the old revision's series goes to 0, the new one is 1. */
	metrics_gauge_set_labels(m->config_info, old, 0);
	snprintf(m->revision, sizeof(m->revision), "%s", revision);
	snprintf(m->instrumentation, sizeof(m->instrumentation), "%s", instrumentation);
	const char *now[] = { m->revision, m->instrumentation };
	metrics_gauge_set_labels(m->config_info, now, 1);
	metrics_gauge_set(m->config_failed, last_load_failed);
}

void self_metrics_config_error(struct self_metrics *m)
{
	metrics_counter_inc(m->config_errors);
	metrics_gauge_set(m->config_failed, 1);
}

/* Counters kept elsewhere become registry counters by their increase since the last
 * scrape. */
static void add_delta(struct metrics_counter *c, const char *label, uint64_t now, uint64_t before)
{
	if (now <= before)
		return;
	if (label) {
		const char *v[] = { label };
		metrics_counter_add_labels(c, v, (double)(now - before));
	} else {
		metrics_counter_add(c, (double)(now - before));
	}
}

struct red_collect {
	struct red_series *s;
	size_t n, cap;
	int rc;
};

static void collect_red(void *ud, const char *method, unsigned status, const uint64_t *buckets,
			uint64_t count, double sum)
{
	struct red_collect *c = ud;

	if (c->rc < 0)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct red_series *p = realloc(c->s, cap * sizeof(*p));
		if (!p) {
			c->rc = -ENOMEM;
			return;
		}
		c->s = p;
		c->cap = cap;
	}
	struct red_series *r = &c->s[c->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->method, sizeof(r->method), "%s", method);
	r->status_code = status;
	size_t nb = tracer_duration_bucket_count;
	if (nb > sizeof(r->buckets) / sizeof(r->buckets[0]))
		nb = sizeof(r->buckets) / sizeof(r->buckets[0]);
	memcpy(r->buckets, buckets, nb * sizeof(uint64_t));
	r->count = count;
	r->sum_seconds = sum;
}

void self_metrics_pods(struct self_metrics *m, uint64_t pods)
{
	m->pods_set = 1;
	metrics_gauge_set(m->pods, (double)pods);
}

struct client_collect {
	struct prom_text *out;
	int rc;
};

static void collect_client(void *ud, const char *method, unsigned status, int failed,
			   const char *address, unsigned port, const uint64_t *buckets,
			   uint64_t count, double sum)
{
	struct client_collect *c = ud;
	struct red_client_series s = {
		.method = method, .status_code = status, .failed = failed,
		.server_address = address, .server_port = port,
		.buckets = buckets, .count = count, .sum_seconds = sum,
	};

	if (c->rc == 0)
		c->rc = red_metrics_client_series(&s, tracer_duration_bounds_seconds,
						  tracer_duration_bucket_count - 1, c->out);
}

/* http_client_request_duration_seconds: the header, then each series as it is read. */
static int red_metrics_client(struct tracer *t, struct prom_text *out)
{
	struct client_collect c = { .out = out };
	int rc = red_metrics_client_header(out);

	if (rc == 0)
		rc = tracer_client_red_foreach(t, collect_client, &c);
	return rc ? rc : c.rc;
}

struct db_collect {
	struct db_red_metrics *m;
	int rc;
};

static void collect_db(void *ud, const char *system, const char *operation, int failed,
		       const uint64_t *buckets, uint64_t count, double sum)
{
	struct db_collect *c = ud;

	if (c->rc == 0)
		c->rc = db_red_metrics_add(c->m, system, operation, failed, buckets,
					   tracer_db_duration_bucket_count, count, sum);
}

/* db_client_operation_duration_seconds: the kernel's series summed by label first. */
static int red_metrics_db(struct tracer *t, struct prom_text *out)
{
	struct db_collect c = { 0 };
	int rc = db_red_metrics_new(&c.m);

	if (rc == 0)
		rc = tracer_db_red_foreach(t, collect_db, &c);
	if (rc == 0)
		rc = c.rc;
	if (rc == 0)
		rc = db_red_metrics_format(c.m, tracer_db_duration_bounds_seconds,
					   tracer_db_duration_bucket_count - 1, out);
	db_red_metrics_free(c.m);
	return rc;
}

int self_metrics_scrape(struct self_metrics *m, struct tracer *t, struct otlp_exporter *ex,
			struct prom_text *out)
{
	struct otlp_exporter_stats e;

	if (ex)
		otlp_exporter_get_stats(ex, &e);
	return self_metrics_scrape_stats(m, t, ex ? &e : NULL, out);
}

int self_metrics_scrape_stats(struct self_metrics *m, struct tracer *t,
			      const struct otlp_exporter_stats *ex, struct prom_text *out)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (t) {
		struct tracer_stats s;
		tracer_get_stats(t, &s);
		metrics_gauge_set(m->processes, (double)s.processes);
		if (!m->pods_set)
			metrics_gauge_set(m->pods, s.processes ? 1 : 0);
		metrics_gauge_set(m->probes, (double)s.probes_attached);
		uint64_t server = 0, client = 0;

		if (tracer_in_flight(t, &server, &client) == 0) {
			const char *srv[] = { "server" }, *cli[] = { "client" };

			metrics_gauge_set_labels(m->in_flight, srv, (double)server);
			metrics_gauge_set_labels(m->in_flight, cli, (double)client);
		}
		add_delta(m->probe_failures, NULL, s.probes_failed, m->last_t.probes_failed);
		for (int r = 0; r < TRACER_SKIP_REASONS; r++)
			add_delta(m->skipped, tracer_skip_reason_name(r), s.skipped[r], m->last_t.skipped[r]);
		add_delta(m->requests, NULL, s.requests, m->last_t.requests);
		add_delta(m->sampled, NULL, s.sampled, m->last_t.sampled);
		add_delta(m->traceparents, NULL, s.traceparent_found, m->last_t.traceparent_found);
		add_delta(m->client_calls, NULL, s.client_calls, m->last_t.client_calls);
		add_delta(m->client_sampled, NULL, s.client_sampled, m->last_t.client_sampled);
		add_delta(m->tp_sent, "injected", s.tp_injected, m->last_t.tp_injected);
		add_delta(m->tp_sent, "left_alone", s.tp_left_alone, m->last_t.tp_left_alone);
		add_delta(m->tp_sent, "failed", s.tp_failed, m->last_t.tp_failed);
		add_delta(m->tp_sent, "http2", s.tp_http2, m->last_t.tp_http2);
		add_delta(m->grpc_tp_sent, "injected", s.grpc_tp_injected,
			  m->last_t.grpc_tp_injected);
		add_delta(m->grpc_tp_sent, "left_alone", s.grpc_tp_left_alone,
			  m->last_t.grpc_tp_left_alone);
		add_delta(m->grpc_tp_sent, "missed", s.grpc_tp_missed, m->last_t.grpc_tp_missed);
		add_delta(m->h2_out_of_step, NULL, s.h2_out_of_step, m->last_t.h2_out_of_step);
		add_delta(m->spans_dropped, "ringbuf_full", s.client_ringbuf_drops,
			  m->last_t.client_ringbuf_drops);
		add_delta(m->spans_dropped, "ringbuf_full", s.db_ringbuf_drops,
			  m->last_t.db_ringbuf_drops);
		if (m->mechanism != s.propagation) {
			const char *old[] = { m->mechanism ? m->mechanism : "none" }, *now[] = { s.propagation };

			metrics_gauge_set_labels(m->propagation, old, 0);
			metrics_gauge_set_labels(m->propagation, now, 1);
			m->mechanism = s.propagation;
		}
		add_delta(m->spans_produced, NULL, s.spans_delivered, m->last_t.spans_delivered);
		add_delta(m->spans_dropped, "ringbuf_full", s.ringbuf_drops, m->last_t.ringbuf_drops);
		add_delta(m->spans_dropped, "inflight", s.inflight_drops, m->last_t.inflight_drops);
		m->last_t = s;
	}
	if (ex) {
		struct otlp_exporter_stats e = *ex;
		add_delta(m->spans_exported, NULL, e.spans_exported, m->last_e.spans_exported);
		for (int r = 0; r < OTLP_DROP__COUNT; r++)
			add_delta(m->spans_dropped, otlp_drop_reason_name(r), e.spans_dropped[r],
				  m->last_e.spans_dropped[r]);
		for (int r = 0; r < OTLP_REQUEST__COUNT; r++)
			add_delta(m->export_requests, otlp_request_result_name(r), e.requests[r],
				  m->last_e.requests[r]);
		metrics_gauge_set(m->queue_length, (double)e.queue_length);
		m->last_e = e;
	}
	rc = metrics_registry_format(m->reg, &text, &len);
	if (rc == 0)
		rc = prom_text_appendf(out, "%.*s", (int)len, text);
	free(text);
	if (rc == 0 && ex) {
		const char *fam = "autotrace_agent_export_duration_seconds";
		double sum = (double)m->last_e.latency_sum_ns / 1e9;
		rc = prom_text_histogram_header(out, fam, "Duration of OTLP export requests.");
		if (rc == 0)
			rc = prom_text_histogram_series(out, fam, "", otlp_latency_bounds_seconds,
							OTLP_LATENCY_BUCKETS, m->last_e.latency_buckets,
							m->last_e.latency_count, sum);
	}
	if (rc == 0 && t) {
		struct red_collect c = { 0 };
		rc = tracer_red_foreach(t, collect_red, &c);
		if (rc == 0)
			rc = c.rc;
		if (rc == 0)
			rc = red_metrics_format(c.s, c.n, tracer_duration_bounds_seconds,
						tracer_duration_bucket_count - 1, out);
		free(c.s);
	}
	if (rc == 0 && t)
		rc = red_metrics_client(t, out);
	if (rc == 0 && t)
		rc = red_metrics_db(t, out);
	if (rc == 0 && t)
		rc = rpc_red_metrics_scrape(t, out);
	return rc;
}
