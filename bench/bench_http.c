/* lib/http on one core: requests/s, p50 and p99 of a trivial route and of /metrics
 * (about 100 series), over HTTPS with keep-alive, HTTPS with a new connection (a full
 * handshake) per request, and plain HTTP. Every figure is printed next to the baseline
 * measured in the same run: the trivial route over plain HTTP with keep-alive, so the
 * ratios show what TLS and the exposition cost. The server's event loop runs in a
 * thread pinned to CPU 0; wrk (one thread) is pinned to CPU 1.
 * Usage: bench_http [seconds per scenario, default 5] [connections, default 32] */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "lib/http/server.h"
#include "lib/metrics/http_endpoint.h"
#include "lib/metrics/registry.h"
#include "lib/metrics/text_format.h"
#include "tests/support/testcert.h"

extern char **environ;

struct result {
	double rps;
	double p50_ms;
	double p99_ms;
	long errors;
	bool ok;
};

static void hello(struct http_request *req, void *userdata)
{
	http_response_append(req, "hello\n", 6);
}

static void *loop_thread(void *arg)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	event_base_loop(arg, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* A registry shaped like an agent's: request counters by method, route and code, a
 * latency histogram by route, a few gauges. */
static int fill_registry(struct metrics_registry *reg, size_t *ret_series)
{
	static const char *const methods[] = { "GET", "POST", "PUT" };
	static const char *const routes[] = { "/api/orders", "/api/users", "/healthz",
					      "/api/cart", "/api/items" };
	static const char *const codes[] = { "200", "404", "500", "503" };
	struct metrics_counter *requests;
	struct metrics_histogram *latency;
	struct metrics_gauge *up;
	size_t series = 0;
	int r;

	r = metrics_counter_new(reg,
				&(struct metrics_opts){
					.name = "http_server_requests_total",
					.help = "Requests by method, route and status code.",
					.labels = (const char *[]){ "method", "route", "code", NULL },
				},
				&requests);
	if (r < 0)
		return r;
	for (size_t m = 0; m < 3; m++)
		for (size_t t = 0; t < 5; t++)
			for (size_t c = 0; c < 4; c++, series++)
				metrics_counter_add_labels(
					requests,
					(const char *[]){ methods[m], routes[t], codes[c] },
					(double)(m * 100 + t * 10 + c));
	r = metrics_histogram_new(reg,
				  &(struct metrics_opts){
					  .name = "http_server_request_duration_seconds",
					  .help = "Request latency by route.",
					  .labels = (const char *[]){ "route", NULL },
				  },
				  &latency);
	if (r < 0)
		return r;
	for (size_t t = 0; t < 3; t++) {
		for (int i = 0; i < 1000; i++)
			metrics_histogram_observe_labels(latency, (const char *[]){ routes[t] },
							 (double)i / 400.0);
		series += metrics_default_n_buckets + 3;
	}
	r = metrics_gauge_new(reg, &(struct metrics_opts){ .name = "up", .help = "Up." }, &up);
	if (r < 0)
		return r;
	metrics_gauge_set(up, 1);
	*ret_series = series + 1;
	return 0;
}

/* "250.00us", "1.20ms", "2.00s" in milliseconds. */
static double parse_latency_ms(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (strncmp(end, "us", 2) == 0)
		return v / 1000;
	if (strncmp(end, "ms", 2) == 0)
		return v;
	if (end[0] == 's')
		return v * 1000;
	if (end[0] == 'm')
		return v * 60000;
	return -1;
}

static void parse_wrk(const char *out, struct result *res)
{
	const char *p;

	if ((p = strstr(out, "Requests/sec:")))
		res->rps = strtod(p + 13, NULL);
	if ((p = strstr(out, "     50%")))
		res->p50_ms = parse_latency_ms(p + 8 + strspn(p + 8, " "));
	if ((p = strstr(out, "     99%")))
		res->p99_ms = parse_latency_ms(p + 8 + strspn(p + 8, " "));
	if ((p = strstr(out, "Non-2xx or 3xx responses:")))
		res->errors += strtol(p + 26, NULL, 10);
	if ((p = strstr(out, "Socket errors:"))) {
		long a = 0, b = 0, c = 0, d = 0;

		if (sscanf(p, "Socket errors: connect %ld, read %ld, write %ld, timeout %ld", &a, &b,
			   &c, &d) == 4)
			res->errors += a + b + c + d;
	}
	res->ok = res->rps > 0 && res->p50_ms >= 0 && res->p99_ms >= 0;
}

/* Runs wrk pinned to CPU 1 against url; returns its parsed figures. */
static struct result run_wrk(const char *url, int seconds, int connections, bool close_each)
{
	char duration[16], conns[16], out_path[] = "/tmp/bench_http.XXXXXX";
	char *argv[16];
	int argc = 0, fd = mkstemp(out_path), status;
	posix_spawn_file_actions_t actions;
	struct result res = { 0 };
	char *out = calloc(1, 65536);
	pid_t pid;
	ssize_t n;

	if (fd < 0 || !out)
		goto done;
	snprintf(duration, sizeof(duration), "%ds", seconds);
	snprintf(conns, sizeof(conns), "-c%d", connections);
	argv[argc++] = "taskset";
	argv[argc++] = "-c";
	argv[argc++] = "1";
	argv[argc++] = "wrk";
	argv[argc++] = "-t1";
	argv[argc++] = conns;
	argv[argc++] = "-d";
	argv[argc++] = duration;
	argv[argc++] = "--latency";
	if (close_each) {
		argv[argc++] = "-H";
		argv[argc++] = "Connection: close";
	}
	argv[argc++] = (char *)url;
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, fd, 1);
	if (posix_spawnp(&pid, "taskset", &actions, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&actions);
		goto done;
	}
	posix_spawn_file_actions_destroy(&actions);
	waitpid(pid, &status, 0);
	n = pread(fd, out, 65535, 0);
	out[n > 0 ? n : 0] = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		parse_wrk(out, &res);
	if (!res.ok)
		fprintf(stderr, "bench_http: wrk on %s gave:\n%s\n", url, out);
done:
	if (fd >= 0) {
		close(fd);
		unlink(out_path);
	}
	free(out);
	return res;
}

static void print_row(const char *name, const struct result *r, const struct result *base)
{
	if (!r->ok) {
		printf("%-34s %10s\n", name, "failed");
		return;
	}
	printf("%-34s %10.0f %8.3f %8.3f %6ld | %6.2f %6.2f %6.2f\n", name, r->rps, r->p50_ms,
	       r->p99_ms, r->errors, base->rps / r->rps, r->p50_ms / base->p50_ms,
	       r->p99_ms / base->p99_ms);
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5;
	int connections = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 32;
	char dir[] = "/tmp/bench_http.XXXXXX", cert[128], key[128];
	char plain_url[64], tls_url[64], url[128];
	struct http_server *plain = NULL, *tls = NULL;
	struct metrics_registry *reg = NULL;
	struct testcert_ca *ca = NULL;
	struct event_base *base;
	struct result baseline, r;
	size_t series = 0, page_len = 0;
	char *page = NULL;
	pthread_t thread;

	if (seconds <= 0 || connections <= 0) {
		fprintf(stderr, "usage: bench_http [seconds] [connections]\n");
		return 2;
	}
	if (system("command -v wrk >/dev/null && command -v taskset >/dev/null") != 0) {
		fprintf(stderr, "bench_http: needs wrk and taskset on PATH (make deps)\n");
		return 1;
	}
	evthread_use_pthreads();
	base = event_base_new();
	if (!base || !mkdtemp(dir))
		return 1;
	snprintf(cert, sizeof(cert), "%s/tls.crt", dir);
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	if (testcert_ca_new(NULL, &ca) < 0 || testcert_issue(ca, NULL, cert, key) < 0 ||
	    metrics_registry_new(&reg) < 0 || fill_registry(reg, &series) < 0 ||
	    metrics_registry_format(reg, &page, &page_len) < 0 ||
	    http_server_new(base, &(struct http_server_opts){ .listen = "127.0.0.1:0" }, &plain) <
		    0 ||
	    http_server_new(base,
			    &(struct http_server_opts){ .listen = "127.0.0.1:0",
							.tls_cert_file = cert,
							.tls_key_file = key },
			    &tls) < 0) {
		fprintf(stderr, "bench_http: setup failed\n");
		return 1;
	}
	free(page);
	http_server_route(plain, HTTP_METHOD_GET, "/hello", hello, NULL);
	http_server_route(tls, HTTP_METHOD_GET, "/hello", hello, NULL);
	metrics_http_mount(reg, plain, NULL);
	metrics_http_mount(reg, tls, NULL);
	snprintf(plain_url, sizeof(plain_url), "http://127.0.0.1:%u", http_server_port(plain));
	snprintf(tls_url, sizeof(tls_url), "https://127.0.0.1:%u", http_server_port(tls));
	pthread_create(&thread, NULL, loop_thread, base);

	printf("bench_http: server loop pinned to CPU 0, wrk -t1 -c%d pinned to CPU 1, %d s per "
	       "row; /metrics: %zu series, %zu bytes\n",
	       connections, seconds, series, page_len);
	printf("%-34s %10s %8s %8s %6s | %6s %6s %6s\n", "scenario", "req/s", "p50 ms", "p99 ms",
	       "errors", "x rate", "x p50", "x p99");
	snprintf(url, sizeof(url), "%s/hello", plain_url);
	baseline = run_wrk(url, seconds, connections, false);
	if (!baseline.ok) {
		fprintf(stderr, "bench_http: baseline failed\n");
		return 1;
	}
	print_row("baseline: /hello http keep-alive", &baseline, &baseline);
	snprintf(url, sizeof(url), "%s/hello", tls_url);
	r = run_wrk(url, seconds, connections, false);
	print_row("/hello https keep-alive", &r, &baseline);
	r = run_wrk(url, seconds, connections, true);
	print_row("/hello https new connection each", &r, &baseline);
	snprintf(url, sizeof(url), "%s/metrics", plain_url);
	r = run_wrk(url, seconds, connections, false);
	print_row("/metrics http keep-alive", &r, &baseline);
	snprintf(url, sizeof(url), "%s/metrics", tls_url);
	r = run_wrk(url, seconds, connections, false);
	print_row("/metrics https keep-alive", &r, &baseline);
	printf("x rate: baseline req/s / row req/s (how many times slower); x p50, x p99: row "
	       "latency / baseline latency\n");

	event_base_loopbreak(base);
	pthread_join(thread, NULL);
	http_server_free(plain);
	http_server_free(tls);
	metrics_registry_free(reg);
	testcert_ca_free(ca);
	event_base_free(base);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return 0;
}
