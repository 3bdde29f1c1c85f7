/* What tracing costs a request whose handler makes one HTTP call: two services of
 * tests/fixtures/go/chain, A and B, both on CPU 0 (GOMAXPROCS=1 each), and wrk (-t1
 * -c16) plus this program on CPU 1. Two paths through A:
 *   chain        /front-direct: A's handler calls B's /back once (A's server probes,
 *                its client probes, the sk_msg program on A's send, B's server probes)
 *   server only  /back on A itself: A's two server probes, nothing else
 * and three arms, attached to both processes in turn:
 *   floor        bare probes (bpf/probe_cost.bpf.c, a counter) at every instruction the
 *                tracer probes: A's server start and end, A's client start, conn and
 *                end, B's server start and end; each path hits the ones it reaches
 *   traced 100%  the tracer as the agent runs it (server and client probes, outgoing
 *   traced 1%    trace context by sock_ops + sk_msg, parentbased_traceidratio), its
 *                spans built and dropped, read when woken or every 50 ms
 * A is restarted before each arm, so that every arm's calls go on connections A opens
 * while the arm is attached, as the sock_ops program sees them open. Each arm's runs
 * are followed by an untraced run of each path; an arm's baseline is the
 * mean of the untraced runs before and after it, so that the machine's drift cancels.
 * Printed: req/s and ratio to baseline (median, min-max over rounds), the cost per
 * request (1/rate - 1/baseline), and the cost beyond the floor, in ns per request; the
 * chain's minus the server-only case's is what the call adds. Never passes or fails.
 * Usage: bench_client_overhead [seconds per run, default 2] [rounds, default 5] */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <curl/curl.h>
#include <errno.h>
#include <glob.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/client_probes.h"
#include "agent/go_binary.h"
#include "agent/server_probes.h"
#include "agent/tracer.h"
#include "tests/support/go_fixtures.h"
#include "tests/support/bench_stats.h"
#include "tests/support/bench_wrk.h"
#include "tests/support/bpf_prog_time.h"
#include "tests/support/traced_service.h"
#include "probe_cost.skel.h"

#define CHAIN_FIXTURE_GLOB "build/fixtures/chain-go*"
#define MAX_ROUNDS 16
#define MAX_FLOOR_LINKS 8

enum path { P_CHAIN, P_SERVER, P_COUNT };
enum arm { A_FLOOR, A_ON, A_ONE, A_COUNT };

static const char *const path_url[P_COUNT] = { "/front-direct", "/back" };
static const char *const arm_label[A_COUNT] = { "bare probes (floor)", "traced 100%",
						"traced 1%" };

static int seconds = 2;
static int rounds = 5;

static struct bench_run runs[A_COUNT][P_COUNT][MAX_ROUNDS];
static double base_runs[P_COUNT][MAX_ROUNDS * A_COUNT + 1];
static int n_base[P_COUNT];

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static uint64_t spans_seen;
/* Requests the last wrk run completed. */
static uint64_t wrk_requests;

static int count_span(void *ud, const struct otlp_span *span)
{
	(void)ud;
	(void)span;
	spans_seen++;
	return 0;
}

/* wrk against url, the tracer (NULL: none) read meanwhile: requests a second, or -1. */
static double run_wrk(const char *url, struct tracer *t)
{
	return bench_wrk(url, seconds, t, &wrk_requests);
}

/* The fixture's path into path[0..size). */
static int chain_fixture(char *path, size_t size)
{
	return go_fixture_find(CHAIN_FIXTURE_GLOB, path, size);
}

/* The instructions the tracer probes in the binary, for the floor. */
struct points {
	uint64_t server[2], client[3];
};

static int probe_points(const char *binary, struct points *ret)
{
	struct server_probe_plan sp;
	struct client_probe_plan cp;
	struct go_binary *gb = NULL;
	int r = go_binary_open(binary, NULL, &gb);

	if (r == 0)
		r = server_probes_plan(gb, &sp);
	if (r == 0)
		r = client_probes_plan(gb, &cp);
	if (r == 0) {
		ret->server[0] = sp.start.file_offset;
		ret->server[1] = sp.end.file_offset;
		ret->client[0] = cp.start.file_offset;
		ret->client[1] = cp.conn.file_offset;
		ret->client[2] = cp.end.file_offset;
	}
	go_binary_free(gb);
	return r;
}

/* What one arm holds attached while it runs. */
struct arm_state {
	struct probe_cost_bpf *skel;
	struct bpf_link *links[MAX_FLOOR_LINKS];
	size_t n_links;
	struct tracer *tracer;
};

static void arm_detach(struct arm_state *s)
{
	for (size_t i = 0; i < s->n_links; i++)
		bpf_link__destroy(s->links[i]);
	probe_cost_bpf__destroy(s->skel);
	tracer_free(s->tracer);
	memset(s, 0, sizeof(*s));
}

static int attach_bare(struct arm_state *s, pid_t pid, const char *exe, uint64_t offset)
{
	struct bpf_link *l;

	if (s->n_links >= MAX_FLOOR_LINKS)
		return -E2BIG;
	l = bpf_program__attach_uprobe(s->skel->progs.count_hit, false, pid, exe, offset);
	if (!l)
		return -errno;
	s->links[s->n_links++] = l;
	return 0;
}

/* Attaches arm a. A is restarted first: its connections to B are kept alive for good,
 * so every arm starts A's calls on connections opened while it is attached (the floor
 * and the traced arms alike; the untraced runs between them reuse them), rather than on
 * connections the tracer adopts. */
static int arm_attach(struct arm_state *s, enum arm a, const char *exe, struct traced_service *svc_a,
		      pid_t pid_b, const struct points *pt)
{
	pid_t pid_a;
	int r;

	memset(s, 0, sizeof(*s));
	/* Where it ran: CPU 0, one P. */
	pin(0);
	setenv("GOMAXPROCS", "1", 1);
	r = traced_service_restart(svc_a);
	unsetenv("GOMAXPROCS");
	pin(1);
	if (r)
		return r;
	pid_a = traced_service_pid(svc_a);
	if (a == A_FLOOR) {
		s->skel = probe_cost_bpf__open_and_load();
		if (!s->skel)
			return -errno;
		for (int i = 0; i < 2 && r == 0; i++)
			r = attach_bare(s, pid_a, exe, pt->server[i]);
		for (int i = 0; i < 3 && r == 0; i++)
			r = attach_bare(s, pid_a, exe, pt->client[i]);
		for (int i = 0; i < 2 && r == 0; i++)
			r = attach_bare(s, pid_b, exe, pt->server[i]);
		return r;
	}
	struct tracer_opts o = {
		.ringbuf_bytes = 1u << 20, /* the agent daemon's default */
		.sampler = { .type = TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO,
			     .ratio = a == A_ON ? 1.0 : 0.01 },
		.targets = { .executable = exe },
		.on_span = count_span,
	};
	r = tracer_new(&o, &s->tracer);
	if (r == 0)
		r = tracer_scan(s->tracer);
	return r;
}

static struct bench_spread field(enum arm a, enum path p, enum bench_field f)
{
	return bench_runs_field(runs[a][p], rounds, f);
}

/* An arm's cost per request minus the floor's in the same round, over the rounds. */
static struct bench_spread beyond_floor(enum arm a, enum path p)
{
	return bench_runs_beyond(runs[a][p], runs[A_FLOOR][p], rounds);
}

static double untraced(enum path p, const char *url)
{
	double rps = run_wrk(url, NULL);

	if (rps > 0)
		base_runs[p][n_base[p]++] = rps;
	return rps;
}

static void print_report(const char *binary)
{
	double base_copy[MAX_ROUNDS * A_COUNT + 1];
	struct bench_spread b[P_COUNT];

	printf("wrk -t1 -c16 -d%ds; %s as A and B on CPU 0 (GOMAXPROCS=1 each), wrk and the "
	       "tracer's reader on CPU 1; %d rounds of %d arms in turn, each between untraced "
	       "runs; median (min-max) over rounds.\n", seconds, binary, rounds, A_COUNT);
	printf("  chain: A /front-direct -> one HTTP call -> B /back; server only: A /back\n");
	for (int p = 0; p < P_COUNT; p++) {
		memcpy(base_copy, base_runs[p], sizeof(double) * (size_t)n_base[p]);
		b[p] = bench_spread_of(base_copy, n_base[p]);
	}
	printf("  %-22s %10s %-22s %10s %-22s\n", "", "chain", "", "server only", "");
	printf("  %-22s %10.0f req/s %-16s %10.0f req/s\n", "untraced", b[P_CHAIN].median, "",
	       b[P_SERVER].median);
	for (int a = 0; a < A_COUNT; a++) {
		struct bench_spread rc = field(a, P_CHAIN, BENCH_RPS), qc = field(a, P_CHAIN, BENCH_RATIO);
		struct bench_spread rs = field(a, P_SERVER, BENCH_RPS), qs = field(a, P_SERVER, BENCH_RATIO);

		printf("  %-22s %10.0f req/s %.3f (%.3f-%.3f) %10.0f req/s %.3f (%.3f-%.3f)\n",
		       arm_label[a], rc.median, qc.median, qc.min, qc.max, rs.median, qs.median,
		       qs.min, qs.max);
	}
	printf("  cost per request, median of 1/rate - 1/baseline (ns):\n");
	printf("  %-22s %10s %10s %12s\n", "", "chain", "server", "chain-server");
	for (int a = 0; a < A_COUNT; a++) {
		double c = field(a, P_CHAIN, BENCH_COST_NS).median, s = field(a, P_SERVER, BENCH_COST_NS).median;

		printf("  %-22s %10.0f %10.0f %12.0f\n", arm_label[a], c, s, c - s);
	}
	printf("  beyond the floor (traced - bare probes at the same instructions, the same round; "
	       "ns per request, median (min-max)):\n");
	for (int a = A_ON; a < A_COUNT; a++) {
		struct bench_spread c = beyond_floor(a, P_CHAIN), s = beyond_floor(a, P_SERVER);

		printf("  %-22s chain %6.0f (%.0f..%.0f) = %.1f%% of an untraced chain request; "
		       "server only %6.0f (%.0f..%.0f) = %.1f%%; the call adds %6.0f\n", arm_label[a],
		       c.median, c.min, c.max, 100.0 * c.median * b[P_CHAIN].median / 1e9, s.median,
		       s.min, s.max, 100.0 * s.median * b[P_SERVER].median / 1e9, c.median - s.median);
	}
	printf("  spans built by the traced arms: %llu\n", (unsigned long long)spans_seen);
}

/* Kernel time in the programs per request, with BPF run-time statistics on (they cost
 * each run two clock reads, which the rates above do not pay): one run of each path
 * under each arm, every program of this process that ran, ns per request and runs per
 * request. Less exposed to a busy machine than the rates: it counts only the programs'
 * own time, not the uprobe trap's nor the single-stepping's (the floor's rates hold
 * those). */
static void kernel_time(const char *exe, struct traced_service *svc_a, pid_t pid_b,
			const struct points *pt,
			char url[P_COUNT][128])
{
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (stats_fd < 0) {
		printf("  (BPF run-time statistics unavailable: %s)\n", strerror(errno));
		return;
	}
	printf("  kernel time in the programs per request, one run each with BPF run-time "
	       "statistics on (ns per request, runs per request):\n");
	for (int a = 0; a < A_COUNT; a++) {
		struct arm_state st;

		if (arm_attach(&st, (enum arm)a, exe, svc_a, pid_b, pt)) {
			arm_detach(&st);
			continue;
		}
		for (int p = 0; p < P_COUNT; p++) {
			struct bpf_prog_time before, after;
			double total = 0;

			if (bpf_prog_time_read(&before) || run_wrk(url[p], st.tracer) <= 0 ||
			    bpf_prog_time_read(&after) || wrk_requests == 0)
				continue;
			printf("    %-20s %-12s", arm_label[a], p == P_CHAIN ? "chain" : "server only");
			for (size_t i = 0; i < after.n; i++) {
				uint64_t ns, n;

				bpf_prog_time_delta(&before, &after, after.prog[i].name, &ns, &n);
				if (!n)
					continue;
				total += (double)ns / (double)wrk_requests;
				printf(" %s %.0f (%.2f)", after.prog[i].name, (double)ns / (double)wrk_requests,
				       (double)n / (double)wrk_requests);
			}
			printf("; total %.0f ns\n", total);
		}
		arm_detach(&st);
	}
	close(stats_fd);
}

int main(int argc, char **argv)
{
	struct traced_service *a = NULL, *b = NULL;
	char fixture[256], next[64], url[P_COUNT][128];
	struct points pt;
	pid_t pid_b;
	const char *exe;

	if (argc > 1 && strtol(argv[1], NULL, 10) > 0)
		seconds = (int)strtol(argv[1], NULL, 10);
	if (argc > 2 && strtol(argv[2], NULL, 10) > 0)
		rounds = (int)strtol(argv[2], NULL, 10);
	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (chain_fixture(fixture, sizeof(fixture))) {
		fprintf(stderr, "bench_client_overhead: no chain fixture (make fixtures)\n");
		return 1;
	}
	/* A and B inherit CPU 0 and one P each: the probes run where the services do. */
	pin(0);
	setenv("GOMAXPROCS", "1", 1);
	if (traced_service_start(fixture, &b) == 0) {
		snprintf(next, sizeof(next), "http://127.0.0.1:%d", traced_service_port(b));
		traced_service_start_next(fixture, NULL, next, &a);
	}
	unsetenv("GOMAXPROCS");
	pin(1);
	if (!a || !b) {
		fprintf(stderr, "bench_client_overhead: cannot start the chain\n");
		traced_service_free(a);
		traced_service_free(b);
		return 1;
	}
	exe = traced_service_binary(a);
	pid_b = traced_service_pid(b);
	if (probe_points(exe, &pt)) {
		fprintf(stderr, "bench_client_overhead: no probe points in %s\n", exe);
		goto out;
	}
	for (int p = 0; p < P_COUNT; p++)
		snprintf(url[p], sizeof(url[p]), "http://127.0.0.1:%d%s", traced_service_port(a),
			 path_url[p]);
	run_wrk(url[P_CHAIN], NULL); /* warm up */
	double last[P_COUNT];

	for (int p = 0; p < P_COUNT; p++)
		last[p] = untraced(p, url[p]);
	/* Each round starts one arm later, so that no arm always runs first. */
	for (int round = 0; round < rounds; round++) {
		for (int k = 0; k < A_COUNT; k++) {
			enum arm arm = (enum arm)((k + round) % A_COUNT);
			struct arm_state st;
			int r = arm_attach(&st, arm, exe, a, pid_b, &pt);

			for (int p = 0; p < P_COUNT; p++)
				runs[arm][p][round].rps = r == 0 ? run_wrk(url[p], st.tracer) : -1;
			if (r)
				fprintf(stderr, "bench_client_overhead: %s: %s\n", arm_label[arm],
					strerror(-r));
			arm_detach(&st);
			for (int p = 0; p < P_COUNT; p++) {
				double before = last[p];

				last[p] = untraced(p, url[p]);
				runs[arm][p][round].base =
					before > 0 && last[p] > 0 ? (before + last[p]) / 2 : -1;
			}
		}
	}
	print_report(fixture);
	kernel_time(exe, a, pid_b, &pt, url);
out:
	traced_service_free(a);
	traced_service_free(b);
	curl_global_cleanup();
	return 0;
}
