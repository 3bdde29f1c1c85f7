/* The Prometheus text exposition of a registry, read back the way a scraper reads it. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/metrics/registry.h"
#include "lib/metrics/text_format.h"

static char *expose(struct metrics_registry *reg)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(metrics_registry_format(reg, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

/* The value of the sample whose name and labels are exactly series ("x{a=\"b\"}"), or
 * NAN when there is no such line. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');

		if (strncmp(line, series, n) == 0 && line[n] == ' ')
			return strtod(line + n + 1, NULL);
		line = end ? end + 1 : NULL;
	}
	return NAN;
}

static size_t count_lines_starting(const char *text, const char *prefix)
{
	size_t count = 0, n = strlen(prefix);

	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');

		if (strncmp(line, prefix, n) == 0)
			count++;
		line = end ? end + 1 : NULL;
	}
	return count;
}

static void label_values_and_help_are_escaped(void **state)
{
	struct metrics_registry *reg;
	struct metrics_counter *c;
	char *text;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_counter_new(reg,
					     &(struct metrics_opts){
						     .name = "requests_total",
						     .help = "Requests \\ seen\nby \"path\".",
						     .labels = (const char *[]){ "path", NULL },
					     },
					     &c),
			 0);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "a\\b\"c\nd" }, 2), 0);
	text = expose(reg);
	/* Help escapes backslash and newline but not quotes; label values all three. */
	assert_non_null(strstr(text, "# HELP requests_total Requests \\\\ seen\\nby \"path\".\n"));
	assert_non_null(strstr(text, "# TYPE requests_total counter\n"));
	assert_true(sample(text, "requests_total{path=\"a\\\\b\\\"c\\nd\"}") == 2);
	free(text);
	metrics_registry_free(reg);
}

static void labelled_family_without_series_shows_only_help_and_type(void **state)
{
	struct metrics_registry *reg;
	struct metrics_gauge *g;
	struct metrics_counter *c;
	char *text;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_gauge_new(reg,
					   &(struct metrics_opts){
						   .name = "queue_length",
						   .help = "Items queued.",
						   .labels = (const char *[]){ "queue", NULL },
					   },
					   &g),
			 0);
	assert_int_equal(metrics_counter_new(reg,
					     &(struct metrics_opts){
						     .name = "drops_total",
						     .help = "Drops.",
					     },
					     &c),
			 0);
	text = expose(reg);
	assert_non_null(strstr(text, "# HELP queue_length Items queued.\n"
				     "# TYPE queue_length gauge\n"));
	assert_int_equal(count_lines_starting(text, "queue_length"), 0);
	/* A family without labels has its one series from the start, at 0. */
	assert_true(sample(text, "drops_total") == 0);
	/* Families come sorted by name. */
	assert_true(strstr(text, "# HELP drops_total") < strstr(text, "# HELP queue_length"));
	free(text);
	metrics_registry_free(reg);
}

static void histogram_buckets_are_cumulative_and_end_in_inf(void **state)
{
	static const double bounds[] = { 0.1, 1, 10 };
	static const double observed[] = { 0.05, 0.1, 0.5, 2, 20, 30 };
	struct metrics_registry *reg;
	struct metrics_histogram *h;
	uint64_t count;
	double sum, expected_sum = 0;
	char *text;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_histogram_new(reg,
					       &(struct metrics_opts){
						       .name = "latency_seconds",
						       .help = "Latency.",
						       .labels = (const char *[]){ "route", NULL },
						       .buckets = bounds,
						       .n_buckets = 3,
					       },
					       &h),
			 0);
	for (size_t i = 0; i < sizeof(observed) / sizeof(observed[0]); i++) {
		assert_int_equal(metrics_histogram_observe_labels(h, (const char *[]){ "/x" },
								  observed[i]),
				 0);
		expected_sum += observed[i];
	}
	text = expose(reg);
	assert_non_null(strstr(text, "# TYPE latency_seconds histogram\n"));
	/* le is inclusive: 0.1 falls in the 0.1 bucket. */
	assert_true(sample(text, "latency_seconds_bucket{route=\"/x\",le=\"0.1\"}") == 2);
	assert_true(sample(text, "latency_seconds_bucket{route=\"/x\",le=\"1\"}") == 3);
	assert_true(sample(text, "latency_seconds_bucket{route=\"/x\",le=\"10\"}") == 4);
	assert_true(sample(text, "latency_seconds_bucket{route=\"/x\",le=\"+Inf\"}") == 6);
	assert_true(sample(text, "latency_seconds_count{route=\"/x\"}") == 6);
	assert_true(fabs(sample(text, "latency_seconds_sum{route=\"/x\"}") - expected_sum) < 1e-9);
	assert_int_equal(count_lines_starting(text, "latency_seconds_bucket"), 4);
	assert_int_equal(metrics_histogram_get(h, (const char *[]){ "/x" }, &count, &sum), 0);
	assert_int_equal(count, 6);
	free(text);
	metrics_registry_free(reg);
}

static void histogram_without_labels_uses_default_buckets(void **state)
{
	struct metrics_registry *reg;
	struct metrics_histogram *h;
	char *text;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_histogram_new(reg,
					       &(struct metrics_opts){
						       .name = "scrape_duration_seconds",
						       .help = "Scrape time.",
					       },
					       &h),
			 0);
	metrics_histogram_observe(h, 0.3);
	text = expose(reg);
	assert_int_equal(count_lines_starting(text, "scrape_duration_seconds_bucket{le="),
			 metrics_default_n_buckets + 1);
	assert_true(sample(text, "scrape_duration_seconds_bucket{le=\"0.25\"}") == 0);
	assert_true(sample(text, "scrape_duration_seconds_bucket{le=\"0.5\"}") == 1);
	assert_true(sample(text, "scrape_duration_seconds_count") == 1);
	free(text);
	metrics_registry_free(reg);
}

static void series_past_the_cap_are_dropped_and_counted(void **state)
{
	struct metrics_registry *reg;
	struct metrics_counter *c;
	char *text;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_counter_new(reg,
					     &(struct metrics_opts){
						     .name = "hits_total",
						     .help = "Hits.",
						     .labels = (const char *[]){ "user", NULL },
						     .max_series = 2,
					     },
					     &c),
			 0);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "a" }, 1), 0);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "b" }, 1), 0);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "c" }, 1), -ENOSPC);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "d" }, 1), -ENOSPC);
	/* Existing series still take updates. */
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "a" }, 1), 0);
	assert_int_equal(metrics_counter_overflow(c), 2);
	text = expose(reg);
	assert_int_equal(count_lines_starting(text, "hits_total{"), 2);
	assert_true(sample(text, "hits_total{user=\"a\"}") == 2);
	assert_true(isnan(sample(text, "hits_total{user=\"c\"}")));
	assert_true(sample(text, METRICS_OVERFLOW_FAMILY "{family=\"hits_total\"}") == 2);
	free(text);
	metrics_registry_free(reg);
}

static void values_are_written_exactly_and_briefly(void **state)
{
	static const double values[] = { 0, 1, 0.1, 1e-9, 1.0 / 3, 123456789012345678.0,
					 9007199254740993.0, -2.5, 1e300, -7, 9007199254740991.0 };
	char buf[32];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		metrics_format_value(values[i], buf, sizeof(buf));
		assert_true(strtod(buf, NULL) == values[i]);
	}
	metrics_format_value(0.1, buf, sizeof(buf));
	assert_string_equal(buf, "0.1");
	metrics_format_value(42, buf, sizeof(buf));
	assert_string_equal(buf, "42");
	metrics_format_value(INFINITY, buf, sizeof(buf));
	assert_string_equal(buf, "+Inf");
	metrics_format_value(-INFINITY, buf, sizeof(buf));
	assert_string_equal(buf, "-Inf");
	metrics_format_value(NAN, buf, sizeof(buf));
	assert_string_equal(buf, "NaN");
}

static void counter_keeps_whole_and_fractional_increments(void **state)
{
	struct metrics_registry *reg;
	struct metrics_counter *c;
	double v;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_counter_new(reg,
					     &(struct metrics_opts){ .name = "bytes_total",
								     .help = "Bytes." },
					     &c),
			 0);
	metrics_counter_add(c, 3);
	metrics_counter_add(c, 0.25);
	metrics_counter_add(c, -5);	  /* ignored: a counter never goes down */
	metrics_counter_add(c, NAN);	  /* ignored */
	metrics_counter_inc(c);
	assert_int_equal(metrics_counter_get(c, NULL, &v), 0);
	assert_true(v == 4.25);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "x" }, 1), -EINVAL);
	metrics_registry_free(reg);
}

static void bad_label_values_are_sanitized_and_bounded(void **state)
{
	struct metrics_registry *reg;
	struct metrics_gauge *g;
	char long_value[METRICS_LABEL_VALUE_MAX * 2];
	char expected[METRICS_LABEL_VALUE_MAX + 64];
	double v;
	char *text;

	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_gauge_new(reg,
					   &(struct metrics_opts){
						   .name = "temperature",
						   .help = "Temperature.",
						   .labels = (const char *[]){ "room", NULL },
					   },
					   &g),
			 0);
	/* An invalid byte becomes U+FFFD; the same raw value finds the same series. */
	assert_int_equal(metrics_gauge_set_labels(g, (const char *[]){ "k\xff" "1" }, 20), 0);
	assert_int_equal(metrics_gauge_add_labels(g, (const char *[]){ "k\xff" "1" }, 1), 0);
	assert_int_equal(metrics_gauge_set_labels(g, (const char *[]){ long_value }, 5), 0);
	/* A truncated multibyte character is invalid too. */
	assert_int_equal(metrics_gauge_set_labels(g, (const char *[]){ "caf\xc3" }, 7), 0);
	text = expose(reg);
	assert_true(sample(text, "temperature{room=\"k\xef\xbf\xbd" "1\"}") == 21);
	assert_true(sample(text, "temperature{room=\"caf\xef\xbf\xbd\"}") == 7);
	memset(expected, 0, sizeof(expected));
	memcpy(expected, "temperature{room=\"", 18);
	memset(expected + 18, 'x', METRICS_LABEL_VALUE_MAX);
	memcpy(expected + 18 + METRICS_LABEL_VALUE_MAX, "\"}", 2);
	assert_true(sample(text, expected) == 5);
	assert_int_equal(metrics_gauge_get(g, (const char *[]){ "k\xff" "1" }, &v), 0);
	assert_true(v == 21);
	assert_int_equal(count_lines_starting(text, "temperature{"), 3);
	free(text);
	metrics_registry_free(reg);
}

static double read_seven(void *userdata)
{
	return *(double *)userdata;
}

static void callback_families_are_read_at_exposition(void **state)
{
	struct metrics_registry *reg;
	double value = 7;
	char *text;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_gauge_fn_new(reg,
					      &(struct metrics_opts){ .name = "open_fds",
								      .help = "Open fds." },
					      read_seven, &value),
			 0);
	assert_int_equal(metrics_counter_fn_new(reg,
						&(struct metrics_opts){
							.name = "cb_total",
							.help = "x",
							.labels = (const char *[]){ "a", NULL },
						},
						read_seven, &value),
			 -EINVAL);
	text = expose(reg);
	assert_true(sample(text, "open_fds") == 7);
	free(text);
	value = 9;
	text = expose(reg);
	assert_true(sample(text, "open_fds") == 9);
	free(text);
	metrics_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_values_and_help_are_escaped),
		cmocka_unit_test(labelled_family_without_series_shows_only_help_and_type),
		cmocka_unit_test(histogram_buckets_are_cumulative_and_end_in_inf),
		cmocka_unit_test(histogram_without_labels_uses_default_buckets),
		cmocka_unit_test(series_past_the_cap_are_dropped_and_counted),
		cmocka_unit_test(values_are_written_exactly_and_briefly),
		cmocka_unit_test(counter_keeps_whole_and_fractional_increments),
		cmocka_unit_test(bad_label_values_are_sanitized_and_bounded),
		cmocka_unit_test(callback_families_are_read_at_exposition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
