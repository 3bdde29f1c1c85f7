/* autotrace-agent's /readyz on a loaded machine: the agent started next to a Go server
 * while CPU hogs (started by the test, two per CPU, at the agent's priority) keep every
 * CPU busy. Readiness must not wait for the kernel to verify the BPF programs (a thread
 * of its own does) nor for an exporter whose collector does not answer: /readyz answers
 * within a few seconds of the start, and keeps answering promptly while the probes load
 * and the process is attached; the agent then traces, under the same load. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>

#include "tests/support/otlp_receiver.h"
#include "tests/support/traced_service.h"

#define AGENT "bin/autotrace-agent"
#define MAX_HOGS 64
/* What a user's probe allows: the kubelet's default readiness probe timeout is 1 s. */
#define READY_WITHIN_MS 5000
#define ANSWER_WITHIN_MS 1000

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
	return s * n;
}

static size_t keep(char *p, size_t s, size_t n, void *ud)
{
	json_t *buf = ud; /* a JSON string appended to */
	const char *old = json_string_value(buf);
	size_t len = s * n, had = strlen(old);
	char *joined = malloc(had + len + 1);

	if (!joined)
		return 0;
	memcpy(joined, old, had);
	memcpy(joined + had, p, len);
	joined[had + len] = '\0';
	json_string_set(buf, joined);
	free(joined);
	return len;
}

/* GET url within timeout_ms: the status, or -1. */
static long get(const char *url, long timeout_ms, json_t *body)
{
	CURL *c = curl_easy_init();
	long code = -1;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body ? keep : discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

struct world {
	pid_t hogs[MAX_HOGS];
	int n_hogs;
	struct traced_service *svc;
	struct otlp_receiver *rx;
	pid_t agent;
	char metrics_url[64];
};

static struct world w;

/* Busy loops, one process each, at the test's (and so the agent's) priority. */
static void start_hogs(int n)
{
	for (int i = 0; i < n && w.n_hogs < MAX_HOGS; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			volatile unsigned long spin = 0;

			/* Gone with the test, even when it is killed. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(0);
			for (;;)
				spin++;
		}
		assert_true(pid > 0);
		w.hogs[w.n_hogs++] = pid;
	}
}

static void stop_hogs(void)
{
	for (int i = 0; i < w.n_hogs; i++) {
		kill(w.hogs[i], SIGKILL);
		waitpid(w.hogs[i], NULL, 0);
	}
	w.n_hogs = 0;
}

static int teardown(void **state)
{
	stop_hogs();
	if (w.agent > 0) {
		kill(w.agent, SIGKILL);
		waitpid(w.agent, NULL, 0);
	}
	w.svc = traced_service_free(w.svc);
	w.rx = otlp_receiver_free(w.rx);
	memset(&w, 0, sizeof(w));
	return 0;
}

/* Starts the agent on the service, exporting to endpoint, its log into the build tree. */
static void start_agent(const char *endpoint)
{
	char env_endpoint[160], env_port[64], env_target[600];
	int port = free_port();

	assert_true(port > 0);
	snprintf(w.metrics_url, sizeof(w.metrics_url), "http://127.0.0.1:%d", port);
	snprintf(env_endpoint, sizeof(env_endpoint), "OTEL_EXPORTER_OTLP_ENDPOINT=%s", endpoint);
	snprintf(env_port, sizeof(env_port), "AUTOTRACE_METRICS_PORT=%d", port);
	snprintf(env_target, sizeof(env_target), "AUTOTRACE_TARGET_EXE=%s",
		 traced_service_binary(w.svc));
	char *env[] = { env_endpoint, env_port, env_target,
			"AUTOTRACE_CONFIG_FILE=/nonexistent/config.json",
			"OTEL_EXPORTER_OTLP_TIMEOUT=2000", NULL };
	char *argv[] = { AGENT, "--scan-interval-ms", "200", NULL };

	w.agent = fork();
	if (w.agent == 0) {
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open("build/atest-agent-readiness.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execve(argv[0], argv, env);
		_exit(127);
	}
	assert_true(w.agent > 0);
}

/* The value of the sample line "name " on the agent's metrics page, or -1. */
static double metric(const char *name)
{
	char url[96], needle[128];
	json_t *page = json_string("");
	const char *p;
	double v = -1;

	snprintf(url, sizeof(url), "%s/metrics", w.metrics_url);
	snprintf(needle, sizeof(needle), "\n%s ", name);
	if (get(url, 2000, page) == 200 && (p = strstr(json_string_value(page), needle)))
		v = strtod(p + strlen(needle), NULL);
	json_decref(page);
	return v;
}

/* Polls /readyz every 50 ms from the agent's start: ready within READY_WITHIN_MS, then
 * every answer within ANSWER_WITHIN_MS for watch_ms. */
static void assert_ready_promptly(long started, long watch_ms)
{
	char url[96];
	long ready_at = -1, slowest = 0;

	snprintf(url, sizeof(url), "%s/readyz", w.metrics_url);
	while (ready_at < 0 && now_ms() - started < READY_WITHIN_MS) {
		if (get(url, READY_WITHIN_MS, NULL) == 200)
			ready_at = now_ms() - started;
		else
			usleep(50000);
	}
	fprintf(stderr, "# /readyz answered 200 %ld ms after the agent's start\n", ready_at);
	assert_true(ready_at >= 0);
	for (long end = now_ms() + watch_ms; now_ms() < end; usleep(50000)) {
		long t = now_ms();

		assert_int_equal(get(url, 5000, NULL), 200);
		if (now_ms() - t > slowest)
			slowest = now_ms() - t;
	}
	fprintf(stderr, "# then its slowest answer over %ld ms: %ld ms\n", watch_ms, slowest);
	assert_true(slowest <= ANSWER_WITHIN_MS);
}

static void readyz_answers_promptly_while_the_cpus_are_busy(void **state)
{
	char fixture[512];
	long hogs = sysconf(_SC_NPROCESSORS_ONLN), started;

	assert_int_equal(traced_service_fixture("", 0, fixture, sizeof(fixture)), 0);
	assert_int_equal(traced_service_start(fixture, &w.svc), 0);
	assert_int_equal(otlp_receiver_start(0, &w.rx), 0);
	start_hogs(hogs > 0 && hogs <= MAX_HOGS / 2 ? (int)hogs * 2 : 4);
	started = now_ms();
	start_agent(otlp_receiver_endpoint(w.rx));
	assert_ready_promptly(started, 3000);
	/* And it traces under the same load: attached, then a request becomes a span. */
	for (long end = now_ms() + 20000; now_ms() < end; usleep(100000)) {
		if (metric("autotrace_agent_processes_instrumented") >= 1)
			break;
	}
	assert_true(metric("autotrace_agent_processes_instrumented") >= 1);
	fprintf(stderr, "# attached %ld ms after the agent's start\n", now_ms() - started);
	long status = 0;
	assert_int_equal(traced_service_get(w.svc, "/hello", NULL, &status), 0);
	assert_int_equal(status, 200);
	json_t *spans = NULL;
	assert_int_equal(otlp_receiver_wait_spans(w.rx, 1, 15000, &spans), 0);
	json_decref(spans);
}

/* The collector is a port nothing listens on: its refusals and retries are the
 * exporter thread's, never the readiness answer's. */
static void readyz_does_not_wait_for_the_collector(void **state)
{
	char fixture[512], endpoint[64];
	long started;
	int dead = free_port();

	assert_int_equal(traced_service_fixture("", 0, fixture, sizeof(fixture)), 0);
	assert_int_equal(traced_service_start(fixture, &w.svc), 0);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", dead);
	start_hogs(2);
	started = now_ms();
	start_agent(endpoint);
	assert_ready_promptly(started, 1000);
	for (long end = now_ms() + 20000; now_ms() < end; usleep(100000)) {
		if (metric("autotrace_agent_processes_instrumented") >= 1)
			break;
	}
	/* Spans for the dead collector, while /readyz is asked. */
	for (int i = 0; i < 200; i++) {
		long status = 0;

		assert_int_equal(traced_service_get(w.svc, "/hello", NULL, &status), 0);
	}
	assert_ready_promptly(now_ms(), 2000);
}

int main(void)
{
	if (access(AGENT, X_OK) != 0) {
		printf("1..1\nnot ok 1 - %s is not built\n", AGENT);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(readyz_answers_promptly_while_the_cpus_are_busy, teardown),
		cmocka_unit_test_teardown(readyz_does_not_wait_for_the_collector, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
