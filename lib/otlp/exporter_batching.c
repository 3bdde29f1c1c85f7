/* The exporter's queue and when a batch goes: callers enqueue and flush; the worker
 * takes a batch when max_batch spans wait, when the oldest has waited max_delay, on a
 * flush, or at shutdown, and sends it off the lock. */
#include <errno.h>
#include <pthread.h>

#include "lib/otlp/exporter_internal.h"

/* Spans moved out of the queue per lock hold, so that enqueuers wait for a short copy
 * at most, not for a whole batch. */
#define POP_CHUNK 64

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

void *exporter_worker_main(void *arg)
{
	struct otlp_exporter *ex = arg;

	pthread_mutex_lock(&ex->mu);
	for (;;) {
		uint64_t now = now_ns(), wake_at;
		size_t n;

		if (ex->stopping && now >= ex->stop_deadline_ns) {
			size_t left = otlp_queue_len(ex->queue);

			counter_add(&ex->c.dropped[OTLP_DROP_SHUTDOWN], left);
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
		exporter_export_batch(ex, n);
		pthread_mutex_lock(&ex->mu);
		ex->in_flight = 0;
	}
	ex->in_flight = 0;
	pthread_cond_broadcast(&ex->idle_cv);
	pthread_mutex_unlock(&ex->mu);
	return NULL;
}

int otlp_exporter_enqueue(struct otlp_exporter *ex, const struct otlp_span *span)
{
	size_t len;

	counter_add(&ex->c.enqueued, 1);
	pthread_mutex_lock(&ex->mu);
	if (ex->stopping) {
		pthread_mutex_unlock(&ex->mu);
		counter_add(&ex->c.dropped[OTLP_DROP_SHUTDOWN], 1);
		return -ESHUTDOWN;
	}
	if (otlp_queue_len(ex->queue) == 0)
		ex->first_pending_ns = now_ns();
	if (otlp_queue_push(ex->queue, span))
		counter_add(&ex->c.dropped[OTLP_DROP_QUEUE_FULL], 1);
	len = otlp_queue_len(ex->queue);
	/* Wake the worker only when its plan changes: a first span starts the delay
	 * timer, a full batch is due now. */
	if (len == 1 || len == ex->max_batch)
		pthread_cond_signal(&ex->work_cv);
	pthread_mutex_unlock(&ex->mu);
	return 0;
}

size_t otlp_exporter_room(struct otlp_exporter *ex)
{
	size_t len, cap;

	pthread_mutex_lock(&ex->mu);
	len = otlp_queue_len(ex->queue);
	cap = otlp_queue_capacity(ex->queue);
	pthread_mutex_unlock(&ex->mu);
	return cap > len ? cap - len : 0;
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
