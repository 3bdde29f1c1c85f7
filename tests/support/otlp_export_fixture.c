#include "tests/support/otlp_export_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>


uint64_t ox_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void ox_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void ox_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Span number i of a run tagged run: every field differs from span to span. */
void ox_make_span(struct otlp_span *s, uint32_t run, uint32_t i)
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
	s->start_unix_nano = OX_BASE_NS + (uint64_t)i * 1000003;
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

void ox_make_resource(struct otlp_resource *res)
{
	otlp_resource_init(res);
	otlp_resource_add_string(res, "service.name", "checkout");
	otlp_resource_add_string(res, "k8s.namespace.name", "shop");
	otlp_resource_add_string(res, "k8s.pod.name", "checkout-5d8f7-x2x9z");
	otlp_resource_add_int(res, "process.pid", 4242);
}

void ox_span_id_hex(uint32_t run, uint32_t i, char out[17])
{
	struct otlp_span s;

	ox_make_span(&s, run, i);
	ox_hex(s.span_id, 8, out);
}

/* The receiver's record of span i matches what ox_make_span built, field by field. */
void ox_assert_span_arrived_intact(json_t *got, uint32_t run, uint32_t i, const char *encoding)
{
	struct otlp_span s;
	char want[64];
	json_t *attrs, *res;

	ox_make_span(&s, run, i);
	assert_non_null(got);
	ox_hex(s.trace_id, 16, want);
	assert_string_equal(json_string_value(json_object_get(got, "trace_id")), want);
	if (i % 2) {
		ox_hex(s.parent_span_id, 8, want);
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

uint64_t ox_dropped_total(const struct otlp_exporter_stats *st)
{
	uint64_t n = 0;

	for (int r = 0; r < OTLP_DROP__COUNT; r++)
		n += st->spans_dropped[r];
	return n;
}


int ox_setup(void **state)
{
	struct ox_fixture *f = calloc(1, sizeof(*f));

	if (!f || otlp_receiver_start(0, &f->rx) < 0)
		return -1;
	ox_make_resource(&f->res);
	*state = f;
	return 0;
}

int ox_teardown(void **state)
{
	struct ox_fixture *f = *state;

	otlp_exporter_free(f->ex);
	otlp_receiver_free(f->rx);
	free(f);
	return 0;
}

struct otlp_exporter_options ox_fast_options(struct ox_fixture *f)
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
