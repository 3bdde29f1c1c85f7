#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/red_metrics.h"

static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1 };

static void buckets_are_cumulative_and_end_with_the_count(void **state)
{
	struct red_series s[2] = {
		{ .method = "GET", .status_code = 200, .buckets = { 5, 3, 0, 1, 0, 1 }, .count = 10,
		  .sum_seconds = 0.5 },
		{ .method = "POST", .status_code = 503, .buckets = { 0, 0, 0, 0, 0, 2 }, .count = 2,
		  .sum_seconds = 3.25 },
	};
	struct prom_text t = { 0 };

	assert_int_equal(red_metrics_format(s, 2, bounds, 5, &t), 0);
	char *buf = t.data;
	size_t len = t.len;
	assert_non_null(strstr(buf, "# TYPE http_server_request_duration_seconds histogram\n"));
	assert_non_null(strstr(buf, "http_server_request_duration_seconds_bucket{http_request_method=\"GET\","
				    "http_response_status_code=\"200\",le=\"0.01\"} 8\n"));
	assert_non_null(strstr(buf, "{http_request_method=\"GET\",http_response_status_code=\"200\","
				    "le=\"0.1\"} 9\n"));
	assert_non_null(strstr(buf, "{http_request_method=\"GET\",http_response_status_code=\"200\","
				    "le=\"+Inf\"} 10\n"));
	assert_non_null(strstr(buf, "http_server_request_duration_seconds_count{http_request_method=\"POST\","
				    "http_response_status_code=\"503\"} 2\n"));
	assert_non_null(strstr(buf, "_sum{http_request_method=\"POST\",http_response_status_code=\"503\"} 3.25\n"));
	assert_int_equal(strlen(buf), len);
	free(buf);
}

static void odd_methods_never_reach_the_exposition(void **state)
{
	struct red_series s = { .method = "G\"E\nT", .status_code = 200, .count = 1 };
	struct prom_text t = { 0 };

	assert_int_equal(red_metrics_format(&s, 1, bounds, 5, &t), 0);
	char *buf = t.data;
	assert_null(strstr(buf, "\"E"));
	assert_non_null(strstr(buf, "http_request_method=\"G_E_T\""));
	free(buf);
}

/* `promtool check metrics`, which users run on /metrics, accepts it: its checks through
 * $METRICS_LINT (tools/metrics-lint; a real promtool works as well). */
static void metrics_lint_accepts_it(void **state)
{
	const char *checker = getenv("METRICS_LINT");
	struct red_series s[2] = {
		{ .method = "GET", .status_code = 200, .buckets = { 1, 1, 1, 1, 1, 1 }, .count = 6,
		  .sum_seconds = 0.3 },
		{ .method = "DELETE", .status_code = 404, .buckets = { 1 }, .count = 1, .sum_seconds = 0.001 },
	};
	char path[] = "/tmp/red-XXXXXX", cmd[512];
	struct prom_text t = { 0 };

	if (!checker || access(checker, X_OK) != 0)
		skip();
	assert_int_equal(red_metrics_format(s, 2, bounds, 5, &t), 0);
	/* And an unlabelled histogram next to it. */
	uint64_t b[6] = { 1, 0, 0, 0, 0, 0 };
	assert_int_equal(prom_text_histogram_header(&t, "autotrace_agent_export_duration_seconds", "x."), 0);
	assert_int_equal(prom_text_histogram_series(&t, "autotrace_agent_export_duration_seconds", "",
						    bounds, 5, b, 1, 0.001), 0);
	char *buf = t.data;
	size_t len = t.len;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s check metrics < %s", checker, path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buckets_are_cumulative_and_end_with_the_count),
		cmocka_unit_test(odd_methods_never_reach_the_exposition),
		cmocka_unit_test(metrics_lint_accepts_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
