#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/kube/workqueue.h"

struct log {
	struct workqueue *q;
	char keys[64][32];
	long at_ms[64];
	int n;
	int fail_left;      /* fail this many calls */
	const char *readd;  /* add this key again from inside process, once */
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int record(void *ud, const char *key)
{
	struct log *l = ud;

	if (l->n < 64) {
		snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
		l->at_ms[l->n] = now_ms();
		l->n++;
	}
	if (l->readd && strcmp(l->readd, key) == 0) {
		l->readd = NULL;
		workqueue_add(l->q, key);
	}
	if (l->fail_left > 0) {
		l->fail_left--;
		return -EAGAIN;
	}
	return 0;
}

static void run_for(struct event_base *base, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void duplicate_adds_are_processed_once_in_order(void **state)
{
	struct event_base *base = event_base_new();
	struct log l = { 0 };
	assert_int_equal(workqueue_new(base, NULL, record, &l, &l.q), 0);

	workqueue_add(l.q, "ns/a");
	workqueue_add(l.q, "ns/b");
	workqueue_add(l.q, "ns/a");
	workqueue_add(l.q, "ns/c");
	assert_int_equal(workqueue_stats(l.q).depth, 3);
	run_for(base, 50);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.keys[0], "ns/a");
	assert_string_equal(l.keys[1], "ns/b");
	assert_string_equal(l.keys[2], "ns/c");
	workqueue_free(l.q);
	event_base_free(base);
}

static void a_key_added_while_processing_runs_again_after(void **state)
{
	struct event_base *base = event_base_new();
	struct log l = { .readd = "ns/a" };
	assert_int_equal(workqueue_new(base, NULL, record, &l, &l.q), 0);

	workqueue_add(l.q, "ns/a");
	workqueue_add(l.q, "ns/b");
	run_for(base, 50);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.keys[0], "ns/a");
	assert_string_equal(l.keys[1], "ns/b");
	assert_string_equal(l.keys[2], "ns/a");
	workqueue_free(l.q);
	event_base_free(base);
}

static void failures_retry_with_growing_delays_then_are_forgotten(void **state)
{
	struct event_base *base = event_base_new();
	struct workqueue_opts o = { .base_delay_ms = 20, .max_delay_ms = 1000 };
	struct log l = { .fail_left = 3 };
	assert_int_equal(workqueue_new(base, &o, record, &l, &l.q), 0);

	workqueue_add(l.q, "ns/x");
	run_for(base, 400);
	/* 3 failures then a success: 4 runs, 20, 40 and 80 ms apart at least. */
	assert_int_equal(l.n, 4);
	assert_true(l.at_ms[1] - l.at_ms[0] >= 19);
	assert_true(l.at_ms[2] - l.at_ms[1] >= 39);
	assert_true(l.at_ms[3] - l.at_ms[2] >= 79);
	assert_int_equal(workqueue_failures(l.q, "ns/x"), 0);
	assert_int_equal(workqueue_stats(l.q).retries, 3);
	workqueue_free(l.q);
	event_base_free(base);
}

static void delayed_adds_keep_the_earliest_time(void **state)
{
	struct event_base *base = event_base_new();
	struct log l = { 0 };
	assert_int_equal(workqueue_new(base, NULL, record, &l, &l.q), 0);

	long start = now_ms();
	workqueue_add_after(l.q, "ns/late", 500);
	workqueue_add_after(l.q, "ns/late", 30);
	workqueue_add_after(l.q, "ns/late", 400);
	assert_int_equal(workqueue_stats(l.q).waiting, 1);
	run_for(base, 200);
	assert_int_equal(l.n, 1);
	assert_true(l.at_ms[0] - start >= 29 && l.at_ms[0] - start < 200);
	workqueue_free(l.q);
	event_base_free(base);
}

static void the_number_of_keys_is_bounded(void **state)
{
	struct event_base *base = event_base_new();
	struct workqueue_opts o = { .max_keys = 2 };
	struct log l = { 0 };
	assert_int_equal(workqueue_new(base, &o, record, &l, &l.q), 0);

	assert_int_equal(workqueue_add(l.q, "a"), 0);
	assert_int_equal(workqueue_add(l.q, "b"), 0);
	assert_int_equal(workqueue_add(l.q, "a"), 0); /* known key: fine */
	assert_int_equal(workqueue_add(l.q, "c"), -ENOSPC);
	assert_int_equal(workqueue_stats(l.q).dropped, 1);
	run_for(base, 20);
	assert_int_equal(workqueue_add(l.q, "c"), 0);
	workqueue_free(l.q);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(duplicate_adds_are_processed_once_in_order),
		cmocka_unit_test(a_key_added_while_processing_runs_again_after),
		cmocka_unit_test(failures_retry_with_growing_delays_then_are_forgotten),
		cmocka_unit_test(delayed_adds_keep_the_earliest_time),
		cmocka_unit_test(the_number_of_keys_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
