/* One batch, from its first attempt to its outcome: exported, refused, or dropped
 * when its retry budget or the shutdown deadline runs out. */
#include <pthread.h>

#include "lib/log/log.h"
#include "lib/otlp/exporter_internal.h"
#include "lib/otlp/retry.h"

static uint32_t next_random(struct otlp_exporter *ex)
{
	/* xorshift64*: jitter only needs spread, not secrecy. */
	ex->rng ^= ex->rng >> 12;
	ex->rng ^= ex->rng << 25;
	ex->rng ^= ex->rng >> 27;
	return (uint32_t)((ex->rng * 2685821657736338717ULL) >> 32);
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

/* One batch: attempts, each followed by a backoff (or the server's Retry-After) while
 * the batch's time budget, or the shutdown deadline, allows another. A new config
 * re-encodes the batch and cuts the wait short. */
void exporter_export_batch(struct otlp_exporter *ex, size_t n)
{
	uint64_t start = now_ns(), encoded_generation = 0;
	bool encoded = false;

	for (unsigned tries = 0;; tries++) {
		uint64_t generation, retry_after_ms = 0, delay_ns, limit;
		struct export_config *cfg = exporter_current_config(ex, &generation);
		enum attempt_outcome out;
		bool has_retry_after, stopping;

		if (!encoded || generation != encoded_generation) {
			if (exporter_encode_batch(ex, cfg, n) < 0) {
				log_debug("otlp", "cannot encode a batch of %zu spans", n);
				counter_add(&ex->c.requests[OTLP_REQUEST_PERMANENT_ERROR], 1);
				counter_add(&ex->c.dropped[OTLP_DROP_REJECTED], n);
				export_config_unref(cfg);
				return;
			}
			encoded = true;
			encoded_generation = generation;
		}
		out = exporter_attempt(ex, cfg, n, &retry_after_ms, &has_retry_after);
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
			counter_add(&ex->c.dropped[stopping ? OTLP_DROP_SHUTDOWN
							    : OTLP_DROP_RETRIES_EXHAUSTED],
				    n);
			log_debug("otlp", "giving up on %zu spans after %u attempts", n, tries + 1);
			return;
		}
		if (!wait_to_retry(ex, now_ns() + delay_ns, generation)) {
			counter_add(&ex->c.dropped[OTLP_DROP_SHUTDOWN], n);
			return;
		}
	}
}
