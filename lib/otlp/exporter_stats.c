/* The exporter's counters as the daemon's metrics read them: spans by outcome,
 * requests by result, the request-latency histogram, and their label values. */
#include <pthread.h>
#include <stdio.h>

#include "lib/otlp/exporter_internal.h"

const double otlp_latency_bounds_seconds[OTLP_LATENCY_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

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

void exporter_record_latency(struct otlp_exporter *ex, uint64_t ns)
{
	double s = (double)ns / 1e9;
	size_t b = 0;

	while (b < OTLP_LATENCY_BUCKETS && s > otlp_latency_bounds_seconds[b])
		b++;
	counter_add(&ex->c.latency_buckets[b], 1);
	counter_add(&ex->c.latency_sum_ns, ns);
	counter_add(&ex->c.latency_count, 1);
}

void otlp_exporter_get_stats(struct otlp_exporter *ex, struct otlp_exporter_stats *ret_stats)
{
	struct otlp_exporter_stats s = { 0 };

	s.spans_enqueued = counter_load(&ex->c.enqueued);
	s.spans_exported = counter_load(&ex->c.exported);
	for (int i = 0; i < OTLP_DROP__COUNT; i++)
		s.spans_dropped[i] = counter_load(&ex->c.dropped[i]);
	for (int i = 0; i < OTLP_REQUEST__COUNT; i++)
		s.requests[i] = counter_load(&ex->c.requests[i]);
	for (int i = 0; i <= OTLP_LATENCY_BUCKETS; i++)
		s.latency_buckets[i] = counter_load(&ex->c.latency_buckets[i]);
	s.latency_count = counter_load(&ex->c.latency_count);
	s.latency_sum_ns = counter_load(&ex->c.latency_sum_ns);
	pthread_mutex_lock(&ex->mu);
	s.queue_length = otlp_queue_len(ex->queue);
	s.queue_capacity = otlp_queue_capacity(ex->queue);
	s.in_flight = ex->in_flight;
	s.config_generation = ex->config_generation;
	pthread_mutex_unlock(&ex->mu);
	*ret_stats = s;
}

int otlp_exporter_last_error(struct otlp_exporter *ex, char *buf, size_t size,
			     int64_t *ret_time)
{
	int has;

	pthread_mutex_lock(&ex->mu);
	has = ex->last_error[0] != '\0';
	if (has) {
		snprintf(buf, size, "%s", ex->last_error);
		*ret_time = ex->last_error_time;
	}
	pthread_mutex_unlock(&ex->mu);
	return has;
}
