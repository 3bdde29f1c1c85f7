/* Sampling in the kernel, against a real Go service and the real receiver: a trace-id
 * ratio keeps its share of requests (binomial bounds) and the very traces every
 * OpenTelemetry SDK at that ratio keeps; a sampler change applies to the next
 * requests; the parent-based samplers follow the incoming sampled flag. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/sampler.h"
#include "agent/tracer.h"
#include "tests/support/agent_tests_main.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

static int start_with(void **state, const struct tracer_sampler *sampler)
{
	struct traced_world *w = NULL;
	int rc = traced_world_start("", 0, sampler, &w);

	*state = w;
	return rc;
}

static int teardown(void **state)
{
	traced_world_free(*state);
	return 0;
}

static void get(struct traced_world *f, const char *path, const char *traceparent)
{
	const char *headers[2] = { NULL, NULL };
	char line[128];
	long status;

	if (traceparent) {
		snprintf(line, sizeof(line), "traceparent: %s", traceparent);
		headers[0] = line;
	}
	assert_int_equal(traced_service_get(f->svc, path, headers, &status), 0);
	assert_int_equal(status, 200);
}

static uint64_t trace_id_low(const char *hex)
{
	uint64_t v = 0;

	assert_int_equal(strlen(hex), 32);
	for (int i = 16; i < 32; i++) {
		char c = hex[i];

		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return v;
}

static void ratio_keeps_its_share_and_the_sdk_traces(void **state)
{
	struct tracer_sampler s = { .type = TRACER_SAMPLER_TRACEIDRATIO, .ratio = 0.1 };
	const size_t n = 2000;
	const double mean = n * 0.1, sigma = sqrt(n * 0.1 * 0.9);
	uint64_t threshold = sampler_ratio_threshold(0.1);
	struct tracer_stats st;
	struct traced_world *f;
	json_t *spans, *span;
	size_t i, got;
	char path[32];

	assert_int_equal(start_with(state, &s), 0);
	f = *state;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/r/%zu", i);
		get(f, path, NULL);
		if (i % 256 == 0)
			tracer_poll(f->h->tracer);
	}
	assert_int_equal(tracer_harness_collect(f->h, (size_t)mean, 3000, 300, &spans), 0);
	got = json_array_size(spans);
	print_message("# ratio 0.1 over %zu requests: %zu spans (binomial %.0f +- %.1f)\n", n, got,
		      mean, sigma);
	assert_true(got >= (size_t)(mean - 4 * sigma) && got <= (size_t)(mean + 4 * sigma));
	/* Exactly the traces TraceIdRatioBased keeps: the id's low 8 bytes below 0.1 * 2^64. */
	json_array_foreach(spans, i, span)
		assert_true(trace_id_low(json_string_value(json_object_get(span, "trace_id"))) <
			    threshold);
	tracer_get_stats(f->h->tracer, &st);
	assert_int_equal(st.requests, n);
	assert_int_equal(st.sampled, got);
	assert_int_equal(st.spans_delivered, got);
	json_decref(spans);
}

static size_t count_prefix(json_t *spans, const char *prefix)
{
	size_t i, n = 0;
	json_t *span;

	json_array_foreach(spans, i, span) {
		const char *p = span_attr_string(span, "url.path");

		if (p && strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	}
	return n;
}

static void a_sampler_change_applies_to_the_next_requests(void **state)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct tracer_sampler off = { .type = TRACER_SAMPLER_ALWAYS_OFF };
	struct tracer_sampler all = { .type = TRACER_SAMPLER_TRACEIDRATIO, .ratio = 1.0 };
	struct traced_world *f;
	json_t *spans;
	char path[32];

	assert_int_equal(start_with(state, &on), 0);
	f = *state;
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/one/%d", i);
		get(f, path, NULL);
	}
	assert_int_equal(tracer_set_sampler(f->h->tracer, &off), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/two/%d", i);
		get(f, path, NULL);
	}
	assert_int_equal(tracer_set_sampler(f->h->tracer, &all), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/three/%d", i);
		get(f, path, NULL);
	}
	assert_int_equal(tracer_harness_collect(f->h, 20, 3000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), 20);
	assert_int_equal(count_prefix(spans, "/one/"), 10);
	assert_int_equal(count_prefix(spans, "/two/"), 0);
	assert_int_equal(count_prefix(spans, "/three/"), 10);
	json_decref(spans);
}

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"

static void parent_based_samplers_follow_the_incoming_flag(void **state)
{
	struct tracer_sampler pb_off = { .type = TRACER_SAMPLER_PARENTBASED_ALWAYS_OFF };
	struct tracer_sampler pb_on = { .type = TRACER_SAMPLER_PARENTBASED_ALWAYS_ON };
	struct tracer_sampler pb_ratio0 = { .type = TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO,
					    .ratio = 0 };
	struct traced_world *f;
	json_t *spans;

	assert_int_equal(start_with(state, &pb_off), 0);
	f = *state;
	/* Root spans follow the root sampler (off); children follow their parent. */
	get(f, "/pboff/root", NULL);
	get(f, "/pboff/sampled-parent", "00-" TID "-00f067aa0ba902b7-01");
	get(f, "/pboff/unsampled-parent", "00-" TID "-00f067aa0ba902b7-00");
	assert_int_equal(tracer_set_sampler(f->h->tracer, &pb_on), 0);
	get(f, "/pbon/root", NULL);
	get(f, "/pbon/sampled-parent", "00-" TID "-00f067aa0ba902b7-01");
	get(f, "/pbon/unsampled-parent", "00-" TID "-00f067aa0ba902b7-00");
	assert_int_equal(tracer_set_sampler(f->h->tracer, &pb_ratio0), 0);
	get(f, "/pbratio/root", NULL);
	get(f, "/pbratio/sampled-parent", "00-" TID "-00f067aa0ba902b7-01");
	get(f, "/pbratio/unsampled-parent", "00-" TID "-00f067aa0ba902b7-00");
	assert_int_equal(tracer_harness_collect(f->h, 4, 3000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), 4);
	assert_int_equal(count_prefix(spans, "/pboff/sampled-parent"), 1);
	assert_int_equal(count_prefix(spans, "/pbon/root"), 1);
	assert_int_equal(count_prefix(spans, "/pbon/sampled-parent"), 1);
	assert_int_equal(count_prefix(spans, "/pbratio/sampled-parent"), 1);
	json_decref(spans);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(ratio_keeps_its_share_and_the_sdk_traces, teardown),
		cmocka_unit_test_teardown(a_sampler_change_applies_to_the_next_requests, teardown),
		cmocka_unit_test_teardown(parent_based_samplers_follow_the_incoming_flag, teardown),
	};

	return AGENT_TESTS_RUN(tests);
}
