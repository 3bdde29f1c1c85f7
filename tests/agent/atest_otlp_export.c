/* The exporter against the real OTLP receiver (the Collector's pdata decoding): what
 * arrives is what was enqueued, in both encodings, gzipped or not, edge values
 * included; batches go when full or old enough; a new config applies to the next
 * batch. The failure cases are atest_otlp_export_failures.c's. */
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

static void export_and_check(struct ox_fixture *f, enum otlp_protocol protocol, bool gzip,
			     uint32_t run, uint32_t n, const char *encoding)
{
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = {
		.endpoint = otlp_receiver_endpoint(f->rx), .protocol = protocol, .gzip = gzip,
	};
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	char id[17];

	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	for (uint32_t i = 0; i < n; i++) {
		ox_make_span(&s, run, i);
		assert_int_equal(otlp_exporter_enqueue(f->ex, &s), 0);
	}
	assert_int_equal(otlp_exporter_flush(f->ex, 10000), 0);
	assert_int_equal(otlp_receiver_wait_spans(f->rx, n, 5000, &spans), 0);
	ox_sleep_ms(100); /* nothing more may come */
	json_decref(spans);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), n);
	for (uint32_t i = 0; i < n; i++) {
		ox_span_id_hex(run, i, id);
		ox_assert_span_arrived_intact(otlp_receiver_find_span(spans, id), run, i, encoding);
		assert_string_equal(json_string_value(json_object_get(
					    otlp_receiver_find_span(spans, id), "content_encoding")),
				    gzip ? "gzip" : "");
	}
	json_decref(spans);

	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_enqueued, n);
	assert_int_equal(st.spans_exported, n);
	assert_int_equal(ox_dropped_total(&st), 0);
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

/* A new endpoint and encoding apply to the next batch, without a restart. */
static void a_new_config_applies_to_the_next_batch(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_receiver *second;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_header hdr = { "X-Tenant", "blue" };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	json_t *spans;
	char id[17];

	assert_int_equal(otlp_receiver_start(0, &second), 0);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	ox_make_span(&s, 11, 0);
	otlp_exporter_enqueue(f->ex, &s);
	assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);

	cfg.endpoint = otlp_receiver_endpoint(second);
	cfg.protocol = OTLP_PROTOCOL_HTTP_JSON;
	cfg.headers = &hdr;
	cfg.n_headers = 1;
	assert_int_equal(otlp_exporter_set_config(f->ex, &cfg), 0);
	cfg.endpoint = "not a url";
	assert_int_equal(otlp_exporter_set_config(f->ex, &cfg), -EINVAL);
	ox_make_span(&s, 11, 1);
	otlp_exporter_enqueue(f->ex, &s);
	assert_int_equal(otlp_exporter_flush(f->ex, 5000), 0);

	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 1);
	ox_span_id_hex(11, 0, id);
	ox_assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 11, 0, "protobuf");
	json_decref(spans);
	assert_int_equal(otlp_receiver_spans(second, &spans), 0);
	assert_int_equal(json_array_size(spans), 1);
	ox_span_id_hex(11, 1, id);
	ox_assert_span_arrived_intact(otlp_receiver_find_span(spans, id), 11, 1, "json");
	json_decref(spans);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.config_generation, 2);
	otlp_receiver_free(second);
}

/* Batches go when full, or when their oldest span has waited max_delay: a lone span is
 * neither sent at once nor left waiting. */
static void batches_go_when_full_or_when_old_enough(void **state)
{
	struct ox_fixture *f = *state;
	struct otlp_exporter_options opts = ox_fast_options(f);
	struct otlp_exporter_config cfg = { .endpoint = otlp_receiver_endpoint(f->rx) };
	struct otlp_span s;
	json_t *spans;
	uint64_t t0;

	opts.max_batch = 100;
	opts.max_delay_ms = 3000;
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	t0 = ox_mono_ms();
	for (uint32_t i = 0; i < 3; i++) {
		ox_make_span(&s, 12, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	ox_sleep_ms(1000);
	assert_int_equal(otlp_receiver_spans(f->rx, &spans), 0);
	assert_int_equal(json_array_size(spans), 0);
	json_decref(spans);
	assert_int_equal(otlp_receiver_wait_spans(f->rx, 3, 8000, &spans), 0);
	assert_true(ox_mono_ms() - t0 >= 3000);
	json_decref(spans);

	/* A full batch does not wait for the delay. */
	t0 = ox_mono_ms();
	for (uint32_t i = 3; i < 103; i++) {
		ox_make_span(&s, 12, i);
		otlp_exporter_enqueue(f->ex, &s);
	}
	assert_int_equal(otlp_receiver_wait_spans(f->rx, 103, 5000, &spans), 0);
	assert_true(ox_mono_ms() - t0 < 2000);
	json_decref(spans);
}

/* Values at the edges of what each encoding carries reach the collector unchanged:
 * 64-bit extremes, non-finite doubles, escapes, invalid UTF-8 from a traced process
 * (as U+FFFD), a value cut to the span's arena, and the count of dropped attributes. */
static void edge_values_survive_both_encodings(void **state)
{
	struct ox_fixture *f = *state;
	static const enum otlp_protocol protocols[] = { OTLP_PROTOCOL_HTTP_PROTOBUF,
							OTLP_PROTOCOL_HTTP_JSON };
	static const char name[] = "GET /caf\xC3\xA9 \"q\" \\ \n\t\x01";
	char big[2000];
	json_t *spans;

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (size_t p = 0; p < 2; p++) {
		struct otlp_exporter_options opts = ox_fast_options(f);
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
		ox_hex(s.span_id, 8, id);
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
		cmocka_unit_test_setup_teardown(protobuf_spans_arrive_intact, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(json_spans_arrive_intact, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(gzip_protobuf_spans_arrive_intact, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(gzip_json_spans_arrive_intact, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(a_new_config_applies_to_the_next_batch, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(batches_go_when_full_or_when_old_enough, ox_setup, ox_teardown),
		cmocka_unit_test_setup_teardown(edge_values_survive_both_encodings, ox_setup, ox_teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
