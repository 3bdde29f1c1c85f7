#include "lib/otlp/exporter.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/log/log.h"
#include "lib/otlp/buf.h"
#include "lib/otlp/encode_json.h"
#include "lib/otlp/encode_proto.h"
#include "lib/otlp/export_config.h"
#include "lib/otlp/gzip.h"
#include "lib/otlp/http_post.h"
#include "lib/otlp/queue.h"
#include "lib/otlp/response.h"

#define NSEC_PER_MSEC 1000000ULL
/* Spans moved out of the queue per lock hold, so that enqueuers wait for a short copy
 * at most, not for a whole batch. */
#define POP_CHUNK 64

const double otlp_latency_bounds_seconds[OTLP_LATENCY_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

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

	struct counters c; /* atomic increments; read without mu */

	/* The worker's own. */
	struct otlp_http *http;
	struct otlp_span *batch;
	struct otlp_buf body, gz;
	uint64_t rng;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct timespec to_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ULL),
				  .tv_nsec = (long)(ns % 1000000000ULL) };
}

static void count(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static uint32_t next_random(struct otlp_exporter *ex)
{
	/* xorshift64*: jitter only needs spread, not secrecy. */
	ex->rng ^= ex->rng >> 12;
	ex->rng ^= ex->rng << 25;
	ex->rng ^= ex->rng >> 27;
	return (uint32_t)((ex->rng * 2685821657736338717ULL) >> 32);
}

const char *otlp_drop_reason_name(enum otlp_drop_reason reason)
{
	static const char *const names[OTLP_DROP__COUNT] = {
		[OTLP_DROP_QUEUE_FULL] = "queue_full",
		[OTLP_DROP_RETRIES_EXHAUSTED] = "retries_exhausted",
		[OTLP_DROP_REJECTED] = "rejected",
		[OTLP_DROP_SHUTDOWN] = "shutdown",
	};

	return (unsigned)reason < OTLP_DROP__COUNT ? names[reason] : "unknown";
}

const char *otlp_request_result_name(enum otlp_request_result result)
{
	static const char *const names[OTLP_REQUEST__COUNT] = {
		[OTLP_REQUEST_SUCCESS] = "success",
		[OTLP_REQUEST_PARTIAL_SUCCESS] = "partial_success",
		[OTLP_REQUEST_RETRYABLE_ERROR] = "retryable_error",
		[OTLP_REQUEST_PERMANENT_ERROR] = "permanent_error",
	};

	return (unsigned)result < OTLP_REQUEST__COUNT ? names[result] : "unknown";
}

static void record_latency(struct otlp_exporter *ex, uint64_t ns)
{
	double s = (double)ns / 1e9;
	size_t b = 0;

	while (b < OTLP_LATENCY_BUCKETS && s > otlp_latency_bounds_seconds[b])
		b++;
	count(&ex->c.latency_buckets[b], 1);
	count(&ex->c.latency_sum_ns, ns);
	count(&ex->c.latency_count, 1);
}

/* ---- one batch ---- */

/* What one HTTP attempt came to. */
enum attempt_outcome {
	ATTEMPT_DONE,  /* exported, or refused for good: counted */
	ATTEMPT_RETRY, /* retryable; *retry_after_ms set when the server said when */
};

static int encode_batch(struct otlp_exporter *ex, const struct export_config *cfg, size_t n)
{
	int err;

	ex->body.len = 0;
	if (cfg->protocol == OTLP_PROTOCOL_HTTP_JSON)
		err = otlp_encode_json(cfg->resource, ex->scope_version, ex->batch, n, &ex->body);
	else
		err = otlp_encode_proto(cfg->resource, ex->scope_version, ex->batch, n, &ex->body);
	if (err < 0 || !cfg->gzip)
		return err;
	return otlp_gzip(ex->body.data, ex->body.len, &ex->gz);
}

static void accept_response(struct otlp_exporter *ex, const struct export_config *cfg,
			    const struct otlp_http_response *resp, size_t n)
{
	struct otlp_response parsed;
	uint64_t rejected = 0;

	if (!resp->body_truncated &&
	    otlp_response_parse(resp->body, resp->body_len, cfg->protocol, OTLP_RESPONSE_EXPORT,
				&parsed) == 0 &&
	    parsed.rejected_spans > 0) {
		rejected = (uint64_t)parsed.rejected_spans < n ? (uint64_t)parsed.rejected_spans : n;
		log_debug("otlp", "collector rejected %llu of %zu spans: %s",
			  (unsigned long long)rejected, n, parsed.message);
	}
	count(&ex->c.exported, n - rejected);
	count(&ex->c.dropped[OTLP_DROP_REJECTED], rejected);
	count(&ex->c.requests[rejected ? OTLP_REQUEST_PARTIAL_SUCCESS : OTLP_REQUEST_SUCCESS], 1);
}

static void log_refusal(const struct export_config *cfg, const struct otlp_http_response *resp)
{
	struct otlp_response parsed;
	char msg[OTLP_RESPONSE_MESSAGE_MAX];

	if (!log_enabled(LOG_DEBUG))
		return;
	if (otlp_response_parse(resp->body, resp->body_len, cfg->protocol, OTLP_RESPONSE_STATUS,
				&parsed) == 0 && parsed.message[0])
		snprintf(msg, sizeof(msg), "%s", parsed.message);
	else
		otlp_response_copy_message(msg, (const char *)resp->body, resp->body_len);
	log_debug("otlp", "POST %s: HTTP %ld: %s", cfg->url, resp->status, msg);
}

static enum attempt_outcome attempt(struct otlp_exporter *ex, const struct export_config *cfg,
				    size_t n, uint64_t *ret_retry_after_ms, bool *ret_has_retry_after)
{
	struct otlp_http_response resp;
	struct otlp_http_request req = {
		.url = cfg->url,
		.content_type = otlp_protocol_content_type(cfg->protocol),
		.gzip = cfg->gzip,
		.headers = (const char *const *)cfg->header_lines,
		.n_headers = cfg->n_headers,
		.body = cfg->gzip ? ex->gz.data : ex->body.data,
		.len = cfg->gzip ? ex->gz.len : ex->body.len,
		.timeout_ms = cfg->timeout_ms,
		.ca_file = cfg->ca_file,
		.cert_file = cfg->cert_file,
		.key_file = cfg->key_file,
		.insecure_skip_verify = cfg->insecure_skip_verify,
		.abort_at_ns = &ex->stop_deadline_ns,
	};
	uint64_t t0 = now_ns();
	int err;

	err = otlp_http_post(ex->http, &req, &resp);
	record_latency(ex, now_ns() - t0);
	*ret_has_retry_after = false;
	if (err < 0) {
		log_debug("otlp", "POST %s: %s", cfg->url, resp.error);
		count(&ex->c.requests[OTLP_REQUEST_RETRYABLE_ERROR], 1);
		return ATTEMPT_RETRY;
	}
	if (resp.status >= 200 && resp.status < 300) {
		accept_response(ex, cfg, &resp, n);
		return ATTEMPT_DONE;
	}
	log_refusal(cfg, &resp);
	if (otlp_http_status_retryable(resp.status)) {
		count(&ex->c.requests[OTLP_REQUEST_RETRYABLE_ERROR], 1);
		if (resp.has_retry_after &&
		    otlp_retry_after_parse(resp.retry_after, time(NULL), ret_retry_after_ms) == 0)
			*ret_has_retry_after = true;
		return ATTEMPT_RETRY;
	}
	count(&ex->c.requests[OTLP_REQUEST_PERMANENT_ERROR], 1);
	count(&ex->c.dropped[OTLP_DROP_REJECTED], n);
	return ATTEMPT_DONE;
}

/* The current config, with a reference for the caller. */
static struct export_config *current_config(struct otlp_exporter *ex, uint64_t *ret_generation)
{
	struct export_config *cfg;

	pthread_mutex_lock(&ex->mu);
	cfg = export_config_ref(ex->config);
	*ret_generation = ex->config_generation;
	pthread_mutex_unlock(&ex->mu);
	return cfg;
}

/* Waits until wake_at, or less when shutdown makes waiting pointless or a new config
 * arrives. Returns false when the batch must be given up for shutdown. */
static bool wait_to_retry(struct otlp_exporter *ex, uint64_t wake_at, uint64_t generation)
{
	bool go_on = true;

	pthread_mutex_lock(&ex->mu);
	for (;;) {
		struct timespec ts;

		if (ex->stopping && wake_at > ex->stop_deadline_ns) {
			go_on = false;
			break;
		}
		if (ex->config_generation != generation || now_ns() >= wake_at)
			break;
		ts = to_timespec(wake_at);
		pthread_cond_timedwait(&ex->work_cv, &ex->mu, &ts);
	}
	pthread_mutex_unlock(&ex->mu);
	return go_on;
}

/* Sends ex->batch[0..n) until it is exported, refused, or out of time; counts it. */
static void export_batch(struct otlp_exporter *ex, size_t n)
{
	uint64_t start = now_ns(), encoded_generation = 0;
	bool encoded = false;

	for (unsigned tries = 0;; tries++) {
		uint64_t generation, retry_after_ms = 0, delay_ns, limit;
		struct export_config *cfg = current_config(ex, &generation);
		enum attempt_outcome out;
		bool has_retry_after, stopping;

		if (!encoded || generation != encoded_generation) {
			if (encode_batch(ex, cfg, n) < 0) {
				log_debug("otlp", "cannot encode a batch of %zu spans", n);
				count(&ex->c.requests[OTLP_REQUEST_PERMANENT_ERROR], 1);
				count(&ex->c.dropped[OTLP_DROP_REJECTED], n);
				export_config_unref(cfg);
				return;
			}
			encoded = true;
			encoded_generation = generation;
		}
		out = attempt(ex, cfg, n, &retry_after_ms, &has_retry_after);
		export_config_unref(cfg);
		if (out == ATTEMPT_DONE)
			return;

		delay_ns = (has_retry_after ? retry_after_ms
					    : otlp_backoff_delay_ms(&ex->backoff, tries, next_random(ex))) *
			   NSEC_PER_MSEC;
		pthread_mutex_lock(&ex->mu);
		stopping = ex->stopping;
		limit = stopping ? ex->stop_deadline_ns : start + ex->max_elapsed_ns;
		pthread_mutex_unlock(&ex->mu);
		if (now_ns() + delay_ns > limit) {
			count(&ex->c.dropped[stopping ? OTLP_DROP_SHUTDOWN : OTLP_DROP_RETRIES_EXHAUSTED], n);
			log_debug("otlp", "giving up on %zu spans after %u attempts", n, tries + 1);
			return;
		}
		if (!wait_to_retry(ex, now_ns() + delay_ns, generation)) {
			count(&ex->c.dropped[OTLP_DROP_SHUTDOWN], n);
			return;
		}
	}
}

/* ---- the worker ---- */

/* Whether a batch should go now (under mu). Sets *ret_wake_at to when one will be due. */
static bool batch_due(struct otlp_exporter *ex, uint64_t now, uint64_t *ret_wake_at)
{
	size_t len = otlp_queue_len(ex->queue);

	*ret_wake_at = 0;
	if (len == 0)
		return false;
	if (len >= ex->max_batch || ex->stopping || ex->flush_requested)
		return true;
	*ret_wake_at = ex->first_pending_ns + ex->max_delay_ns;
	return now >= *ret_wake_at;
}

/* Moves up to max_batch spans into ex->batch; called with mu held, returns with it held
 * but drops it between chunks. */
static size_t take_batch(struct otlp_exporter *ex)
{
	size_t n = 0, k;

	do {
		if (n) {
			pthread_mutex_unlock(&ex->mu);
			pthread_mutex_lock(&ex->mu);
		}
		k = ex->max_batch - n < POP_CHUNK ? ex->max_batch - n : POP_CHUNK;
		k = otlp_queue_pop(ex->queue, ex->batch + n, k);
		n += k;
		ex->in_flight = n;
	} while (k && n < ex->max_batch);
	if (otlp_queue_len(ex->queue) == 0)
		ex->first_pending_ns = 0;
	return n;
}

static void *worker_main(void *arg)
{
	struct otlp_exporter *ex = arg;

	pthread_mutex_lock(&ex->mu);
	for (;;) {
		uint64_t now = now_ns(), wake_at;
		size_t n;

		if (ex->stopping && now >= ex->stop_deadline_ns) {
			size_t left = otlp_queue_len(ex->queue);

			count(&ex->c.dropped[OTLP_DROP_SHUTDOWN], left);
			while (otlp_queue_pop(ex->queue, ex->batch, ex->max_batch))
				;
			break;
		}
		if (!batch_due(ex, now, &wake_at)) {
			if (otlp_queue_len(ex->queue) == 0) {
				ex->flush_requested = false;
				pthread_cond_broadcast(&ex->idle_cv);
				if (ex->stopping)
					break;
				pthread_cond_wait(&ex->work_cv, &ex->mu);
			} else {
				struct timespec ts = to_timespec(wake_at);

				pthread_cond_timedwait(&ex->work_cv, &ex->mu, &ts);
			}
			continue;
		}
		n = take_batch(ex);
		pthread_mutex_unlock(&ex->mu);
		export_batch(ex, n);
		pthread_mutex_lock(&ex->mu);
		ex->in_flight = 0;
	}
	ex->in_flight = 0;
	pthread_cond_broadcast(&ex->idle_cv);
	pthread_mutex_unlock(&ex->mu);
	return NULL;
}

/* ---- the API ---- */

int otlp_exporter_new(const struct otlp_exporter_options *opts,
		      const struct otlp_exporter_config *config, struct otlp_exporter **ret_exporter)
{
	struct otlp_exporter *ex;
	pthread_condattr_t ca;
	sigset_t all, saved;
	size_t capacity = opts->queue_capacity ? opts->queue_capacity : 2048;
	int err;

	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return -ENOMEM;
	pthread_mutex_init(&ex->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ex->work_cv, &ca);
	pthread_cond_init(&ex->idle_cv, &ca);
	pthread_condattr_destroy(&ca);

	ex->max_batch = opts->max_batch ? opts->max_batch : 512;
	if (ex->max_batch > capacity)
		ex->max_batch = capacity; /* a batch larger than the queue would never fill */
	ex->max_delay_ns = (opts->max_delay_ms ? opts->max_delay_ms : 5000) * NSEC_PER_MSEC;
	ex->max_elapsed_ns = (opts->max_elapsed_ms ? opts->max_elapsed_ms : 60000) * NSEC_PER_MSEC;
	ex->backoff = opts->backoff.initial_ms ? opts->backoff : OTLP_BACKOFF_DEFAULT;
	if (getrandom(&ex->rng, sizeof(ex->rng), 0) != sizeof(ex->rng) || !ex->rng)
		ex->rng = now_ns() | 1;

	err = export_config_new(config, opts->resource, &ex->config);
	if (err < 0)
		goto fail;
	ex->config_generation = 1;
	err = -ENOMEM;
	if (opts->scope_version && !(ex->scope_version = strdup(opts->scope_version)))
		goto fail;
	ex->batch = calloc(ex->max_batch, sizeof(*ex->batch));
	if (!ex->batch)
		goto fail;
	err = otlp_queue_new(capacity, &ex->queue);
	if (err < 0)
		goto fail;
	err = otlp_http_new(&ex->http);
	if (err < 0)
		goto fail;
	/* The worker takes no signals: they stay with the daemon's own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	err = -pthread_create(&ex->worker, NULL, worker_main, ex);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err < 0)
		goto fail;
	pthread_setname_np(ex->worker, "otlp-export");
	ex->worker_started = true;
	*ret_exporter = ex;
	return 0;
fail:
	otlp_exporter_free(ex);
	return err;
}

int otlp_exporter_enqueue(struct otlp_exporter *ex, const struct otlp_span *span)
{
	size_t len;

	count(&ex->c.enqueued, 1);
	pthread_mutex_lock(&ex->mu);
	if (ex->stopping) {
		pthread_mutex_unlock(&ex->mu);
		count(&ex->c.dropped[OTLP_DROP_SHUTDOWN], 1);
		return -ESHUTDOWN;
	}
	if (otlp_queue_len(ex->queue) == 0)
		ex->first_pending_ns = now_ns();
	if (otlp_queue_push(ex->queue, span))
		count(&ex->c.dropped[OTLP_DROP_QUEUE_FULL], 1);
	len = otlp_queue_len(ex->queue);
	/* Wake the worker only when its plan changes: a first span starts the delay
	 * timer, a full batch is due now. */
	if (len == 1 || len == ex->max_batch)
		pthread_cond_signal(&ex->work_cv);
	pthread_mutex_unlock(&ex->mu);
	return 0;
}

static void install_config(struct otlp_exporter *ex, struct export_config *cfg)
{
	struct export_config *old;

	pthread_mutex_lock(&ex->mu);
	old = ex->config;
	ex->config = cfg;
	ex->config_generation++;
	pthread_cond_broadcast(&ex->work_cv);
	pthread_mutex_unlock(&ex->mu);
	export_config_unref(old);
}

int otlp_exporter_set_config(struct otlp_exporter *ex, const struct otlp_exporter_config *config)
{
	struct export_config *cur, *cfg;
	uint64_t generation;
	int err;

	cur = current_config(ex, &generation);
	err = export_config_new(config, cur->resource, &cfg);
	export_config_unref(cur);
	if (err < 0)
		return err;
	install_config(ex, cfg);
	return 0;
}

int otlp_exporter_set_resource(struct otlp_exporter *ex, const struct otlp_resource *res)
{
	struct export_config *cur, *cfg;
	uint64_t generation;
	int err;

	cur = current_config(ex, &generation);
	err = export_config_with_resource(cur, res, &cfg);
	export_config_unref(cur);
	if (err < 0)
		return err;
	install_config(ex, cfg);
	return 0;
}

int otlp_exporter_flush(struct otlp_exporter *ex, uint32_t timeout_ms)
{
	struct timespec ts = to_timespec(now_ns() + timeout_ms * NSEC_PER_MSEC);
	int err = 0;

	pthread_mutex_lock(&ex->mu);
	ex->flush_requested = true;
	pthread_cond_signal(&ex->work_cv);
	while (otlp_queue_len(ex->queue) || ex->in_flight) {
		if (ex->shut_down || pthread_cond_timedwait(&ex->idle_cv, &ex->mu, &ts) == ETIMEDOUT) {
			err = otlp_queue_len(ex->queue) || ex->in_flight ? -ETIMEDOUT : 0;
			break;
		}
	}
	pthread_mutex_unlock(&ex->mu);
	return err;
}

int otlp_exporter_shutdown(struct otlp_exporter *ex, uint32_t timeout_ms,
			   struct otlp_shutdown_report *ret_report)
{
	struct otlp_shutdown_report rep = { 0 };
	uint64_t exported0, dropped0 = 0;

	pthread_mutex_lock(&ex->mu);
	if (ex->stopping) {
		pthread_mutex_unlock(&ex->mu);
		return -EALREADY;
	}
	rep.queued = otlp_queue_len(ex->queue) + ex->in_flight;
	exported0 = load(&ex->c.exported);
	for (int r = 0; r < OTLP_DROP__COUNT; r++)
		dropped0 += load(&ex->c.dropped[r]);
	ex->stopping = true;
	__atomic_store_n(&ex->stop_deadline_ns, now_ns() + timeout_ms * NSEC_PER_MSEC,
			 __ATOMIC_RELAXED);
	pthread_cond_broadcast(&ex->work_cv);
	pthread_mutex_unlock(&ex->mu);

	if (ex->worker_started)
		pthread_join(ex->worker, NULL);
	ex->worker_started = false;

	pthread_mutex_lock(&ex->mu);
	ex->shut_down = true;
	pthread_cond_broadcast(&ex->idle_cv);
	pthread_mutex_unlock(&ex->mu);
	rep.exported = load(&ex->c.exported) - exported0;
	for (int r = 0; r < OTLP_DROP__COUNT; r++)
		rep.dropped += load(&ex->c.dropped[r]);
	rep.dropped -= dropped0;
	if (ret_report)
		*ret_report = rep;
	return 0;
}

struct otlp_exporter *otlp_exporter_free(struct otlp_exporter *ex)
{
	if (!ex)
		return NULL;
	if (ex->worker_started)
		otlp_exporter_shutdown(ex, 0, NULL);
	otlp_http_free(ex->http);
	otlp_queue_free(ex->queue);
	export_config_unref(ex->config);
	otlp_buf_free(&ex->body);
	otlp_buf_free(&ex->gz);
	free(ex->batch);
	free(ex->scope_version);
	pthread_cond_destroy(&ex->work_cv);
	pthread_cond_destroy(&ex->idle_cv);
	pthread_mutex_destroy(&ex->mu);
	free(ex);
	return NULL;
}

void otlp_exporter_get_stats(struct otlp_exporter *ex, struct otlp_exporter_stats *ret_stats)
{
	struct otlp_exporter_stats s = { 0 };

	s.spans_enqueued = load(&ex->c.enqueued);
	s.spans_exported = load(&ex->c.exported);
	for (int i = 0; i < OTLP_DROP__COUNT; i++)
		s.spans_dropped[i] = load(&ex->c.dropped[i]);
	for (int i = 0; i < OTLP_REQUEST__COUNT; i++)
		s.requests[i] = load(&ex->c.requests[i]);
	for (int i = 0; i <= OTLP_LATENCY_BUCKETS; i++)
		s.latency_buckets[i] = load(&ex->c.latency_buckets[i]);
	s.latency_count = load(&ex->c.latency_count);
	s.latency_sum_ns = load(&ex->c.latency_sum_ns);
	pthread_mutex_lock(&ex->mu);
	s.queue_length = otlp_queue_len(ex->queue);
	s.queue_capacity = otlp_queue_capacity(ex->queue);
	s.in_flight = ex->in_flight;
	s.config_generation = ex->config_generation;
	pthread_mutex_unlock(&ex->mu);
	*ret_stats = s;
}

void otlp_exporter_get_url(struct otlp_exporter *ex, char *buf, size_t size)
{
	pthread_mutex_lock(&ex->mu);
	snprintf(buf, size, "%s", ex->config->url);
	pthread_mutex_unlock(&ex->mu);
}
