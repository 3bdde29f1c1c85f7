#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/otlp/retry.h"

static void backoff_grows_by_the_multiplier_up_to_the_cap(void **state)
{
	struct otlp_backoff b = { .initial_ms = 100, .max_ms = 1000, .multiplier = 2, .jitter = 0 };

	assert_int_equal(otlp_backoff_delay_ms(&b, 0, 12345), 100);
	assert_int_equal(otlp_backoff_delay_ms(&b, 1, 12345), 200);
	assert_int_equal(otlp_backoff_delay_ms(&b, 3, 12345), 800);
	assert_int_equal(otlp_backoff_delay_ms(&b, 4, 12345), 1000);
	assert_int_equal(otlp_backoff_delay_ms(&b, 1000000, 12345), 1000);
}

static void jitter_spreads_the_delay_over_its_bounds(void **state)
{
	struct otlp_backoff b = { .initial_ms = 1000, .max_ms = 30000, .multiplier = 1.5,
				  .jitter = 0.5 };
	uint64_t lo = UINT64_MAX, hi = 0;

	/* rnd 0 and UINT32_MAX are the ends of the range. */
	assert_int_equal(otlp_backoff_delay_ms(&b, 0, 0), 500);
	assert_int_equal(otlp_backoff_delay_ms(&b, 0, UINT32_MAX), 1500);
	assert_int_equal(otlp_backoff_delay_ms(&b, 0, UINT32_MAX / 2), 1000);
	assert_int_equal(otlp_backoff_delay_ms(&b, 2, 0), 1125); /* 2250 * 0.5 */
	assert_int_equal(otlp_backoff_delay_ms(&b, 20, UINT32_MAX), 45000);
	for (uint32_t r = 0; r < 4000; r++) {
		uint64_t d = otlp_backoff_delay_ms(&b, 1, r * 1073741u);

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_in_range(lo, 750, 760);   /* interval 1500, -50% */
	assert_in_range(hi, 2240, 2250); /* +50% */
}

static void retry_after_in_seconds(void **state)
{
	uint64_t ms = 7;

	assert_int_equal(otlp_retry_after_parse("3", 0, &ms), 0);
	assert_int_equal(ms, 3000);
	assert_int_equal(otlp_retry_after_parse(" 0 ", 0, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(otlp_retry_after_parse("99999999999999999999999", 0, &ms), 0);
	assert_int_equal(ms, 24ULL * 3600 * 1000); /* capped at a day */
}

static void retry_after_as_an_http_date(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	const time_t date = 784111777;
	uint64_t ms;

	assert_int_equal(otlp_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", date - 5, &ms), 0);
	assert_int_equal(ms, 5000);
	assert_int_equal(otlp_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", date - 2, &ms), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(otlp_retry_after_parse("Sun Nov  6 08:49:37 1994", date - 1, &ms), 0);
	assert_int_equal(ms, 1000);
	/* A date already past: retry now. */
	assert_int_equal(otlp_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", date + 60, &ms), 0);
	assert_int_equal(ms, 0);
}

static void garbage_retry_after_is_refused(void **state)
{
	uint64_t ms = 42;

	assert_int_equal(otlp_retry_after_parse("", 0, &ms), -EINVAL);
	assert_int_equal(otlp_retry_after_parse("-1", 0, &ms), -EINVAL);
	assert_int_equal(otlp_retry_after_parse("1.5", 0, &ms), -EINVAL);
	assert_int_equal(otlp_retry_after_parse("soon", 0, &ms), -EINVAL);
	assert_int_equal(otlp_retry_after_parse("12 seconds", 0, &ms), -EINVAL);
	assert_int_equal(otlp_retry_after_parse(NULL, 0, &ms), -EINVAL);
	assert_int_equal(ms, 42);
}

static void only_the_otlp_retryable_statuses_are_retried(void **state)
{
	assert_true(otlp_http_status_retryable(429));
	assert_true(otlp_http_status_retryable(502));
	assert_true(otlp_http_status_retryable(503));
	assert_true(otlp_http_status_retryable(504));
	assert_false(otlp_http_status_retryable(400));
	assert_false(otlp_http_status_retryable(500));
	assert_false(otlp_http_status_retryable(413));
	assert_false(otlp_http_status_retryable(200));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_grows_by_the_multiplier_up_to_the_cap),
		cmocka_unit_test(jitter_spreads_the_delay_over_its_bounds),
		cmocka_unit_test(retry_after_in_seconds),
		cmocka_unit_test(retry_after_as_an_http_date),
		cmocka_unit_test(garbage_retry_after_is_refused),
		cmocka_unit_test(only_the_otlp_retryable_statuses_are_retried),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
