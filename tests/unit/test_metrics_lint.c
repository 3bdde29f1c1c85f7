/* `promtool check metrics`'s checks, Prometheus' text parser and client_golang's linter,
 * accept the exposition of a registry holding every kind of family, and reject a page
 * with a lint problem or a line that does not parse. The checker comes from
 * $METRICS_LINT (make sets it to tools/metrics-lint, built by `make deps`; a real
 * promtool works as well) or metrics-lint on PATH; without it the whole file is skipped,
 * saying so in its TAP plan. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lib/http/server.h"
#include "lib/metrics/http_endpoint.h"
#include "lib/metrics/registry.h"
#include "lib/metrics/text_format.h"

extern char **environ;

static const char *find_metrics_lint(void)
{
	static char found[4096];
	const char *env = getenv("METRICS_LINT");
	const char *path = getenv("PATH");

	if (env && access(env, X_OK) == 0)
		return env;
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		int n = snprintf(found, sizeof(found), "%.*s/metrics-lint", (int)len, path);

		if (n > 0 && (size_t)n < sizeof(found) && access(found, X_OK) == 0)
			return found;
		path = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Runs `<checker> check metrics` on text; its exit status, and its output in *ret_out
 * (new string). */
static int metrics_lint_check(const char *checker, const char *text, char **ret_out)
{
	char in_path[] = "/tmp/test_metrics_lint.in.XXXXXX";
	char out_path[] = "/tmp/test_metrics_lint.out.XXXXXX";
	int in_fd = mkstemp(in_path), out_fd = mkstemp(out_path);
	char *const argv[] = { (char *)checker, "check", "metrics", NULL };
	posix_spawn_file_actions_t actions;
	char *out = calloc(1, 65536);
	int status;
	pid_t pid;
	ssize_t n;

	assert_true(in_fd >= 0 && out_fd >= 0);
	assert_non_null(out);
	assert_int_equal(write(in_fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(lseek(in_fd, 0, SEEK_SET), 0);
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
	posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
	posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
	assert_int_equal(posix_spawn(&pid, checker, &actions, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&actions);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	n = pread(out_fd, out, 65535, 0);
	out[n > 0 ? n : 0] = '\0';
	close(in_fd);
	close(out_fd);
	unlink(in_path);
	unlink(out_path);
	*ret_out = out;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static double read_constant(void *userdata)
{
	return 42;
}

/* One family of every kind, labels with values that need escaping, a family that hit
 * its series cap, special float values, and the TLS reload metrics of a server. */
static struct metrics_registry *full_registry(struct event_base *base,
					      struct http_server **ret_server)
{
	static const double bounds[] = { 0.001, 0.01, 0.1, 1 };
	struct metrics_registry *reg;
	struct metrics_counter *requests, *plain;
	struct metrics_gauge *temperature, *up;
	struct metrics_histogram *latency, *sizes;
	struct http_server *server;

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_counter_new(reg,
					     &(struct metrics_opts){
						     .name = "autotrace_test_requests_total",
						     .help = "Requests by \"method\" and path \\ done.\n"
							     "Second line.",
						     .labels = (const char *[]){ "method", "path",
										  NULL },
						     .max_series = 3,
					     },
					     &requests),
			 0);
	assert_int_equal(metrics_counter_add_labels(requests, (const char *[]){ "GET", "/" }, 3),
			 0);
	assert_int_equal(metrics_counter_add_labels(
				 requests, (const char *[]){ "POST", "/a\"b\\c\nd" }, 1.5),
			 0);
	assert_int_equal(metrics_counter_add_labels(
				 requests, (const char *[]){ "GET", "/caf\xc3\xa9/\xff" }, 1),
			 0);
	assert_int_equal(metrics_counter_add_labels(requests, (const char *[]){ "PUT", "/x" }, 1),
			 -ENOSPC);
	assert_int_equal(metrics_counter_new(reg,
					     &(struct metrics_opts){
						     .name = "autotrace_test_events_total",
						     .help = "Events.",
					     },
					     &plain),
			 0);
	metrics_counter_add(plain, 1e20);
	assert_int_equal(metrics_gauge_new(reg,
					   &(struct metrics_opts){
						   .name = "autotrace_test_temperature_celsius",
						   .help = "Temperature.",
						   .labels = (const char *[]){ "room", NULL },
					   },
					   &temperature),
			 0);
	assert_int_equal(metrics_gauge_set_labels(temperature, (const char *[]){ "a" }, -3.25),
			 0);
	assert_int_equal(metrics_gauge_set_labels(temperature, (const char *[]){ "b" }, INFINITY),
			 0);
	assert_int_equal(metrics_gauge_set_labels(temperature, (const char *[]){ "c" }, NAN), 0);
	assert_int_equal(metrics_gauge_set_labels(temperature, (const char *[]){ "" }, 1e-12), 0);
	assert_int_equal(metrics_gauge_new(reg,
					   &(struct metrics_opts){ .name = "autotrace_test_up",
								   .help = "Up." },
					   &up),
			 0);
	metrics_gauge_set(up, 1);
	assert_int_equal(metrics_histogram_new(reg,
					       &(struct metrics_opts){
						       .name = "autotrace_test_duration_seconds",
						       .help = "Durations.",
						       .labels = (const char *[]){ "route", NULL },
						       .buckets = bounds,
						       .n_buckets = 4,
					       },
					       &latency),
			 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(metrics_histogram_observe_labels(
					 latency, (const char *[]){ i % 2 ? "/a" : "/b" },
					 (double)i / 50.0),
				 0);
	assert_int_equal(metrics_histogram_new(reg,
					       &(struct metrics_opts){
						       .name = "autotrace_test_batch_size_bytes",
						       .help = "Batch sizes.",
					       },
					       &sizes),
			 0);
	assert_int_equal(metrics_gauge_fn_new(reg,
					      &(struct metrics_opts){
						      .name = "autotrace_test_queue_length",
						      .help = "Queue length.",
					      },
					      read_constant, NULL),
			 0);
	assert_int_equal(metrics_counter_fn_new(reg,
						&(struct metrics_opts){
							.name = "autotrace_test_read_total",
							.help = "Read at scrape time.",
						},
						read_constant, NULL),
			 0);
	assert_int_equal(http_server_new(base,
					 &(struct http_server_opts){ .listen = "127.0.0.1:0" },
					 &server),
			 0);
	assert_int_equal(metrics_register_tls_stats(reg, server, "test"), 0);
	*ret_server = server;
	return reg;
}

static void lint_accepts_every_kind_of_family(void **state)
{
	const char *checker = find_metrics_lint();
	struct event_base *base;
	struct http_server *server;
	struct metrics_registry *reg;
	char *text, *out;
	size_t len;
	int status;

	base = event_base_new();
	reg = full_registry(base, &server);
	assert_int_equal(metrics_registry_format(reg, &text, &len), 0);
	status = metrics_lint_check(checker, text, &out);
	if (status != 0)
		print_message("# %s said (status %d):\n%s\n# on:\n%s\n", checker, status, out, text);
	assert_int_equal(status, 0);
	assert_string_equal(out, "");
	free(out);
	free(text);
	metrics_registry_free(reg);
	http_server_free(server);
	event_base_free(base);
}

/* The check above is only worth something if the checker does reject bad pages, with
 * promtool's exit codes: 3 for lint problems ("<metric> <problem>" lines), 1 for a page
 * that does not parse. */
static void lint_rejects_what_the_registry_refuses(void **state)
{
	const char *checker = find_metrics_lint();
	char *out;

	assert_int_equal(metrics_lint_check(checker,
					    "# HELP requests Requests.\n"
					    "# TYPE requests counter\nrequests 1\n",
					    &out),
			 3);
	assert_string_equal(out, "requests counter metrics should have \"_total\" suffix\n");
	free(out);
	assert_int_equal(metrics_lint_check(checker, "# TYPE x_total counter\nx_total 1\n", &out), 3);
	assert_string_equal(out, "x_total no help text\n");
	free(out);
	assert_int_equal(metrics_lint_check(checker,
					    "# HELP x_total X.\n# TYPE x_total counter\n"
					    "x_total{a=\"unterminated} 1\n",
					    &out),
			 1);
	assert_non_null(strstr(out, "error while linting"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lint_accepts_every_kind_of_family),
		cmocka_unit_test(lint_rejects_what_the_registry_refuses),
	};

	/* A whole-file skip in TAP: counted neither passed nor failed. */
	if (!find_metrics_lint()) {
		printf("1..0 # SKIP metrics-lint not found: set METRICS_LINT or put it on PATH "
		       "(make deps builds it)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
