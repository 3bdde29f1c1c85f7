/* What tracing costs a gRPC call: tests/fixtures/go/grpcweb's /loop makes N unary
 * Health.Check calls in a row to its own server (each call: the client's two probes,
 * the server's three), and says how long a call took. Each round runs the loop
 * untraced, traced by the tracer as the agent runs it (always_on: every call a sampled
 * client and server span, built and dropped), with bare probes (bpf/probe_cost.bpf.c,
 * a counter) at the same five instructions (the floor: what the kernel's uprobe
 * machinery alone costs), and untraced again; the baseline is the
 * mean of the two untraced runs, so that the machine's drift cancels. Printed per
 * round and as the median: ns per call untraced, with the floor and traced, the
 * differences (what the five probes and the spans cost a call), and each gRPC
 * program's kernel time per hit
 * (BPF run-time statistics). With propagation (the default), each call also hits the
 * two probes that carry its context out over h2c (the floor has bare probes there too)
 * and the sk_msg program, which follows every write of the process's HTTP/2 connection
 * and appends the call's traceparent; no-propagation runs the tracer without them, to
 * tell their share. Never passes or fails.
 * Usage: bench_grpc_overhead [calls per run, default 4000] [rounds, default 5]
 *        [no-propagation] */
#include <bpf/bpf.h>
#include <curl/curl.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent/go_binary.h"
#include "agent/grpc_probes.h"
#include "agent/tracer.h"
#include "tests/support/bench_stats.h"
#include "tests/support/bpf_prog_time.h"
#include "tests/support/traced_service.h"
#include "probe_cost.skel.h"

#define FIXTURE_GLOB "build/fixtures/grpcweb-go*"
#define MAX_ROUNDS 16

/* The first five run on every call; the next two carry its context out over h2c (the
 * sk_msg program's time is tp_sk_msg's, which the floor has no counterpart for). */
static const char *const progs[] = { "grpc_headers",	"grpc_server_sta", "grpc_server_end",
				     "grpc_client_sta", "grpc_client_end", "grpc_client_fie",
				     "grpc_write_head", "tp_sk_msg" };
#define N_PROGS (sizeof(progs) / sizeof(progs[0]))
#define N_POINTS 7
static size_t n_points = 5;

struct body {
	char text[64];
	size_t len;
};

static size_t keep(char *p, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	size_t len = size * n, room = sizeof(b->text) - 1 - b->len;

	memcpy(b->text + b->len, p, len < room ? len : room);
	b->len += len < room ? len : room;
	b->text[b->len] = '\0';
	return len;
}

/* One /loop run of calls: ns per call, or -1. */
static double run_loop(CURL *c, int port, int calls)
{
	struct body b = { .len = 0 };
	char url[128];
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/loop?n=%d", port, calls);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
	if (curl_easy_perform(c) != CURLE_OK ||
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
		return -1;
	return strtod(b.text, NULL);
}

/* The probes' file offsets in exe, into off[N_POINTS] (n_points of them). */
static int grpc_points(const char *exe, uint64_t *off)
{
	struct go_binary *gb = NULL;
	struct grpc_probe_plan plan;
	char why[256];
	int r = go_binary_open(exe, NULL, &gb);

	if (r == 0)
		r = grpc_probes_plan(gb, &plan, why, sizeof(why));
	go_binary_free(gb);
	if (r)
		return r;
	off[0] = plan.headers.file_offset;
	off[1] = plan.server_start.file_offset;
	off[2] = plan.server_end.file_offset;
	off[3] = plan.client_start.file_offset;
	off[4] = plan.client_end.file_offset;
	off[5] = plan.client_fields.file_offset;
	off[6] = plan.write_header.file_offset;
	n_points = plan.has_outgoing ? 7 : 5;
	return 0;
}

/* A run with bare probes at the tracer's points: ns per call, or -1. */
static double run_floor(CURL *c, struct traced_service *svc, const uint64_t *off, int calls)
{
	struct probe_cost_bpf *skel = probe_cost_bpf__open_and_load();
	struct bpf_link *links[N_POINTS] = { 0 };
	double ns = -1;
	size_t i;

	if (!skel)
		return -1;
	for (i = 0; i < n_points; i++) {
		links[i] = bpf_program__attach_uprobe(skel->progs.count_hit, false,
						      traced_service_pid(svc),
						      traced_service_binary(svc), off[i]);
		if (!links[i])
			break;
	}
	if (i == n_points)
		ns = run_loop(c, traced_service_port(svc), calls);
	for (i = 0; i < n_points; i++)
		bpf_link__destroy(links[i]);
	probe_cost_bpf__destroy(skel);
	return ns;
}

static int drop_span(void *ud, const struct otlp_span *span)
{
	(void)span;
	++*(uint64_t *)ud;
	return 0;
}

int main(int argc, char **argv)
{
	int calls = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 4000,
	    rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
	int no_propagation = argc > 3 && strcmp(argv[3], "no-propagation") == 0;
	double base[MAX_ROUNDS], traced[MAX_ROUNDS], cost[MAX_ROUNDS], floor_cost[MAX_ROUNDS];
	uint64_t points[N_POINTS];
	double hit_ns[N_PROGS][MAX_ROUNDS];
	struct traced_service *svc = NULL;
	uint64_t spans = 0;
	char fixture[256] = "";
	int stats_fd, r = 1, done = 0;
	glob_t g;
	CURL *c;

	if (calls <= 0 || rounds <= 0 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: %s [calls per run] [rounds <= %d]\n", argv[0], MAX_ROUNDS);
		return 2;
	}
	if (glob(FIXTURE_GLOB, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *p = g.gl_pathv[i];
			size_t n = strlen(p);

			if (!strstr(p, ".modinfo") && !(n > 4 && strcmp(p + n - 4, "-old") == 0))
				snprintf(fixture, sizeof(fixture), "%s", p);
		}
		globfree(&g);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (!fixture[0] || !c || traced_service_start(fixture, &svc) ||
	    grpc_points(traced_service_binary(svc), points)) {
		fprintf(stderr, "bench_grpc_overhead: no fixture (make fixtures) or it did not start\n");
		goto out;
	}
	if (no_propagation)
		n_points = 5;
	printf("# gRPC unary calls, %d a run, client and server in one process (%s), %zu probe "
	       "points\n", calls, fixture, n_points);
	run_loop(c, traced_service_port(svc), calls / 4 + 1); /* warm up */
	for (int k = 0; k < rounds; k++) {
		struct tracer_opts o = {
			.ringbuf_bytes = 16u << 20, /* every span of a run fits */
			.sampler = { .type = TRACER_SAMPLER_ALWAYS_ON },
			.targets = { .executable = traced_service_binary(svc) },
			.on_span = drop_span,
			.ud = &spans,
			.no_propagation = no_propagation,
		};
		struct bpf_prog_time before, after;
		struct tracer *t = NULL;
		double before_ns, after_ns, floor_ns;

		before_ns = run_loop(c, traced_service_port(svc), calls);
		floor_ns = run_floor(c, svc, points, calls);
		if (tracer_new(&o, &t) || tracer_scan(t) || bpf_prog_time_read(&before)) {
			fprintf(stderr, "bench_grpc_overhead: tracer: %s\n", strerror(errno));
			tracer_free(t);
			goto out;
		}
		traced[k] = run_loop(c, traced_service_port(svc), calls);
		bpf_prog_time_read(&after);
		tracer_poll(t);
		tracer_free(t);
		after_ns = run_loop(c, traced_service_port(svc), calls);
		if (before_ns < 0 || after_ns < 0 || traced[k] < 0 || floor_ns < 0) {
			fprintf(stderr, "bench_grpc_overhead: a run failed\n");
			goto out;
		}
		base[k] = (before_ns + after_ns) / 2;
		cost[k] = traced[k] - base[k];
		floor_cost[k] = floor_ns - base[k];
		printf("round %d: untraced %.0f ns/call, bare probes %.0f, traced %.0f; cost: floor "
		       "%.0f ns/call, traced %.0f ns/call; kernel ns/hit:",
		       k + 1, base[k], floor_ns, traced[k], floor_cost[k], cost[k]);
		for (size_t i = 0; i < N_PROGS; i++) {
			uint64_t ns = 0, n = 0;

			bpf_prog_time_delta(&before, &after, progs[i], &ns, &n);
			hit_ns[i][k] = n ? (double)ns / (double)n : 0;
			printf(" %s %.0f (%llu hits)", progs[i], hit_ns[i][k], (unsigned long long)n);
		}
		printf("\n");
		done++;
	}
	printf("median over %d rounds: untraced %.0f ns/call, traced %.0f ns/call, cost %.0f "
	       "ns/call (%.1f%%), of which the bare probes' floor %.0f ns/call\n",
	       done, bench_median(base, done), bench_median(traced, done), bench_median(cost, done),
	       100.0 * bench_median(cost, done) / bench_median(base, done), bench_median(floor_cost, done));
	printf("median kernel ns per hit:");
	for (size_t i = 0; i < N_PROGS; i++)
		printf(" %s %.0f", progs[i], bench_median(hit_ns[i], done));
	printf("\n# spans built: %llu\n", (unsigned long long)spans);
	r = 0;
out:
	traced_service_free(svc);
	if (c)
		curl_easy_cleanup(c);
	if (stats_fd >= 0)
		close(stats_fd);
	curl_global_cleanup();
	return r;
}
