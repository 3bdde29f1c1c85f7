/* What the exporter's files share: the exporter itself, its clock and counter helpers,
 * and the function each file gives the others:
 *   lib/otlp/exporter.c           lifecycle: create, shut down, free
 *   lib/otlp/exporter_batching.c  the queue: enqueue, flush, and the worker that cuts
 *                                 batches by count and by age
 *   lib/otlp/exporter_retry.c     one batch until exported, refused or out of time
 *   lib/otlp/exporter_attempt.c   one encoded POST and what its answer means
 *   lib/otlp/exporter_reconfig.c  the config in use and its live replacement
 *   lib/otlp/exporter_stats.c     counters, the latency histogram, their names
 *   lib/otlp/exporter_resources.c the resources beside the config's (resource_id)
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OTLP_EXPORTER_INTERNAL_H
#define AUTOTRACE_OTLP_EXPORTER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/otlp/buf.h"
#include "lib/otlp/export_config.h"
#include "lib/otlp/exporter.h"
#include "lib/otlp/http_post.h"
#include "lib/otlp/queue.h"
#include "lib/otlp/resource_group.h"

struct shared_resource;

#define NSEC_PER_MSEC 1000000ULL

struct counters {
	uint64_t enqueued, exported;
	uint64_t dropped[OTLP_DROP__COUNT];
	uint64_t requests[OTLP_REQUEST__COUNT];
	uint64_t latency_buckets[OTLP_LATENCY_BUCKETS + 1];
	uint64_t latency_count, latency_sum_ns;
};

struct otlp_exporter {
	/* Fixed at creation. */
	size_t max_batch;
	uint64_t max_delay_ns, max_elapsed_ns;
	struct otlp_backoff backoff;
	char *scope_version;
	pthread_t worker;
	bool worker_started;

	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* worker: spans to send, shutdown, flush, new config */
	pthread_cond_t idle_cv; /* flushers: the queue drained */
	/* Under mu. */
	struct otlp_queue *queue;
	uint64_t first_pending_ns; /* when the oldest queued span arrived; 0: empty */
	size_t in_flight;
	bool flush_requested;
	bool stopping, shut_down;
	uint64_t stop_deadline_ns; /* also read by the HTTP abort check, atomically */
	struct export_config *config;
	uint64_t config_generation;
	struct shared_resource **resources; /* otlp_exporter_put_resource's */
	size_t n_resources, cap_resources;
	char last_error[OTLP_EXPORT_ERROR_MAX]; /* "": the last request succeeded */
	int64_t last_error_time;                /* unix seconds */

	struct counters c; /* atomic increments; read without mu */

	/* The worker's own. */
	struct otlp_http *http;
	struct otlp_span *batch;
	struct otlp_buf body, gz;
	uint64_t rng;
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline struct timespec to_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ULL),
				  .tv_nsec = (long)(ns % 1000000000ULL) };
}

/* The counters are bumped by several threads and read without mu. */
static inline void counter_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static inline uint64_t counter_load(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* lib/otlp/exporter_batching.c: the worker thread's body (arg: the exporter). */
void *exporter_worker_main(void *arg);

/* lib/otlp/exporter_retry.c: sends ex->batch[0..n) until it is exported, refused, or
 * out of time; counts it. Worker thread only. */
void exporter_export_batch(struct otlp_exporter *ex, size_t n);

/* lib/otlp/exporter_attempt.c. What one HTTP attempt came to: */
enum attempt_outcome {
	ATTEMPT_DONE,  /* exported, or refused for good: counted */
	ATTEMPT_RETRY, /* retryable; *retry_after_ms set when the server said when */
};

/* Encodes ex->batch[0..n) into ex->body (and ex->gz when cfg says gzip). */
int exporter_encode_batch(struct otlp_exporter *ex, const struct export_config *cfg, size_t n);
/* One POST of the encoded batch; counts the request, and the spans when it is done.
 * *ret_retry_after_ms is set, and *ret_has_retry_after true, when the server said when. */
enum attempt_outcome exporter_attempt(struct otlp_exporter *ex, const struct export_config *cfg,
				      size_t n, uint64_t *ret_retry_after_ms, bool *ret_has_retry_after);

/* lib/otlp/exporter_reconfig.c: the current config, with a reference for the caller
 * (export_config_unref), and its generation. Takes mu. */
struct export_config *exporter_current_config(struct otlp_exporter *ex, uint64_t *ret_generation);

/* lib/otlp/exporter_resources.c: the resources of one batch (the distinct ids its
 * spans name, EXPORTER_MAX_GROUPS at most; the others go under the config's). */
#define EXPORTER_MAX_GROUPS 64
struct exporter_groups {
	size_t n;
	struct otlp_resource_group items[EXPORTER_MAX_GROUPS];
	struct shared_resource *held[EXPORTER_MAX_GROUPS];
};
int exporter_groups_take(struct otlp_exporter *ex, const struct export_config *cfg, size_t n,
			 struct exporter_groups *ret);
void exporter_groups_release(struct exporter_groups *groups);
void exporter_resources_free(struct otlp_exporter *ex);

/* lib/otlp/exporter_stats.c: counts one request's latency. */
void exporter_record_latency(struct otlp_exporter *ex, uint64_t ns);

#endif
