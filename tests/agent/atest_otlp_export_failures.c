/* The exporter against the real OTLP receiver when things go wrong: retries honour
 * Retry-After; a collector that goes away costs bounded memory and counted drops, and
 * export resumes when it returns; refusals are counted; a slow collector times out
 * and is retried; shutdown delivers a full queue within its deadline and keeps it when
 * the collector is gone. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/otlp/exporter.h"
#include "tests/support/otlp_export_fixture.h"
#include "tests/support/otlp_receiver.h"

/* Two 429s with Retry-After: 1, then success: the spans arrive no sooner than the
 * server asked (the configured backoff alone would retry after ~50 ms) and none is
 * lost or duplicated. */
static void retry_after_is_honoured_and_nothing_is_lost(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	uint64_t t0, elapsed;
	char id[17];

	assert_int_equal(otlp_receiver_set_behavior(f->rx,
						    "{\"status\":429,\"count\":2,\"retry_after\":\"1\"}"),
			 0);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	t0 = ox_mono_ms();
	for (uint32_t i = 0; i < 100; i++) {
		ox_make_span(&s, 5, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	assert_int_equal(otlp_receiver_wait_spans(f->rx, 100, 10000, &spans), 0);
	elapsed = ox_mono_ms() - t0;
	json_decref(spans);
	assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);
	ox_sleep_ms(100);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 100);
	for (uint32_t i = 0; i < 100; i++) {
		ox_span_id_hex(5, i, id);
		ox_assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 5, i, "protobuf");
	}
	json_decref(spans);
	assert_true(elapsed >= 2000);
	assert_true(elapsed < 6000);

	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.requests[OTLP_REQUEST_RETRYABLE_ERROR], 2);
	assert_int_equal(st.spans_exported, 100);
	assert_int_equal(ox_dropped_total(&st), 0);
}

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (!fp)
		return -1;
	if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(fp);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The collector disappears while spans keep coming: nothing crashes, the queue stays at
 * its capacity (memory does not grow with the spans offered), every span not delivered
 * is counted by reason, and once the collector is back new spans flow again. */
static void a_collector_outage_costs_bounded_memory_and_counted_drops(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx),
					    .timeout_ms = 500 };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	long rss_before, rss_after;
	char id[17];
	const uint32_t offered = 50000;

	opts.queue_capacity = 200;
	opts.max_batch = 50;
	opts.max_elapsed_ms = 400;
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	assert_int_equal(otlp_receiver_stop(f->rx), 0);

	rss_before = rss_kib();
	for (uint32_t i = 0; i < offered; i++) {
		ox_make_span(&s, 6, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
		if (i % 5000 == 0)
			ox_sleep_ms(100); /* let the worker fail a few batches */
	}
	rss_after = rss_kib();
	otlp_exporter_get_stats(f->ex, &st);
	assert_true(st.queue_length <= 200);
	assert_true(st.in_flight <= 50);
	assert_int_equal(st.spans_enqueued, st.spans_exported + ox_dropped_total(&st) +
						    st.queue_length + st.in_flight);
	assert_int_equal(st.queue_capacity, 200);
	/* Nearly all were pushed out of the full queue; the rest are in it, in flight, or
	 * in batches that ran out of retries. */
	assert_true(st.spans_dropped[OTLP_DROP_QUEUE_FULL] > offered / 2);
	assert_int_equal(st.spans_dropped[OTLP_DROP_QUEUE_FULL] +
				 st.spans_dropped[OTLP_DROP_RETRIES_EXHAUSTED] + st.queue_length +
				 st.in_flight,
			 offered);
	assert_int_equal(st.spans_exported, 0);
	assert_true(st.requests[OTLP_REQUEST_RETRYABLE_ERROR] > 0);
	/* 50k spans of ~1.5 KiB would be ~75 MiB if they were kept. */
	assert_true(rss_after - rss_before < 8 * 1024);

	ox_sleep_ms(600); /* the in-flight batch runs out of retry budget */
	otlp_exporter_get_stats(f->ex, &st);
	assert_true(st.spans_dropped[OTLP_DROP_RETRIES_EXHAUSTED] > 0);

	{
		char err[OTLP_EXPORT_ERROR_MAX];
		int64_t at;

		/* No collector listening: the report says why, in the transport's words. */
		assert_int_equal(otlp_exporter_last_error(f->ex, err, sizeof(err), &at), 1);
		assert_true(strlen(err) > 0);
		/* The same at every retry: no elapsed time in it. */
		assert_null(strstr(err, " ms"));
		print_message("# last export error during the outage: %s\n", err);
	}
	assert_int_equal(otlp_receiver_restart(f->rx), 0);
	for (uint32_t i = 0; i < 20; i++) {
		ox_make_span(&s, 7, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	assert_int_equal(otlp_exporter_flush(f->ex, 10000), 0);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	for (uint32_t i = 0; i < 20; i++) {
		ox_span_id_hex(7, i, id);
		ox_assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 7, i, "protobuf");
	}
	/* Every span is accounted for: exported or dropped with a reason. */
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_enqueued, offered + 20);
	assert_int_equal(st.spans_exported + ox_dropped_total(&st), st.spans_enqueued);
	assert_int_equal(st.spans_exported, json_array_size(spans));
	json_decref(spans);
}

/* A queue full of spans that no batch trigger has sent yet (one short of the batch
 * size, the delay far away): shutdown sends them all within its deadline. */
static void shutdown_delivers_a_full_queue_within_the_deadline(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_shutdown_report rep;
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	uint64_t t0;
	const uint32_t n = 7999;

	opts.queue_capacity = n + 1;
	opts.max_batch = n + 1;
	opts.max_delay_ms = 60000;
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	for (uint32_t i = 0; i < n; i++) {
		ox_make_span(&s, 8, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	ox_sleep_ms(200);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 0); /* still queued */
	json_decref(spans);

	t0 = ox_mono_ms();
	assert_int_equal(otlp_exporter_shutdown(f->ex, 5000, &rep), 0);
	assert_true(ox_mono_ms() - t0 < 5000);
	assert_int_equal(rep.queued, n);
	assert_int_equal(rep.exported, n);
	assert_int_equal(rep.dropped, 0);
	assert_int_equal(otlp_exporter_shutdown(f->ex, 5000, &rep), -EALREADY);
	ox_make_span(&s, 8, n);
	assert_int_equal(otlp_exporter_enqueue(f->ex, &s), -ESHUTDOWN);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_dropped[OTLP_DROP_SHUTDOWN], 1);
	assert_int_equal(st.spans_enqueued, n + 1);
	assert_int_equal(st.spans_exported + ox_dropped_total(&st), st.spans_enqueued);

	assert_int_equal(otlp_receiver_wait_spans(f->rx, n, 5000, &spans), 0);
	assert_int_equal(json_array_size(spans), n);
	json_decref(spans);
}

/* The shutdown of an exporter (f->ex, from opts and cfg) that got n spans of run
 * while the receiver answers as behavior says, 300 ms after they were enqueued (the
 * exporter has tried to send them by then): *ret_rep gets its report; returns the
 * milliseconds it took. */
static uint64_t shutdown_after_trying(struct ox_fixture *f, const char *behavior,
				      const struct otlp_exporter_options *opts,
				      const struct otlp_exporter_config *cfg, uint32_t run,
				      uint32_t n, int deadline_ms, struct otlp_shutdown_report *ret_rep)
{
	struct otlp_span s;
	uint64_t t0;

	assert_int_equal(otlp_receiver_set_behavior(f->rx, behavior), 0);
	assert_int_equal(otlp_exporter_new(opts, cfg, &f->ex), 0);
	for (uint32_t i = 0; i < n; i++) {
		ox_make_span(&s, run, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	ox_sleep_ms(300);
	t0 = ox_mono_ms();
	assert_int_equal(otlp_exporter_shutdown(f->ex, deadline_ms, ret_rep), 0);
	return ox_mono_ms() - t0;
}

/* With the collector gone, shutdown keeps to its deadline and reports the spans it
 * could not send. */
static void shutdown_keeps_its_deadline_when_the_collector_is_gone(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_shutdown_report rep;
	struct otlp_exporter_stats st;
	uint64_t took;

	took = shutdown_after_trying(f, "{\"status\":503,\"count\":-1}", &opts, &cfg, 9, 1000, 700,
				     &rep);
	assert_true(took >= 300); /* it kept trying for most of the grace period */
	assert_true(took < 2000);
	assert_int_equal(rep.exported, 0);
	assert_int_equal(rep.dropped, rep.queued);
	assert_true(rep.queued > 0);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_exported, 0);
	assert_int_equal(ox_dropped_total(&st), 1000);
	assert_int_equal(st.spans_dropped[OTLP_DROP_SHUTDOWN], rep.queued);
}

/* A non-retryable answer drops the batch at once, counted as rejected; a partial
 * success counts the spans the collector reported. */
static void refused_and_partially_accepted_batches_are_counted(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx),
					    .protocol = OTLP_PROTOCOL_HTTP_JSON };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	char err[OTLP_EXPORT_ERROR_MAX];
	int64_t err_time = 0, before = (int64_t)time(NULL);

	opts.max_batch = 10;
	assert_int_equal(otlp_receiver_set_behavior(f->rx, "{\"status\":400,\"count\":1}"), 0);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	/* No request made yet: no error. */
	assert_int_equal(otlp_exporter_last_error(f->ex, err, sizeof(err), &err_time), 0);
	for (uint32_t i = 0; i < 10; i++) {
		ox_make_span(&s, 10, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_dropped[OTLP_DROP_REJECTED], 10);
	assert_int_equal(st.requests[OTLP_REQUEST_PERMANENT_ERROR], 1);
	assert_int_equal(st.requests[OTLP_REQUEST_RETRYABLE_ERROR], 0);
	/* What the health report says of it: the refusal, until a request succeeds. */
	assert_int_equal(otlp_exporter_last_error(f->ex, err, sizeof(err), &err_time), 1);
	assert_true(strncmp(err, "HTTP 400", 8) == 0);
	assert_true(err_time >= before && err_time <= (int64_t)time(NULL));

	assert_int_equal(otlp_receiver_set_behavior(f->rx, "{\"reject_spans\":3}"), 0);
	for (uint32_t i = 10; i < 20; i++) {
		ox_make_span(&s, 10, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.requests[OTLP_REQUEST_PARTIAL_SUCCESS], 1);
	assert_int_equal(st.spans_dropped[OTLP_DROP_REJECTED], 13);
	assert_int_equal(st.spans_exported, 7);
	assert_int_equal(otlp_exporter_last_error(f->ex, err, sizeof(err), &err_time), 0);
}

/* The collector restarts while a batch is being retried: the batch gets through within
 * its retry budget, with nothing lost or sent twice. */
static void a_short_outage_loses_nothing(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	char id[17];

	opts.max_elapsed_ms = 20000;
	assert_int_equal(otlp_receiver_stop(f->rx), 0);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	for (uint32_t i = 0; i < 300; i++) {
		ox_make_span(&s, 13, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	ox_sleep_ms(1000);
	otlp_exporter_get_stats(f->ex, &st);
	assert_true(st.requests[OTLP_REQUEST_RETRYABLE_ERROR] >= 2);
	assert_int_equal(st.spans_exported, 0);
	assert_int_equal(otlp_receiver_restart(f->rx), 0);
	assert_int_equal(otlp_exporter_flush(f->ex, 15000), 0);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 300);
	for (uint32_t i = 0; i < 300; i++) {
		ox_span_id_hex(13, i, id);
		ox_assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 13, i, "protobuf");
	}
	json_decref(spans);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_exported, 300);
	assert_int_equal(ox_dropped_total(&st), 0);
}

/* A collector slower than the request timeout: the request is abandoned and retried,
 * and once the collector is quick again the spans arrive (at least once: a collector
 * may still accept a request its client gave up on). */
static void a_slow_collector_times_out_and_is_retried(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx),
					    .timeout_ms = 300 };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	char id[17];

	assert_int_equal(otlp_receiver_set_behavior(f->rx, "{\"delay_ms\":2000}"), 0);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	for (uint32_t i = 0; i < 10; i++) {
		ox_make_span(&s, 14, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	ox_sleep_ms(1000);
	otlp_exporter_get_stats(f->ex, &st);
	assert_true(st.requests[OTLP_REQUEST_RETRYABLE_ERROR] >= 1);
	assert_true(st.latency_buckets[OTLP_LATENCY_BUCKETS] == 0); /* none waited past 10 s */
	assert_int_equal(otlp_receiver_set_behavior(f->rx, "{}"), 0);
	assert_int_equal(otlp_exporter_flush(f->ex, 10000), 0);
	ox_sleep_ms(2500); /* requests the client abandoned finish on the receiver's side */
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	for (uint32_t i = 0; i < 10; i++) {
		ox_span_id_hex(14, i, id);
		ox_assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 14, i, "protobuf");
	}
	json_decref(spans);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_exported, 10);
	assert_int_equal(ox_dropped_total(&st), 0);
}

/* A request still waiting on a slow collector when the shutdown deadline comes is
 * abandoned: shutdown returns on time and counts the batch. */
static void shutdown_abandons_a_request_in_flight_at_the_deadline(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx),
					    .timeout_ms = 10000 };
	struct otlp_shutdown_report rep;
	uint64_t took;

	opts.max_delay_ms = 10;
	took = shutdown_after_trying(f, "{\"delay_ms\":8000}", &opts, &cfg, 15, 10, 500, &rep);
	assert_true(took >= 450);
	assert_true(took < 1800);
	assert_int_equal(rep.queued, 10);
	assert_int_equal(rep.dropped, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(retry_after_is_honoured_and_nothing_is_lost, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(a_collector_outage_costs_bounded_memory_and_counted_drops, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(shutdown_delivers_a_full_queue_within_the_deadline, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(shutdown_keeps_its_deadline_when_the_collector_is_gone, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(refused_and_partially_accepted_batches_are_counted, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(a_short_outage_loses_nothing, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(a_slow_collector_times_out_and_is_retried, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(shutdown_abandons_a_request_in_flight_at_the_deadline, ox_setup, ox_teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
