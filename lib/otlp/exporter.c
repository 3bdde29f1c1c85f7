/* The exporter's lifecycle: creation (sizing, the first config, the worker thread),
 * shutdown within a grace period, and freeing. The rest is in the exporter_*.c files
 * listed in exporter_internal.h. */
#include "lib/otlp/exporter.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/otlp/exporter_internal.h"

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
	err = -pthread_create(&ex->worker, NULL, exporter_worker_main, ex);
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
	exported0 = counter_load(&ex->c.exported);
	for (int r = 0; r < OTLP_DROP__COUNT; r++)
		dropped0 += counter_load(&ex->c.dropped[r]);
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
	rep.exported = counter_load(&ex->c.exported) - exported0;
	for (int r = 0; r < OTLP_DROP__COUNT; r++)
		rep.dropped += counter_load(&ex->c.dropped[r]);
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
	exporter_resources_free(ex);
	free(ex->scope_version);
	pthread_cond_destroy(&ex->work_cv);
	pthread_cond_destroy(&ex->idle_cv);
	pthread_mutex_destroy(&ex->mu);
	free(ex);
	return NULL;
}
