/* The sampler the kernel reads: the ratio threshold is TraceIdRatioBased's (the trace
 * id's low 8 bytes, big-endian, below ratio * 2^64), and bad configs are refused. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/sampler.h"

static void thresholds_span_the_id_space(void **state)
{
	assert_true(sampler_ratio_threshold(0) == 0);
	assert_true(sampler_ratio_threshold(-1) == 0);
	assert_true(sampler_ratio_threshold(1) == UINT64_MAX);
	assert_true(sampler_ratio_threshold(0.5) == 1ULL << 63);
	assert_true(sampler_ratio_threshold(0.25) == 1ULL << 62);
	assert_true(sampler_ratio_threshold(nextafter(1.0, 0)) == UINT64_MAX - 2047);
	assert_true(sampler_ratio_threshold(1e-19) == 1);
}

static void ratio_decides_on_the_low_eight_bytes(void **state)
{
	struct tracer_sampler s = { .type = TRACER_SAMPLER_TRACEIDRATIO, .ratio = 0.5 };
	struct hs_sampler v;
	uint8_t tid[16];

	assert_int_equal(sampler_to_bpf(&s, 7, &v), 0);
	assert_int_equal(v.type, HS_SAMPLER_RATIO);
	assert_int_equal(v.revision, 7);
	memset(tid, 0xff, sizeof(tid));
	tid[8] = 0x7f; /* low half 0x7fff...: just below 2^63 */
	assert_true(sampler_keeps_trace(&v, tid));
	tid[8] = 0x80; /* 2^63 and above: not */
	memset(tid + 9, 0, 7);
	assert_false(sampler_keeps_trace(&v, tid));
	/* The high 8 bytes do not matter. */
	memset(tid, 0, 8);
	tid[8] = 0x00;
	assert_true(sampler_keeps_trace(&v, tid));
}

static void every_type_maps_and_bad_ones_are_refused(void **state)
{
	static const struct {
		enum tracer_sampler_type in;
		uint32_t out;
	} map[] = {
		{ TRACER_SAMPLER_ALWAYS_ON, HS_SAMPLER_ALWAYS_ON },
		{ TRACER_SAMPLER_ALWAYS_OFF, HS_SAMPLER_ALWAYS_OFF },
		{ TRACER_SAMPLER_TRACEIDRATIO, HS_SAMPLER_RATIO },
		{ TRACER_SAMPLER_PARENTBASED_ALWAYS_ON, HS_SAMPLER_PARENT_ALWAYS_ON },
		{ TRACER_SAMPLER_PARENTBASED_ALWAYS_OFF, HS_SAMPLER_PARENT_ALWAYS_OFF },
		{ TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO, HS_SAMPLER_PARENT_RATIO },
	};
	struct hs_sampler v, before;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct tracer_sampler s = { .type = map[i].in, .ratio = 0.3 };

		assert_int_equal(sampler_to_bpf(&s, 1, &v), 0);
		assert_int_equal(v.type, map[i].out);
	}
	memset(&v, 0xab, sizeof(v));
	before = v;
	struct tracer_sampler bad[] = {
		{ .type = TRACER_SAMPLER_TRACEIDRATIO, .ratio = NAN },
		{ .type = TRACER_SAMPLER_TRACEIDRATIO, .ratio = 1.5 },
		{ .type = TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO, .ratio = -0.1 },
		{ .type = (enum tracer_sampler_type)99 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sampler_to_bpf(&bad[i], 1, &v), -EINVAL);
		assert_memory_equal(&v, &before, sizeof(v)); /* untouched */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(thresholds_span_the_id_space),
		cmocka_unit_test(ratio_decides_on_the_low_eight_bytes),
		cmocka_unit_test(every_type_maps_and_bad_ones_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
