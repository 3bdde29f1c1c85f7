/* The exporter against the real OTLP receiver (the Collector's pdata decoding): what
 * arrives is what was enqueued, in both encodings; retries honour Retry-After; a
 * collector that goes away costs bounded memory and counted drops, and export resumes
 * when it returns; shutdown delivers a full queue within its deadline. */
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
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/otlp/exporter.h"
#include "tests/support/otlp_receiver.h"

#define BASE_NS 1763900000000000000ULL

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Span number i of a run tagged run: every field differs from span to span. */
static void make_span(struct otlp_span *s, uint32_t run, uint32_t i)
{
	char buf[64];

	otlp_span_init(s);
	for (int k = 0; k < 4; k++) {
		s->trace_id[k] = 0xA0 + (uint8_t)k;
		s->trace_id[12 + k] = (uint8_t)(i >> (24 - 8 * k));
		s->span_id[k] = (uint8_t)(run >> (24 - 8 * k));
		s->span_id[4 + k] = (uint8_t)(i >> (24 - 8 * k));
	}
	s->trace_id[8] = (uint8_t)run;
	if (i % 2) {
		memcpy(s->parent_span_id, s->span_id, 8);
		s->parent_span_id[0] ^= 0xFF;
	}
	s->kind = i % 2 ? OTLP_SPAN_KIND_CLIENT : OTLP_SPAN_KIND_SERVER;
	s->flags = 1;
	s->start_unix_nano = BASE_NS + (uint64_t)i * 1000003;
	s->end_unix_nano = s->start_unix_nano + 1234567 + i;
	snprintf(buf, sizeof(buf), "GET /items/%u", i);
	otlp_span_set_name(s, buf, strlen(buf));
	otlp_span_add_string(s, "http.request.method", "GET");
	snprintf(buf, sizeof(buf), "/items/%u", i);
	otlp_span_add_string(s, "url.path", buf);
	otlp_span_add_int(s, "http.response.status_code", 200 + (int64_t)(i % 5));
	otlp_span_add_bool(s, "test.even", i % 2 == 0);
	otlp_span_add_double(s, "test.quarter", i / 4.0);
	if (i % 7 == 0)
		otlp_span_set_status(s, OTLP_STATUS_ERROR, "upstream failed");
}

static void make_resource(struct otlp_resource *res)
{
	otlp_resource_init(res);
	otlp_resource_add_string(res, "service.name", "checkout");
	otlp_resource_add_string(res, "k8s.namespace.name", "shop");
	otlp_resource_add_string(res, "k8s.pod.name", "checkout-5d8f7-x2x9z");
	otlp_resource_add_int(res, "process.pid", 4242);
}

static void span_id_hex(uint32_t run, uint32_t i, char out[17])
{
	struct otlp_span s;

	make_span(&s, run, i);
	hex(s.span_id, 8, out);
}

/* The receiver's record of span i matches what make_span built, field by field. */
static void assert_span_arrived_intact(json_t *got, uint32_t run, uint32_t i, const char *encoding)
{
	struct otlp_span s;
	char want[64];
	json_t *attrs, *res;

	make_span(&s, run, i);
	assert_non_null(got);
	hex(s.trace_id, 16, want);
	assert_string_equal(json_string_value(json_object_get(got, "trace_id")), want);
	if (i % 2) {
		hex(s.parent_span_id, 8, want);
		assert_string_equal(json_string_value(json_object_get(got, "parent_span_id")), want);
	} else {
		assert_string_equal(json_string_value(json_object_get(got, "parent_span_id")), "");
	}
	snprintf(want, sizeof(want), "GET /items/%u", i);
	assert_string_equal(json_string_value(json_object_get(got, "name")), want);
	assert_int_equal(json_integer_value(json_object_get(got, "kind")), s.kind);
	assert_int_equal(json_integer_value(json_object_get(got, "flags")), 1);
	assert_int_equal((uint64_t)json_integer_value(json_object_get(got, "start")), s.start_unix_nano);
	assert_int_equal((uint64_t)json_integer_value(json_object_get(got, "end")), s.end_unix_nano);
	assert_int_equal(json_integer_value(json_object_get(got, "status_code")),
			 i % 7 == 0 ? OTLP_STATUS_ERROR : OTLP_STATUS_UNSET);
	if (i % 7 == 0)
		assert_string_equal(json_string_value(json_object_get(got, "status_message")),
				    "upstream failed");

	attrs = json_object_get(got, "attributes");
	assert_int_equal(json_object_size(attrs), 5);
	assert_string_equal(json_string_value(json_object_get(attrs, "http.request.method")), "GET");
	snprintf(want, sizeof(want), "/items/%u", i);
	assert_string_equal(json_string_value(json_object_get(attrs, "url.path")), want);
	assert_int_equal(json_integer_value(json_object_get(attrs, "http.response.status_code")),
			 200 + i % 5);
	assert_true(json_is_boolean(json_object_get(attrs, "test.even")));
	assert_int_equal(json_is_true(json_object_get(attrs, "test.even")), i % 2 == 0);
	assert_true(json_number_value(json_object_get(attrs, "test.quarter")) == i / 4.0);

	res = json_object_get(got, "resource");
	assert_string_equal(json_string_value(json_object_get(res, "service.name")), "checkout");
	assert_string_equal(json_string_value(json_object_get(res, "k8s.namespace.name")), "shop");
	assert_string_equal(json_string_value(json_object_get(res, "k8s.pod.name")),
			    "checkout-5d8f7-x2x9z");
	assert_int_equal(json_integer_value(json_object_get(res, "process.pid")), 4242);
	assert_string_equal(json_string_value(json_object_get(got, "scope_name")), "autotrace");
	assert_string_equal(json_string_value(json_object_get(got, "scope_version")), "0.1.0-test");
	assert_string_equal(json_string_value(json_object_get(got, "encoding")), encoding);
}

static uint64_t dropped_total(const struct otlp_exporter_stats *st)
{
	uint64_t n = 0;

	for (int r = 0; r < OTLP_DROP__COUNT; r++)
		n += st->spans_dropped[r];
	return n;
}

struct fixture {
	struct otlp_receiver *rx;
	struct otlp_exporter *ex;
	struct otlp_resource res;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || otlp_receiver_start(0, &f->rx) < 0)
		return -1;
	make_resource(&f->res);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	otlp_exporter_free(f->ex);
	otlp_receiver_free(f->rx);
	free(f);
	return 0;
}

static struct otlp_exporter_options fast_options(struct fixture *f)
{
	return (struct otlp_exporter_options){
		.queue_capacity = 4096,
		.max_batch = 128,
		.max_delay_ms = 50,
		.backoff = { .initial_ms = 50, .max_ms = 200, .multiplier = 2, .jitter = 0.2 },
		.max_elapsed_ms = 10000,
		.scope_version = "0.1.0-test",
		.resource = &f->res,
	};
}

static void export_and_check(struct fixture *f, enum otlp_protocol protocol, bool gzip,
			     uint32_t run, uint32_t n, const char *encoding)
{
	struct otlp_exporter_options opts = fast_options(f);
	struct otlp_exporter_config cfg = {
		.endpoint = otlp_receiver_endpoint(f->rx), .protocol = protocol, .gzip = gzip,
	};
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	char id[17];

	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	for (uint32_t i = 0; i < n; i++) {
		make_span(&s, run, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	assert_int_equal(otlp_exporter_flush(f->ex, 10000), 0);
	assert_int_equal(otlp_receiver_wait_spans(f->rx, n, 5000, &spans), 0);
	sleep_ms(100); /* nothing more may come */
	json_decref(spans);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), n);
	for (uint32_t i = 0; i < n; i++) {
		span_id_hex(run, i, id);
		assert_span_arrived_intact(otlp_receiver_find_span(spans, id), run, i, encoding);
		assert_string_equal(json_string_value(json_object_get(
					    otlp_receiver_find_span(spans, id), "content_encoding")),
				    gzip ? "gzip" : "");
	}
	json_decref(spans);

	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_enqueued, n);
	assert_int_equal(st.spans_exported, n);
	assert_int_equal(dropped_total(&st), 0);
	assert_int_equal(st.requests[OTLP_REQUEST_RETRYABLE_ERROR], 0);
	assert_true(st.requests[OTLP_REQUEST_SUCCESS] >= (n + 127) / 128);
	assert_int_equal(st.latency_count, st.requests[OTLP_REQUEST_SUCCESS]);
}

static void protobuf_spans_arrive_intact(void **state)
{
	export_and_check(*state, OTLP_PROTOCOL_HTTP_PROTOBUF, false, 1, 500, "protobuf");
}

static void json_spans_arrive_intact(void **state)
{
	export_and_check(*state, OTLP_PROTOCOL_HTTP_JSON, false, 2, 500, "json");
}

static void gzip_protobuf_spans_arrive_intact(void **state)
{
	export_and_check(*state, OTLP_PROTOCOL_HTTP_PROTOBUF, true, 3, 300, "protobuf");
}

static void gzip_json_spans_arrive_intact(void **state)
{
	export_and_check(*state, OTLP_PROTOCOL_HTTP_JSON, true, 4, 300, "json");
}

/* Two 429s with Retry-After: 1, then success: the spans arrive no sooner than the
 * server asked (the configured backoff alone would retry after ~50 ms) and none is
 * lost or duplicated. */
static void retry_after_is_honoured_and_nothing_is_lost(void **state)
{
	struct fixture *f = *state;
	struct otlp_exporter_options opts = fast_options(f);
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
	t0 = mono_ms();
	for (uint32_t i = 0; i < 100; i++) {
		make_span(&s, 5, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	assert_int_equal(otlp_receiver_wait_spans(f->rx, 100, 10000, &spans), 0);
	elapsed = mono_ms() - t0;
	json_decref(spans);
	assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);
	sleep_ms(100);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 100);
	for (uint32_t i = 0; i < 100; i++) {
		span_id_hex(5, i, id);
		assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 5, i, "protobuf");
	}
	json_decref(spans);
	assert_true(elapsed >= 2000);
	assert_true(elapsed < 6000);

	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.requests[OTLP_REQUEST_RETRYABLE_ERROR], 2);
	assert_int_equal(st.spans_exported, 100);
	assert_int_equal(dropped_total(&st), 0);
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
	struct fixture *f = *state;
	struct otlp_exporter_options opts = fast_options(f);
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
		make_span(&s, 6, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
		if (i % 5000 == 0)
			sleep_ms(100); /* let the worker fail a few batches */
	}
	rss_after = rss_kib();
	otlp_exporter_get_stats(f->ex, &st);
	assert_true(st.queue_length <= 200);
	assert_true(st.in_flight <= 50);
	assert_int_equal(st.spans_enqueued, st.spans_exported + dropped_total(&st) +
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

	sleep_ms(600); /* the in-flight batch runs out of retry budget */
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
		make_span(&s, 7, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	assert_int_equal(otlp_exporter_flush(f->ex, 10000), 0);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	for (uint32_t i = 0; i < 20; i++) {
		span_id_hex(7, i, id);
		assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 7, i, "protobuf");
	}
	/* Every span is accounted for: exported or dropped with a reason. */
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_enqueued, offered + 20);
	assert_int_equal(st.spans_exported + dropped_total(&st), st.spans_enqueued);
	assert_int_equal(st.spans_exported, json_array_size(spans));
	json_decref(spans);
}

/* A queue full of spans that no batch trigger has sent yet (one short of the batch
 * size, the delay far away): shutdown sends them all within its deadline. */
static void shutdown_delivers_a_full_queue_within_the_deadline(void **state)
{
	struct fixture *f = *state;
	struct otlp_exporter_options opts = fast_options(f);
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
		make_span(&s, 8, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	sleep_ms(200);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 0); /* still queued */
	json_decref(spans);

	t0 = mono_ms();
	assert_int_equal(otlp_exporter_shutdown(f->ex, 5000, &rep), 0);
	assert_true(mono_ms() - t0 < 5000);
	assert_int_equal(rep.queued, n);
	assert_int_equal(rep.exported, n);
	assert_int_equal(rep.dropped, 0);
	assert_int_equal(otlp_exporter_shutdown(f->ex, 5000, &rep), -EALREADY);
	make_span(&s, 8, n);
	assert_int_equal(otlp_exporter_enqueue(f->ex, &s), -ESHUTDOWN);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_dropped[OTLP_DROP_SHUTDOWN], 1);
	assert_int_equal(st.spans_enqueued, n + 1);
	assert_int_equal(st.spans_exported + dropped_total(&st), st.spans_enqueued);

	assert_int_equal(otlp_receiver_wait_spans(f->rx, n, 5000, &spans), 0);
	assert_int_equal(json_array_size(spans), n);
	json_decref(spans);
}

/* With the collector gone, shutdown keeps to its deadline and reports the spans it
 * could not send. */
static void shutdown_keeps_its_deadline_when_the_collector_is_gone(void **state)
{
	struct fixture *f = *state;
	struct otlp_exporter_options opts = fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_shutdown_report rep;
	struct otlp_exporter_stats st;
	struct otlp_span s;
	uint64_t t0, took;

	assert_int_equal(otlp_receiver_set_behavior(f->rx, "{\"status\":503,\"count\":-1}"), 0);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	for (uint32_t i = 0; i < 1000; i++) {
		make_span(&s, 9, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	sleep_ms(300);
	t0 = mono_ms();
	assert_int_equal(otlp_exporter_shutdown(f->ex, 700, &rep), 0);
	took = mono_ms() - t0;
	assert_true(took >= 300); /* it kept trying for most of the grace period */
	assert_true(took < 2000);
	assert_int_equal(rep.exported, 0);
	assert_int_equal(rep.dropped, rep.queued);
	assert_true(rep.queued > 0);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_exported, 0);
	assert_int_equal(dropped_total(&st), 1000);
	assert_int_equal(st.spans_dropped[OTLP_DROP_SHUTDOWN], rep.queued);
}

/* A non-retryable answer drops the batch at once, counted as rejected; a partial
 * success counts the spans the collector reported. */
static void refused_and_partially_accepted_batches_are_counted(void **state)
{
	struct fixture *f = *state;
	struct otlp_exporter_options opts = fast_options(f);
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
		make_span(&s, 10, i);
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
		make_span(&s, 10, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.requests[OTLP_REQUEST_PARTIAL_SUCCESS], 1);
	assert_int_equal(st.spans_dropped[OTLP_DROP_REJECTED], 13);
	assert_int_equal(st.spans_exported, 7);
	assert_int_equal(otlp_exporter_last_error(f->ex, err, sizeof(err), &err_time), 0);
}

/* A new endpoint and encoding apply to the next batch, without a restart. */
static void a_new_config_applies_to_the_next_batch(void **state)
{
	struct fixture *f = *state;
	struct otlp_receiver *second;
	struct otlp_exporter_options opts = fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_header hdr = { "X-Tenant", "blue" };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	char id[17];

	assert_int_equal(otlp_receiver_start(0, &second), 0);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	make_span(&s, 11, 0);
	otlp_exporter_enqueue(f->ex, &s);
	assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);

	cfg.endpoint = otlp_receiver_endpoint(second);
	cfg.protocol = OTLP_PROTOCOL_HTTP_JSON;
	cfg.headers = &hdr;
	cfg.n_headers = 1;
	assert_int_equal(otlp_exporter_set_config(f->ex, &cfg), 0);
	cfg.endpoint = "not a url";
	assert_int_equal(otlp_exporter_set_config(f->ex, &cfg), -EINVAL);
	make_span(&s, 11, 1);
	otlp_exporter_enqueue(f->ex, &s);
	assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);

	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 1);
	span_id_hex(11, 0, id);
	assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 11, 0, "protobuf");
	json_decref(spans);
	assert_int_equal(otlp_receiver_spans(second, &spans), 0);
	assert_int_equal(json_array_size(spans), 1);
	span_id_hex(11, 1, id);
	assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 11, 1, "json");
	json_decref(spans);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.config_generation, 2);
	otlp_receiver_free(second);
}

/* Batches go when full, or when their oldest span has waited max_delay: a lone span is
 * neither sent at once nor left waiting. */
static void batches_go_when_full_or_when_old_enough(void **state)
{
	struct fixture *f = *state;
	struct otlp_exporter_options opts = fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_span s;
	json_t *spans;
	uint64_t t0;

	opts.max_batch = 100;
	opts.max_delay_ms = 3000;
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	t0 = mono_ms();
	for (uint32_t i = 0; i < 3; i++) {
		make_span(&s, 12, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	sleep_ms(1000);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 0);
	json_decref(spans);
	assert_int_equal(otlp_receiver_wait_spans(f->rx, 3, 8000, &spans), 0);
	assert_true(mono_ms() - t0 >= 3000);
	json_decref(spans);

	/* A full batch does not wait for the delay. */
	t0 = mono_ms();
	for (uint32_t i = 3; i < 103; i++) {
		make_span(&s, 12, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	assert_int_equal(otlp_receiver_wait_spans(f->rx, 103, 5000, &spans), 0);
	assert_true(mono_ms() - t0 < 2000);
	json_decref(spans);
}

/* The collector restarts while a batch is being retried: the batch gets through within
 * its retry budget, with nothing lost or sent twice. */
static void a_short_outage_loses_nothing(void **state)
{
	struct fixture *f = *state;
	struct otlp_exporter_options opts = fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	char id[17];

	opts.max_elapsed_ms = 20000;
	assert_int_equal(otlp_receiver_stop(f->rx), 0);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	for (uint32_t i = 0; i < 300; i++) {
		make_span(&s, 13, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	sleep_ms(1000);
	otlp_exporter_get_stats(f->ex, &st);
	assert_true(st.requests[OTLP_REQUEST_RETRYABLE_ERROR] >= 2);
	assert_int_equal(st.spans_exported, 0);
	assert_int_equal(otlp_receiver_restart(f->rx), 0);
	assert_int_equal(otlp_exporter_flush(f->ex, 15000), 0);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 300);
	for (uint32_t i = 0; i < 300; i++) {
		span_id_hex(13, i, id);
		assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 13, i, "protobuf");
	}
	json_decref(spans);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_exported, 300);
	assert_int_equal(dropped_total(&st), 0);
}

/* A collector slower than the request timeout: the request is abandoned and retried,
 * and once the collector is quick again the spans arrive (at least once: a collector
 * may still accept a request its client gave up on). */
static void a_slow_collector_times_out_and_is_retried(void **state)
{
	struct fixture *f = *state;
	struct otlp_exporter_options opts = fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx),
					    .timeout_ms = 300 };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	char id[17];

	assert_int_equal(otlp_receiver_set_behavior(f->rx, "{\"delay_ms\":2000}"), 0);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	for (uint32_t i = 0; i < 10; i++) {
		make_span(&s, 14, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	sleep_ms(1000);
	otlp_exporter_get_stats(f->ex, &st);
	assert_true(st.requests[OTLP_REQUEST_RETRYABLE_ERROR] >= 1);
	assert_true(st.latency_buckets[OTLP_LATENCY_BUCKETS] == 0); /* none waited past 10 s */
	assert_int_equal(otlp_receiver_set_behavior(f->rx, "{}"), 0);
	assert_int_equal(otlp_exporter_flush(f->ex, 10000), 0);
	sleep_ms(2500); /* requests the client abandoned finish on the receiver's side */
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	for (uint32_t i = 0; i < 10; i++) {
		span_id_hex(14, i, id);
		assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 14, i, "protobuf");
	}
	json_decref(spans);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_exported, 10);
	assert_int_equal(dropped_total(&st), 0);
}

/* A request still waiting on a slow collector when the shutdown deadline comes is
 * abandoned: shutdown returns on time and counts the batch. */
static void shutdown_abandons_a_request_in_flight_at_the_deadline(void **state)
{
	struct fixture *f = *state;
	struct otlp_exporter_options opts = fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx),
					    .timeout_ms = 10000 };
	struct otlp_shutdown_report rep;
	struct otlp_span s;
	uint64_t t0, took;

	assert_int_equal(otlp_receiver_set_behavior(f->rx, "{\"delay_ms\":8000}"), 0);
	opts.max_delay_ms = 10;
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	for (uint32_t i = 0; i < 10; i++) {
		make_span(&s, 15, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	sleep_ms(300);
	t0 = mono_ms();
	assert_int_equal(otlp_exporter_shutdown(f->ex, 500, &rep), 0);
	took = mono_ms() - t0;
	assert_true(took >= 450);
	assert_true(took < 1800);
	assert_int_equal(rep.queued, 10);
	assert_int_equal(rep.dropped, 10);
}

/* Values at the edges of what each encoding carries reach the collector unchanged:
 * 64-bit extremes, non-finite doubles, escapes, invalid UTF-8 from a traced process
 * (as U+FFFD), a value cut to the span's arena, and the count of dropped attributes. */
static void edge_values_survive_both_encodings(void **state)
{
	struct fixture *f = *state;
	static const enum otlp_protocol protocols[] = { OTLP_PROTOCOL_HTTP_PROTOBUF,
							OTLP_PROTOCOL_HTTP_JSON };
	static const char name[] = "GET /caf\xC3\xA9 \"q\" \\ \n\t\x01";
	char big[2000];
	json_t *spans;

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (size_t p = 0; p < 2; p++) {
		struct otlp_exporter_options opts = fast_options(f);
		struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx),
						    .protocol = protocols[p] };
		const struct otlp_attr *a;
		struct otlp_span s;
		json_t *got, *attrs;
		char id[17];

		otlp_span_init(&s);
		memset(s.trace_id, 0xEE, 16);
		memset(s.span_id, 0x10 + (int)p, 8);
		otlp_span_set_name(&s, name, sizeof(name) - 1);
		otlp_span_add_int(&s, "min", INT64_MIN);
		otlp_span_add_int(&s, "max", INT64_MAX);
		otlp_span_add_double(&s, "nan", NAN);
		otlp_span_add_double(&s, "inf", INFINITY);
		otlp_span_add_double(&s, "tiny", 4.9406564584124654e-324);
		otlp_span_add_bool(&s, "no", false);
		otlp_span_add_string(&s, "empty", "");
		otlp_span_add_string_len(&s, "bytes", "a\xFF" "b", 3);
		otlp_span_add_string(&s, "big", big); /* cut to OTLP_SPAN_VALUE_MAX */
		for (int i = 0; i < 10; i++)
			otlp_span_add_int(&s, "more", i); /* past 16: dropped and counted */
		/* The largest the receiver's JSON lines carry exactly (int64; year 2262). */
		s.start_unix_nano = UINT64_C(9223372036854775000);
		s.end_unix_nano = UINT64_C(9223372036854775807);

		assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
		assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);
		f->ex = otlp_exporter_free(f->ex);
		assert_int_equal(otlp_receiver_wait_spans(f->rx, p + 1, 5000, &spans), 0);
		hex(s.span_id, 8, id);
		got = otlp_receiver_find_span(spans, id);
		assert_non_null(got);
		assert_string_equal(json_string_value(json_object_get(got, "name")), name);
		assert_int_equal((uint64_t)json_integer_value(json_object_get(got, "start")),
				 s.start_unix_nano);
		assert_int_equal((uint64_t)json_integer_value(json_object_get(got, "end")),
				 s.end_unix_nano);
		assert_int_equal(json_integer_value(json_object_get(got, "dropped_attributes_count")),
				 s.dropped_attrs);
		assert_int_equal(s.dropped_attrs, 3); /* 9 named + 7 of the 10 "more" fit in 16 */
		attrs = json_object_get(got, "attributes");
		assert_int_equal(json_integer_value(json_object_get(attrs, "min")), INT64_MIN);
		assert_int_equal(json_integer_value(json_object_get(attrs, "max")), INT64_MAX);
		assert_string_equal(json_string_value(json_object_get(attrs, "nan")), "NaN");
		assert_string_equal(json_string_value(json_object_get(attrs, "inf")), "+Inf");
		assert_true(json_real_value(json_object_get(attrs, "tiny")) == 4.9406564584124654e-324);
		assert_true(json_is_false(json_object_get(attrs, "no")));
		assert_string_equal(json_string_value(json_object_get(attrs, "empty")), "");
		assert_string_equal(json_string_value(json_object_get(attrs, "bytes")), "a\xEF\xBF\xBD" "b");
		a = otlp_span_find_attr(&s, "big");
		assert_int_equal(json_string_length(json_object_get(attrs, "big")), a->str_len);
		assert_int_equal(a->str_len, OTLP_SPAN_VALUE_MAX);
		json_decref(spans);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(protobuf_spans_arrive_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(json_spans_arrive_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(gzip_protobuf_spans_arrive_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(gzip_json_spans_arrive_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(retry_after_is_honoured_and_nothing_is_lost, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_collector_outage_costs_bounded_memory_and_counted_drops,
						setup, teardown),
		cmocka_unit_test_setup_teardown(shutdown_delivers_a_full_queue_within_the_deadline,
						setup, teardown),
		cmocka_unit_test_setup_teardown(shutdown_keeps_its_deadline_when_the_collector_is_gone,
						setup, teardown),
		cmocka_unit_test_setup_teardown(refused_and_partially_accepted_batches_are_counted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_new_config_applies_to_the_next_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(batches_go_when_full_or_when_old_enough, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_short_outage_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(a_slow_collector_times_out_and_is_retried, setup,
						teardown),
		cmocka_unit_test_setup_teardown(shutdown_abandons_a_request_in_flight_at_the_deadline,
						setup, teardown),
		cmocka_unit_test_setup_teardown(edge_values_survive_both_encodings, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
