#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/otlp/queue.h"

static void span_numbered(struct otlp_span *s, uint32_t n)
{
	otlp_span_init(s);
	s->start_unix_nano = n;
}

static void a_full_queue_drops_the_oldest_and_says_so(void **state)
{
	struct otlp_queue *q;
	struct otlp_span s, out[8];
	size_t dropped = 0;

	assert_int_equal(otlp_queue_new(4, &q), 0);
	for (uint32_t i = 1; i <= 10; i++) {
		span_numbered(&s, i);
		dropped += otlp_queue_push(q, &s);
	}
	assert_int_equal(dropped, 6);
	assert_int_equal(otlp_queue_len(q), 4);
	assert_int_equal(otlp_queue_pop(q, out, 8), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(out[i].start_unix_nano, 7 + i); /* the newest four, in order */
	assert_int_equal(otlp_queue_len(q), 0);
	assert_int_equal(otlp_queue_pop(q, out, 8), 0);
	otlp_queue_free(q);
}

static void pops_keep_fifo_order_across_the_wrap(void **state)
{
	struct otlp_queue *q;
	struct otlp_span s, out[5];
	uint32_t next_in = 1, next_out = 1;

	assert_int_equal(otlp_queue_new(5, &q), 0);
	for (int round = 0; round < 50; round++) {
		size_t n;

		for (int k = 0; k < 3; k++) {
			span_numbered(&s, next_in++);
			assert_false(otlp_queue_push(q, &s));
		}
		n = otlp_queue_pop(q, out, (size_t)(round % 2 ? 3 : 2));
		for (size_t i = 0; i < n; i++)
			assert_int_equal(out[i].start_unix_nano, next_out++);
		if (otlp_queue_len(q) >= 3) { /* drain so that pushes never overflow */
			n = otlp_queue_pop(q, out, 5);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(out[i].start_unix_nano, next_out++);
		}
	}
	otlp_queue_free(q);
}

static void a_zero_capacity_is_refused(void **state)
{
	struct otlp_queue *q = NULL;

	assert_int_equal(otlp_queue_new(0, &q), -EINVAL);
	assert_null(q);
	assert_int_equal(otlp_queue_new(SIZE_MAX / 2, &q), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_full_queue_drops_the_oldest_and_says_so),
		cmocka_unit_test(pops_keep_fifo_order_across_the_wrap),
		cmocka_unit_test(a_zero_capacity_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
