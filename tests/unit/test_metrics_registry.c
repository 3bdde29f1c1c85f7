/* Registration rules and updates from several threads at once. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/metrics/registry.h"
#include "lib/metrics/text_format.h"

static int add_counter(struct metrics_registry *reg, const char *name, const char *const *labels)
{
	struct metrics_counter *c;

	return metrics_counter_new(reg,
				   &(struct metrics_opts){ .name = name, .help = "h",
							   .labels = labels },
				   &c);
}

static int add_gauge(struct metrics_registry *reg, const char *name)
{
	struct metrics_gauge *g;

	return metrics_gauge_new(reg, &(struct metrics_opts){ .name = name, .help = "h" }, &g);
}

static int add_histogram(struct metrics_registry *reg, const char *name,
			 const char *const *labels, const double *buckets, size_t n)
{
	struct metrics_histogram *h;

	return metrics_histogram_new(reg,
				     &(struct metrics_opts){ .name = name,
							     .help = "h",
							     .labels = labels,
							     .buckets = buckets,
							     .n_buckets = n },
				     &h);
}

static void names_are_validated_on_registration(void **state)
{
	struct metrics_registry *reg;
	struct metrics_gauge *g;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(add_counter(reg, "ok_total", NULL), 0);
	assert_int_equal(add_counter(reg, "ok_total", NULL), -EEXIST);
	assert_int_equal(add_counter(reg, "no_suffix", NULL), -EINVAL);
	assert_int_equal(add_gauge(reg, "gauge_total"), -EINVAL);
	assert_int_equal(add_gauge(reg, "1starts_with_digit"), -EINVAL);
	assert_int_equal(add_gauge(reg, "has-dash"), -EINVAL);
	assert_int_equal(add_gauge(reg, "has:colon"), -EINVAL);
	assert_int_equal(add_gauge(reg, ""), -EINVAL);
	assert_int_equal(add_gauge(reg, "x_bucket"), -EINVAL);
	assert_int_equal(add_gauge(reg, "x_count"), -EINVAL);
	assert_int_equal(add_gauge(reg, "x_sum"), -EINVAL);
	assert_int_equal(add_counter(reg, METRICS_OVERFLOW_FAMILY, NULL), -EINVAL);
	assert_int_equal(add_gauge(reg, "fine_name_2"), 0);
	/* help is required */
	assert_int_equal(metrics_gauge_new(reg, &(struct metrics_opts){ .name = "g2", .help = "" },
					   &g),
			 -EINVAL);

	assert_int_equal(add_counter(reg, "l1_total", (const char *[]){ "__reserved", NULL }),
			 -EINVAL);
	assert_int_equal(add_counter(reg, "l2_total", (const char *[]){ "a", "a", NULL }),
			 -EINVAL);
	assert_int_equal(add_counter(reg, "l3_total", (const char *[]){ "bad-name", NULL }),
			 -EINVAL);
	assert_int_equal(add_counter(reg, "l4_total", (const char *[]){ "le", NULL }), 0);
	assert_int_equal(add_histogram(reg, "h1_seconds", (const char *[]){ "le", NULL }, NULL, 0),
			 -EINVAL);
	metrics_registry_free(reg);
}

static void histogram_buckets_must_increase_and_be_finite(void **state)
{
	struct metrics_registry *reg;
	const double good[] = { 1, 2, 3 }, equal[] = { 1, 1 }, down[] = { 2, 1 },
		     inf[] = { 1, INFINITY }, nan[] = { NAN };
	struct metrics_gauge *g;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(add_histogram(reg, "a_seconds", NULL, good, 3), 0);
	assert_int_equal(add_histogram(reg, "b_seconds", NULL, equal, 2), -EINVAL);
	assert_int_equal(add_histogram(reg, "c_seconds", NULL, down, 2), -EINVAL);
	assert_int_equal(add_histogram(reg, "d_seconds", NULL, inf, 2), -EINVAL);
	assert_int_equal(add_histogram(reg, "e_seconds", NULL, nan, 1), -EINVAL);
	assert_int_equal(add_histogram(reg, "f_seconds", NULL, good, 0), -EINVAL);
	assert_int_equal(metrics_gauge_new(reg,
					   &(struct metrics_opts){ .name = "g", .help = "h",
								   .buckets = good, .n_buckets = 3 },
					   &g),
			 -EINVAL);
	metrics_registry_free(reg);
}

static void wrong_label_use_is_refused(void **state)
{
	struct metrics_registry *reg;
	struct metrics_counter *c;
	double v;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_counter_new(reg,
					     &(struct metrics_opts){
						     .name = "x_total",
						     .help = "h",
						     .labels = (const char *[]){ "a", "b", NULL },
					     },
					     &c),
			 0);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "1", NULL }, 1), -EINVAL);
	assert_int_equal(metrics_counter_add_labels(c, NULL, 1), -EINVAL);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "1", "2" }, -1), -EINVAL);
	/* An update without labels on a labelled family does nothing. */
	metrics_counter_inc(c);
	assert_int_equal(metrics_counter_get(c, (const char *[]){ "1", "2" }, &v), -ENOENT);
	/* ("ab","c") and ("a","bc") are different series. */
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "ab", "c" }, 1), 0);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "a", "bc" }, 2), 0);
	assert_int_equal(metrics_counter_get(c, (const char *[]){ "ab", "c" }, &v), 0);
	assert_true(v == 1);
	assert_int_equal(metrics_counter_get(c, (const char *[]){ "a", "bc" }, &v), 0);
	assert_true(v == 2);
	metrics_registry_free(reg);
}

/* ---- concurrency ---- */

#define THREADS 4
#define ROUNDS 50000
#define LABELS 8

struct shared {
	struct metrics_registry *reg;
	struct metrics_counter *plain;
	struct metrics_counter *labelled;
	struct metrics_gauge *gauge;
	struct metrics_histogram *histogram;
	int stop_scraping;
	int scrape_failures;
};

static const char *const label_values[LABELS] = { "a", "b", "c", "d", "e", "f", "g", "h" };

static void *updater(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ROUNDS; i++) {
		const char *v[] = { label_values[i % LABELS] };

		metrics_counter_inc(s->plain);
		metrics_counter_add(s->plain, 0.5);
		metrics_counter_add_labels(s->labelled, v, 1);
		metrics_gauge_add(s->gauge, 1);
		metrics_gauge_add(s->gauge, -0.5);
		metrics_histogram_observe_labels(s->histogram, v, (double)(i % 4));
	}
	return NULL;
}

/* Scrapes while the updaters run, so that a race between exposition and series
 * creation shows up under the sanitizers. */
static void *scraper(void *arg)
{
	struct shared *s = arg;
	size_t scrapes = 0;

	while (!__atomic_load_n(&s->stop_scraping, __ATOMIC_ACQUIRE) || scrapes == 0) {
		char *text;
		size_t len;

		/* cmocka's asserts belong to the main thread: record, check there. */
		if (metrics_registry_format(s->reg, &text, &len) < 0)
			s->scrape_failures++;
		else
			free(text);
		scrapes++;
	}
	return NULL;
}

static void concurrent_updates_sum_exactly(void **state)
{
	static const double bounds[] = { 0.5, 1.5, 2.5 };
	struct shared s = { 0 };
	pthread_t threads[THREADS], scrape_thread;
	uint64_t total_count = 0;
	double v, total = 0;

	assert_int_equal(metrics_registry_new(&s.reg), 0);
	assert_int_equal(metrics_counter_new(s.reg,
					     &(struct metrics_opts){ .name = "plain_total",
								     .help = "h" },
					     &s.plain),
			 0);
	assert_int_equal(metrics_counter_new(s.reg,
					     &(struct metrics_opts){
						     .name = "labelled_total",
						     .help = "h",
						     .labels = (const char *[]){ "k", NULL },
					     },
					     &s.labelled),
			 0);
	assert_int_equal(metrics_gauge_new(s.reg,
					   &(struct metrics_opts){ .name = "level", .help = "h" },
					   &s.gauge),
			 0);
	assert_int_equal(metrics_histogram_new(s.reg,
					       &(struct metrics_opts){
						       .name = "spread",
						       .help = "h",
						       .labels = (const char *[]){ "k", NULL },
						       .buckets = bounds,
						       .n_buckets = 3,
					       },
					       &s.histogram),
			 0);
	assert_int_equal(pthread_create(&scrape_thread, NULL, scraper, &s), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, updater, &s), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	__atomic_store_n(&s.stop_scraping, 1, __ATOMIC_RELEASE);
	pthread_join(scrape_thread, NULL);
	assert_int_equal(s.scrape_failures, 0);

	assert_int_equal(metrics_counter_get(s.plain, NULL, &v), 0);
	assert_true(v == THREADS * ROUNDS * 1.5);
	assert_int_equal(metrics_gauge_get(s.gauge, NULL, &v), 0);
	assert_true(v == THREADS * ROUNDS * 0.5);
	for (int i = 0; i < LABELS; i++) {
		const char *values[] = { label_values[i] };
		uint64_t count;
		double sum;

		assert_int_equal(metrics_counter_get(s.labelled, values, &v), 0);
		assert_true(v == THREADS * ROUNDS / LABELS);
		assert_int_equal(metrics_histogram_get(s.histogram, values, &count, &sum), 0);
		total_count += count;
		total += sum;
	}
	assert_int_equal(total_count, THREADS * ROUNDS);
	/* i % 4 over each thread's rounds: 0+1+2+3 per four rounds. */
	assert_true(total == THREADS * (ROUNDS / 4) * 6.0);
	metrics_registry_free(s.reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_are_validated_on_registration),
		cmocka_unit_test(histogram_buckets_must_increase_and_be_finite),
		cmocka_unit_test(wrong_label_use_is_refused),
		cmocka_unit_test(concurrent_updates_sum_exactly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
