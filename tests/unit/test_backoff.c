#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/kube/backoff.h"

static void delays_double_up_to_the_cap(void **state)
{
	assert_int_equal(backoff_delay_for(250, 30000, 0), 250);
	assert_int_equal(backoff_delay_for(250, 30000, 1), 500);
	assert_int_equal(backoff_delay_for(250, 30000, 6), 16000);
	assert_int_equal(backoff_delay_for(250, 30000, 7), 30000);
	/* No overflow however many attempts. */
	assert_int_equal(backoff_delay_for(250, 30000, 4000000000u), 30000);
	assert_int_equal(backoff_delay_for(1, 0x7fffffffffffffffL, 200), 0x7fffffffffffffffL);
}

static void jitter_stays_within_its_fraction(void **state)
{
	struct backoff b;

	backoff_init(&b, 100, 10000, 0.5, 12345);
	for (unsigned i = 0; i < 12; i++) {
		long d = backoff_delay_for(100, 10000, i);
		long got = backoff_next_ms(&b);
		assert_true(got <= d);
		assert_true(got >= d / 2);
	}
}

static void jitter_spreads_clients_that_failed_together(void **state)
{
	struct backoff a, b;

	backoff_init(&a, 1000, 60000, 0.5, 1);
	backoff_init(&b, 1000, 60000, 0.5, 2);
	int differ = 0;
	for (int i = 0; i < 5; i++)
		differ += backoff_next_ms(&a) != backoff_next_ms(&b);
	assert_true(differ >= 4);
}

static void reset_starts_over_and_no_jitter_is_exact(void **state)
{
	struct backoff b;

	backoff_init(&b, 200, 1000, 0, 7);
	assert_int_equal(backoff_next_ms(&b), 200);
	assert_int_equal(backoff_next_ms(&b), 400);
	assert_int_equal(backoff_next_ms(&b), 800);
	assert_int_equal(backoff_next_ms(&b), 1000);
	backoff_reset(&b);
	assert_int_equal(backoff_next_ms(&b), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delays_double_up_to_the_cap),
		cmocka_unit_test(jitter_stays_within_its_fraction),
		cmocka_unit_test(jitter_spreads_clients_that_failed_together),
		cmocka_unit_test(reset_starts_over_and_no_jitter_is_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
