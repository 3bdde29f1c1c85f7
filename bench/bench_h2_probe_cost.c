/* What the server probes cost an HTTP/2 request, against an HTTP/1.1 one, on the same
 * service (tests/fixtures/go/h2svc, the local toolchain: HTTP/1.1 and HTTP/2 over TLS on
 * one port), traced by the tracer as the agent runs it with a sampler that keeps
 * nothing (the steady state of most requests) and then one that keeps everything. Each
 * request carries a traceparent among a few headers (the search finds it: the HTTP/1
 * one in the connection's buffer, the HTTP/2 one in the request's header map). Printed,
 * per request: the probe hits (each on an instruction the kernel emulates) and the
 * kernel run time of each program (BPF run-time statistics), which excludes the
 * uprobe's trap (~0.2-0.45 us a hit on these machines). Never passes or fails.
 * Usage: bench_h2_probe_cost [requests per case, default 3000] */
#include <bpf/bpf.h>
#include <curl/curl.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/tracer.h"
#include "tests/support/bpf_prog_time.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

/* n GETs of /tp over one kept connection (h2: HTTP/2 over TLS, else HTTP/1.1). */
static int run(int port, int h2, int n)
{
	struct curl_slist *hl = NULL;
	char url[128];
	CURL *e = curl_easy_init();
	int failed = 0;

	if (!e)
		return -ENOMEM;
	hl = curl_slist_append(hl, "x-request-id: 5b3c1f0e");
	hl = curl_slist_append(hl, "accept-language: en");
	hl = curl_slist_append(hl, "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d/tp", h2 ? "https" : "http", port);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
			 h2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	for (int i = 0; i < n; i++)
		failed += curl_easy_perform(e) != CURLE_OK;
	curl_slist_free_all(hl);
	curl_easy_cleanup(e);
	return failed ? -EIO : 0;
}

static const char *const progs[] = { "serve_http_star", "finish_request", "h2_run_handler",
				     "h2_handler_done" };
#define N_PROGS (sizeof(progs) / sizeof(progs[0]))

static void one_case(struct tracer_harness *h, int port, int h2, int n, const char *what)
{
	struct bpf_prog_time before, after;
	uint64_t ns[N_PROGS], runs[N_PROGS], total = 0, hits = 0;

	(void)h;
	bpf_prog_time_read(&before);
	if (run(port, h2, n)) {
		printf("  %s: requests failed\n", what);
		return;
	}
	tracer_harness_pump(h, 50);
	bpf_prog_time_read(&after);
	printf("  %-28s", what);
	for (size_t i = 0; i < N_PROGS; i++) {
		bpf_prog_time_delta(&before, &after, progs[i], &ns[i], &runs[i]);
		total += ns[i];
		hits += runs[i];
		if (runs[i])
			printf(" %s %.2f x %.0f ns,", progs[i], (double)runs[i] / n,
			       (double)ns[i] / (double)runs[i]);
	}
	printf(" total %.0f ns and %.2f probe hits a request\n", (double)total / n,
	       (double)hits / n);
}

int main(int argc, char **argv)
{
	int n = argc > 1 && atoi(argv[1]) > 0 ? atoi(argv[1]) : 3000;
	struct tracer_sampler off = { .type = TRACER_SAMPLER_ALWAYS_OFF },
			      on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	const struct tracer_sampler *samplers[] = { &off, &on };
	const char *names[] = { "nothing sampled", "everything sampled" };
	struct traced_service *svc = NULL;
	char fixture[256] = "";
	int stats_fd;
	glob_t g;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (glob("build/fixtures/h2svc-go*[0-9]", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *v = strstr(g.gl_pathv[i], "h2svc-go1.");

			if (v && atoi(v + strlen("h2svc-go1.")) >= 24 && !fixture[0])
				snprintf(fixture, sizeof(fixture), "%s", g.gl_pathv[i]);
		}
		globfree(&g);
	}
	if (!fixture[0] || traced_service_start(fixture, &svc)) {
		fprintf(stderr, "bench_h2_probe_cost: no h2svc fixture (make fixtures)\n");
		return 1;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "bench_h2_probe_cost: no BPF run-time statistics (root?)\n");
		traced_service_free(svc);
		return 1;
	}
	printf("server probes per request, %d requests a case, %s:\n", n, fixture);
	for (size_t s = 0; s < 2; s++) {
		struct tracer_harness *h = NULL;

		if (tracer_harness_start(samplers[s], traced_service_binary(svc), &h) ||
		    tracer_scan(h->tracer)) {
			fprintf(stderr, "bench_h2_probe_cost: tracer did not start\n");
			tracer_harness_free(h);
			break;
		}
		printf(" %s:\n", names[s]);
		run(traced_service_port(svc), 1, 100); /* warm both paths up */
		run(traced_service_port(svc), 0, 100);
		one_case(h, traced_service_port(svc), 0, n, "HTTP/1.1");
		one_case(h, traced_service_port(svc), 1, n, "HTTP/2 over TLS");
		tracer_harness_free(h);
	}
	close(stats_fd);
	traced_service_free(svc);
	curl_global_cleanup();
	return 0;
}
