/* The span exporter: the agent hands it spans with otlp_exporter_enqueue, which copies
 * them into a bounded queue and never waits on the network; a worker thread batches
 * them (by count and by age), encodes them (OTLP protobuf or JSON, optionally gzip),
 * POSTs them to <endpoint>/v1/traces and retries the answers OTLP says to retry
 * (429, 502, 503, 504, no connection) with exponential backoff and jitter, honouring
 * Retry-After, until a per-batch time budget runs out.
 *
 * Every span ends up counted once: exported, or dropped with a reason. The endpoint,
 * encoding, headers and resource can be replaced while it runs; the next request
 * (the next batch, or the next retry of the current one) uses them.
 *
 * The caller must have called curl_global_init. Errors: 0 or a negative errno.
 *
 * A daemon wires it like this (lib/otlp/env_config.h reads the OTEL_* environment):
 *
 *	struct otlp_env_config *env;
 *	otlp_env_config_new(NULL, NULL, &env, &bad_variable);
 *	struct otlp_exporter_options opts = { .scope_version = VERSION,
 *					      .resource = &env->resource };
 *	otlp_exporter_new(&opts, &env->config, &ex);
 *	... otlp_exporter_enqueue(ex, &span) for every finished span ...
 *	... otlp_exporter_set_config(ex, &new_config) when the config changes ...
 *	... otlp_exporter_get_stats(ex, &stats) when metrics are scraped ...
 *	otlp_exporter_shutdown(ex, grace_ms, &report);  on SIGTERM
 *	otlp_exporter_free(ex);
 *	otlp_env_config_free(env);  (the exporter keeps copies) */
#ifndef AUTOTRACE_OTLP_EXPORTER_H
#define AUTOTRACE_OTLP_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/protocol.h"
#include "lib/otlp/retry.h"
#include "lib/otlp/span.h"

struct otlp_header {
	const char *name, *value;
};

/* Where and how to send; everything is copied. */
struct otlp_exporter_config {
	/* http(s)://host:port[/path]: "/v1/traces" is appended unless the path already
	 * ends with it or endpoint_is_traces_url is set (OTEL_EXPORTER_OTLP_ENDPOINT vs
	 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, which is used as it is). */
	const char *endpoint;
	bool endpoint_is_traces_url;
	enum otlp_protocol protocol;
	const struct otlp_header *headers;
	size_t n_headers;
	bool gzip;
	uint32_t timeout_ms; /* per request; 0: 10 s */
	const char *ca_file; /* TLS, all optional */
	const char *cert_file, *key_file;
	bool insecure_skip_verify;
};

/* Sizing and pacing, fixed for the exporter's life. Zero fields take the defaults. */
struct otlp_exporter_options {
	size_t queue_capacity;   /* spans; 0: 2048 */
	size_t max_batch;        /* spans per request; 0: 512 */
	uint32_t max_delay_ms;   /* longest a span waits for its batch to fill; 0: 5000 */
	struct otlp_backoff backoff; /* all zero: OTLP_BACKOFF_DEFAULT */
	uint32_t max_elapsed_ms; /* retry budget of one batch; 0: 60000 */
	const char *scope_version; /* instrumentation scope version; NULL: none */
	const struct otlp_resource *resource; /* copied; NULL: empty */
};

enum otlp_drop_reason {
	OTLP_DROP_QUEUE_FULL,        /* pushed out of a full queue, oldest first */
	OTLP_DROP_RETRIES_EXHAUSTED, /* the batch's retry budget ran out */
	OTLP_DROP_REJECTED,          /* refused: a non-retryable status or partial success */
	OTLP_DROP_SHUTDOWN,          /* still unsent at the shutdown deadline, or enqueued after */
	OTLP_DROP__COUNT,
};

/* The outcome of one HTTP attempt. */
enum otlp_request_result {
	OTLP_REQUEST_SUCCESS,
	OTLP_REQUEST_PARTIAL_SUCCESS, /* 2xx that reported rejected spans */
	OTLP_REQUEST_RETRYABLE_ERROR, /* 429/502/503/504 or no connection */
	OTLP_REQUEST_PERMANENT_ERROR, /* any other status, or an unsendable batch */
	OTLP_REQUEST__COUNT,
};

/* Label values for metrics: "queue_full", "retries_exhausted", "rejected", "shutdown";
 * "success", "partial_success", "retryable_error", "permanent_error". */
const char *otlp_drop_reason_name(enum otlp_drop_reason reason);
const char *otlp_request_result_name(enum otlp_request_result result);

/* Upper bounds in seconds of the request-latency histogram buckets; a last, implicit
 * bucket is +Inf. */
#define OTLP_LATENCY_BUCKETS 11
extern const double otlp_latency_bounds_seconds[OTLP_LATENCY_BUCKETS];

/* Monotonic counters since creation, and the queue's current fill. Every span handed
 * to otlp_exporter_enqueue is in exactly one place:
 *   spans_enqueued == spans_exported + sum(spans_dropped) + queue_length + in_flight */
struct otlp_exporter_stats {
	uint64_t spans_enqueued; /* every call to otlp_exporter_enqueue, refused ones too */
	uint64_t spans_exported;
	uint64_t spans_dropped[OTLP_DROP__COUNT];
	uint64_t requests[OTLP_REQUEST__COUNT];
	/* Request latency (every attempt): per-bucket counts, not cumulative; the last
	 * entry counts those above the largest bound. */
	uint64_t latency_buckets[OTLP_LATENCY_BUCKETS + 1];
	uint64_t latency_count;
	uint64_t latency_sum_ns;
	uint64_t queue_length, queue_capacity;
	uint64_t in_flight; /* spans in the batch being sent */
	uint64_t config_generation; /* bumped by every successful set_config/set_resource */
};

struct otlp_shutdown_report {
	uint64_t queued;    /* spans queued or in flight when shutdown began */
	uint64_t exported;  /* spans exported during shutdown */
	uint64_t dropped;   /* spans dropped during shutdown, for any reason */
};

struct otlp_exporter;

/* Returns a new exporter with its worker running; stop it with otlp_exporter_shutdown
 * and free it with otlp_exporter_free. -EINVAL (a bad endpoint or header), -ENOMEM, or
 * the error of pthread_create. */
int otlp_exporter_new(const struct otlp_exporter_options *opts,
		      const struct otlp_exporter_config *config, struct otlp_exporter **ret_exporter);

/* Copies span into the queue; never blocks on I/O (the lock it takes is held only for
 * copies). A full queue drops its oldest span (OTLP_DROP_QUEUE_FULL). Returns 0, or
 * -ESHUTDOWN after shutdown began (the span is counted as OTLP_DROP_SHUTDOWN).
 * Safe from any thread. */
int otlp_exporter_enqueue(struct otlp_exporter *ex, const struct otlp_span *span);

/* Why the last request failed, and when (unix seconds): 1 and both filled when no
 * request has succeeded since; 0 when the last one did, or none was made. buf gets at
 * most OTLP_EXPORT_ERROR_MAX bytes with its NUL. Safe from any thread. */
#define OTLP_EXPORT_ERROR_MAX 200
int otlp_exporter_last_error(struct otlp_exporter *ex, char *buf, size_t size,
			     int64_t *ret_time);

/* Spans the queue takes now before it drops its oldest: a reader that can hold spans
 * back (a ring buffer) asks first. Safe from any thread. */
size_t otlp_exporter_room(struct otlp_exporter *ex);

/* Replace the destination or the resource; the next request uses them. -EINVAL leaves
 * the current ones in place. Safe from any thread. */
int otlp_exporter_set_config(struct otlp_exporter *ex, const struct otlp_exporter_config *config);
int otlp_exporter_set_resource(struct otlp_exporter *ex, const struct otlp_resource *res);

/* Exports what is queued now without waiting for batches to fill, and waits until the
 * queue is empty and nothing is in flight. 0, or -ETIMEDOUT. */
int otlp_exporter_flush(struct otlp_exporter *ex, uint32_t timeout_ms);

/* Stops taking spans, exports what is queued within timeout_ms (retrying as usual, but
 * never past the deadline), counts the rest as OTLP_DROP_SHUTDOWN and joins the worker.
 * ret_report may be NULL. 0, or -EALREADY on a second call. */
int otlp_exporter_shutdown(struct otlp_exporter *ex, uint32_t timeout_ms,
			   struct otlp_shutdown_report *ret_report);

/* Shuts down with no grace if still running, then frees. Accepts NULL. */
struct otlp_exporter *otlp_exporter_free(struct otlp_exporter *ex);

void otlp_exporter_get_stats(struct otlp_exporter *ex, struct otlp_exporter_stats *ret_stats);

/* The URL spans are sent to under the current config, e.g. for a log line; into buf
 * (NUL-terminated, truncated to size). */
void otlp_exporter_get_url(struct otlp_exporter *ex, char *buf, size_t size);

/* Resources beside the exporter's own, for spans whose resource_id is id (not 0):
 * each pod of a node agent's Instrumentation has one. Put replaces (a copy of res),
 * remove drops (-ENOENT when there was none); spans still queued with a removed id
 * go out under the exporter's own resource. At most OTLP_EXPORTER_MAX_RESOURCES
 * (-ENOSPC), and at most 63 distinct ones per request (the others: the exporter's own). */
#define OTLP_EXPORTER_MAX_RESOURCES 4096
int otlp_exporter_put_resource(struct otlp_exporter *ex, uint32_t id, const struct otlp_resource *res);
int otlp_exporter_remove_resource(struct otlp_exporter *ex, uint32_t id);

#endif
