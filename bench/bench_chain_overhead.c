/* What tracing costs a request that crosses three services (tests/fixtures/go/chain3):
 *
 *   A /order --HTTP/1.1--> B /stock --gRPC, h2c--> C demo.Store/Get --> one SQL query
 *
 * A, B and C on CPU 0 (GOMAXPROCS=1 each), wrk (-t1 -c16) and this program on CPU 1.
 * Three paths, driven with HTTP load:
 *   chain        A's /order: all of the above (A's server and client probes, the
 *                sk_msg program on A's send, B's server and gRPC client probes, C's
 *                gRPC server and database probes)
 *   call + SQL   B's /stock: a handler that makes one gRPC call, whose handler in C
 *                makes one SQL query (A left out)
 *   server only  A's /ping: A's two server probes, nothing else
 * and three arms, attached to the three processes in turn:
 *   floor        bare probes (bpf/probe_cost.bpf.c, a counter) at every instruction the
 *                tracer probes in each process (the net/http server's, HTTP/2 server's,
 *                client's, database/sql's and gRPC's, from the same plans)
 *   traced 100%  the tracer as the agent runs it (parentbased_traceidratio), its spans
 *   traced 1%    built and dropped, read when woken or every 50 ms
 * A and B are restarted before each arm, so that the calls go on connections opened
 * while it is attached. Each arm's runs are followed by an untraced run of each path;
 * an arm's baseline is the mean of the untraced runs before and after it, so that the
 * machine's drift cancels. Printed: req/s and the ratio to the baseline (median, min-max
 * over rounds), the cost per request (1/rate - 1/baseline) and the cost beyond the
 * floor in ns per request; then each probe family's kernel time per request (BPF
 * run-time statistics), which gives what one request of each service's kind costs
 * in the programs. Never passes or fails.
 * Usage: bench_chain_overhead [seconds per run, default 2] [rounds, default 3] */
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
#include <unistd.h>

#include "agent/client_probes.h"
#include "agent/db_probes.h"
#include "agent/go_binary.h"
#include "agent/grpc_probes.h"
#include "agent/h2_server_probes.h"
#include "agent/server_probes.h"
#include "agent/tracer.h"
#include "tests/support/go_fixtures.h"
#include "tests/support/bench_stats.h"
#include "tests/support/bench_wrk.h"
#include "tests/support/bpf_prog_time.h"
#include "tests/support/traced_service.h"
#include "probe_cost.skel.h"

#define FIXTURE_GLOB "build/fixtures/chain3-go*"
#define MAX_ROUNDS 16
#define MAX_POINTS 48
#define N_PROCS 3

enum path { P_CHAIN, P_CALL_SQL, P_SERVER, P_COUNT };
enum arm { A_FLOOR, A_ON, A_ONE, A_COUNT };

static const char *const path_label[P_COUNT] = { "chain", "call + SQL", "server only" };
static const char *const arm_label[A_COUNT] = { "bare probes (floor)", "traced 100%",
						"traced 1%" };

static int seconds = 2;
static int rounds = 3;

static struct bench_run runs[A_COUNT][P_COUNT][MAX_ROUNDS];
static double base_runs[P_COUNT][MAX_ROUNDS * A_COUNT + 1];
static int n_base[P_COUNT];
static uint64_t spans_seen;
static uint64_t wrk_requests; /* what the last wrk run completed */

/* The three services; the one executable they run (borrowed from a). */
struct chain {
	struct traced_service *a, *b, *c;
	const char *exe;
	char url[P_COUNT][128];
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

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

static int fixture(char *path, size_t size)
{
	return go_fixture_find(FIXTURE_GLOB, path, size);
}

/* Every instruction the tracer probes in the executable (each process runs it all). */
struct points {
	uint64_t off[MAX_POINTS];
	size_t n;
};

static void add_point(struct points *pt, uint64_t off)
{
	if (pt->n < MAX_POINTS)
		pt->off[pt->n++] = off;
}

static void add_db_fn(struct points *pt, const struct db_probe_plan *d, const struct db_probe_fn *f)
{
	if (!f->present)
		return;
	add_point(pt, f->start.file_offset);
	for (size_t i = 0; !d->release_ends && i < f->n_rets; i++)
		add_point(pt, f->rets[i].file_offset);
}

/* What agent/tracer_attach.c attaches, from the same plans. */
static int probe_points(const char *exe, struct points *pt)
{
	struct server_probe_plan sp;
	struct client_probe_plan cp;
	struct h2_server_probe_plans hp;
	struct db_probe_plan dp;
	struct grpc_probe_plan gp;
	struct go_binary *gb = NULL;
	char why[256];
	int r = go_binary_open(exe, NULL, &gb);

	memset(pt, 0, sizeof(*pt));
	if (r == 0)
		r = server_probes_plan(gb, &sp);
	if (r == 0)
		r = client_probes_plan(gb, &cp);
	if (r == 0)
		r = db_probes_plan(gb, &dp);
	if (r == 0)
		r = grpc_probes_plan(gb, &gp, why, sizeof(why));
	if (r == 0) {
		add_point(pt, sp.start.file_offset);
		add_point(pt, sp.end.file_offset);
		if (h2_server_probes_plan(gb, &hp) == 0) {
			for (size_t i = 0; i < hp.n; i++) {
				add_point(pt, hp.plan[i].start.file_offset);
				add_point(pt, hp.plan[i].end.file_offset);
			}
		}
		add_point(pt, cp.start.file_offset);
		add_point(pt, cp.end.file_offset);
		add_point(pt, cp.conn.file_offset);
		if (cp.has_alt_end)
			add_point(pt, cp.alt_end.file_offset);
		if (cp.has_failed)
			add_point(pt, cp.failed.file_offset);
		add_db_fn(pt, &dp, &dp.query);
		add_db_fn(pt, &dp, &dp.exec);
		if (dp.release_ends) {
			add_point(pt, dp.rows_ready.file_offset);
			for (size_t i = 0; i < dp.n_released; i++)
				add_point(pt, dp.released[i].file_offset);
		}
		if (gp.has_server) {
			add_point(pt, gp.headers.file_offset);
			add_point(pt, gp.server_start.file_offset);
			add_point(pt, gp.server_end.file_offset);
		}
		if (gp.has_client) {
			add_point(pt, gp.client_start.file_offset);
			add_point(pt, gp.client_end.file_offset);
		}
		/* The outgoing-context pair (writeHeader runs for the server's headers too). */
		if (gp.has_outgoing) {
			add_point(pt, gp.client_fields.file_offset);
			add_point(pt, gp.write_header.file_offset);
		}
	}
	go_binary_free(gb);
	return r;
}

/* What one arm holds attached while it runs. */
struct arm_state {
	struct probe_cost_bpf *skel;
	struct bpf_link *links[MAX_POINTS * N_PROCS];
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

/* Restarts B, then A (whose connections to B went with it), on CPU 0 with one P each. */
static int restart_callers(struct chain *ch)
{
	int r;

	pin(0);
	setenv("GOMAXPROCS", "1", 1);
	r = traced_service_restart(ch->b);
	if (r == 0)
		r = traced_service_restart(ch->a);
	unsetenv("GOMAXPROCS");
	pin(1);
	return r;
}

static int arm_attach(struct arm_state *s, enum arm a, struct chain *ch, const struct points *pt)
{
	struct traced_service *svc[N_PROCS] = { ch->a, ch->b, ch->c };
	int r;

	memset(s, 0, sizeof(*s));
	r = restart_callers(ch);
	if (r)
		return r;
	if (a == A_FLOOR) {
		s->skel = probe_cost_bpf__open_and_load();
		if (!s->skel)
			return -errno;
		for (int p = 0; p < N_PROCS; p++) {
			for (size_t i = 0; i < pt->n; i++) {
				struct bpf_link *l = bpf_program__attach_uprobe(
					s->skel->progs.count_hit, false, traced_service_pid(svc[p]),
					ch->exe, pt->off[i]);

				if (!l)
					return -errno;
				s->links[s->n_links++] = l;
			}
		}
		return 0;
	}
	struct tracer_opts o = {
		.ringbuf_bytes = 1u << 20, /* the agent daemon's default */
		.sampler = { .type = TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO,
			     .ratio = a == A_ON ? 1.0 : 0.01 },
		.targets = { .executable = ch->exe },
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

static void print_report(const char *binary, size_t points)
{
	double copy[MAX_ROUNDS * A_COUNT + 1];
	struct bench_spread b[P_COUNT];

	printf("wrk -t1 -c16 -d%ds; %s as A, B and C on CPU 0 (GOMAXPROCS=1 each), wrk and the "
	       "tracer's reader on CPU 1; %d rounds of %d arms in turn, each between untraced "
	       "runs; median (min-max) over rounds; the floor: %zu bare probes in each of the "
	       "three processes.\n", seconds, binary, rounds, A_COUNT, points);
	printf("  chain: A /order -> HTTP -> B /stock -> gRPC -> C Get -> SQL; call + SQL: B "
	       "/stock; server only: A /ping\n");
	for (int p = 0; p < P_COUNT; p++) {
		memcpy(copy, base_runs[p], sizeof(double) * (size_t)n_base[p]);
		b[p] = bench_spread_of(copy, n_base[p]);
	}
	printf("  %-20s", "");
	for (int p = 0; p < P_COUNT; p++)
		printf(" %28s", path_label[p]);
	printf("\n  %-20s", "untraced");
	for (int p = 0; p < P_COUNT; p++)
		printf(" %16.0f req/s %10s", b[p].median, "");
	printf("\n");
	for (int a = 0; a < A_COUNT; a++) {
		printf("  %-20s", arm_label[a]);
		for (int p = 0; p < P_COUNT; p++) {
			struct bench_spread r = field(a, p, BENCH_RPS), q = field(a, p, BENCH_RATIO);

			printf(" %8.0f req/s %.3f (%.3f-%.3f)", r.median, q.median, q.min, q.max);
		}
		printf("\n");
	}
	printf("  ratios to untraced (median): ");
	for (int p = 0; p < P_COUNT; p++)
		printf("%s%s: traced 100%% %.3f, traced 1%% %.3f, floor %.3f", p ? "; " : "",
		       path_label[p], field(A_ON, p, BENCH_RATIO).median, field(A_ONE, p, BENCH_RATIO).median,
		       field(A_FLOOR, p, BENCH_RATIO).median);
	printf("\n  cost per request, median of 1/rate - 1/baseline (ns):\n");
	printf("  %-20s", "");
	for (int p = 0; p < P_COUNT; p++)
		printf(" %12s", path_label[p]);
	printf("\n");
	for (int a = 0; a < A_COUNT; a++) {
		printf("  %-20s", arm_label[a]);
		for (int p = 0; p < P_COUNT; p++)
			printf(" %12.0f", field(a, p, BENCH_COST_NS).median);
		printf("\n");
	}
	printf("  beyond the floor (traced - bare probes at the same instructions, the same round; "
	       "ns per request, median (min-max)):\n");
	for (int a = A_ON; a < A_COUNT; a++) {
		printf("  %-20s", arm_label[a]);
		for (int p = 0; p < P_COUNT; p++) {
			struct bench_spread c = beyond_floor(a, p);

			printf(" %s %.0f (%.0f..%.0f) = %.1f%%;", path_label[p], c.median, c.min,
			       c.max, 100.0 * c.median * b[p].median / 1e9);
		}
		printf("\n");
	}
	printf("  spans built by the traced arms: %llu\n", (unsigned long long)spans_seen);
}

/* The probe families, by program name. */
enum family { F_HTTP_SERVER, F_HTTP_CLIENT, F_GRPC_SERVER, F_GRPC_CLIENT, F_DB, F_OTHER, F_COUNT };
static const char *const family_label[F_COUNT] = { "HTTP server", "HTTP client", "gRPC server",
						   "gRPC client", "database", "other" };

static enum family family_of(const char *prog)
{
	if (strncmp(prog, "grpc_client", 11) == 0)
		return F_GRPC_CLIENT;
	if (strncmp(prog, "grpc_", 5) == 0)
		return F_GRPC_SERVER;
	if (strncmp(prog, "db_", 3) == 0)
		return F_DB;
	if (strncmp(prog, "client_", 7) == 0)
		return F_HTTP_CLIENT;
	if (strncmp(prog, "serve_http", 10) == 0 || strncmp(prog, "finish_req", 10) == 0 ||
	    strncmp(prog, "h2_", 3) == 0)
		return F_HTTP_SERVER;
	return F_OTHER; /* count_hit, the trace-context programs */
}

/* Kernel time in the programs per request, with BPF run-time statistics on (they cost
 * each run two clock reads, which the rates above do not pay): one run of each path
 * under each arm, each program that ran and each family's sum, ns per request. Less
 * exposed to a busy machine than the rates: it counts the programs' own time, not the
 * uprobe trap's nor the single-stepping's (the floor's rates hold those). A chain
 * request's families are each one process's: A's and B's server requests (two, HTTP
 * server), A's call (HTTP client), B's call (gRPC client), C's RPC (gRPC server) and its
 * query (database); so a request to a handler that makes one call is a server request
 * plus the call, and C's a gRPC server request plus a query. */
static void kernel_time(struct chain *ch, const struct points *pt)
{
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (stats_fd < 0) {
		printf("  (BPF run-time statistics unavailable: %s)\n", strerror(errno));
		return;
	}
	printf("  kernel time in the programs per request, one run each with BPF run-time "
	       "statistics on (ns per request, runs per request):\n");
	for (int a = 0; a < A_COUNT; a++) {
		double fam[P_COUNT][F_COUNT] = { { 0 } };
		int ran[P_COUNT] = { 0 };
		struct arm_state st;

		if (arm_attach(&st, (enum arm)a, ch, pt)) {
			arm_detach(&st);
			continue;
		}
		for (int p = 0; p < P_COUNT; p++) {
			struct bpf_prog_time before, after;
			double total = 0;

			if (bpf_prog_time_read(&before) || run_wrk(ch->url[p], st.tracer) <= 0 ||
			    bpf_prog_time_read(&after) || wrk_requests == 0)
				continue;
			ran[p] = 1;
			printf("    %-20s %-12s", arm_label[a], path_label[p]);
			for (size_t i = 0; i < after.n; i++) {
				uint64_t ns, n;
				double per;

				bpf_prog_time_delta(&before, &after, after.prog[i].name, &ns, &n);
				if (!n)
					continue;
				per = (double)ns / (double)wrk_requests;
				total += per;
				fam[p][family_of(after.prog[i].name)] += per;
				printf(" %s %.0f (%.2f)", after.prog[i].name, per,
				       (double)n / (double)wrk_requests);
			}
			printf("; total %.0f ns\n", total);
		}
		arm_detach(&st);
		if (a == A_FLOOR || !ran[P_CHAIN] || !ran[P_SERVER])
			continue;
		printf("    %-20s by family, ns per chain request:", arm_label[a]);
		for (int f = 0; f < F_COUNT; f++)
			printf(" %s %.0f", family_label[f], fam[P_CHAIN][f]);
		printf("\n    %-20s a server-only request (A /ping) %.0f ns; a handler making one "
		       "call (B: its server request + its gRPC call) %.0f ns; C's handler (its gRPC "
		       "server request + one SQL query) %.0f ns\n", arm_label[a],
		       fam[P_SERVER][F_HTTP_SERVER], fam[P_CHAIN][F_HTTP_SERVER] / 2 +
		       fam[P_CHAIN][F_GRPC_CLIENT], fam[P_CHAIN][F_GRPC_SERVER] + fam[P_CHAIN][F_DB]);
	}
	close(stats_fd);
}

/* C, B calling it and A calling B, on CPU 0 with one P each. */
static int start_chain(struct chain *ch, const char *fx)
{
	char grpc_addr[64], next[64];
	int r;

	pin(0);
	setenv("GOMAXPROCS", "1", 1);
	{
		const char *args[] = { "-role", "store", NULL };

		r = traced_service_start_args(fx, "-grpc", args, &ch->c);
	}
	if (r == 0) {
		const char *args[] = { "-role", "middle", "-grpc", grpc_addr, NULL };

		snprintf(grpc_addr, sizeof(grpc_addr), "127.0.0.1:%d", traced_service_port(ch->c));
		r = traced_service_start_args(fx, "-addr", args, &ch->b);
	}
	if (r == 0) {
		const char *args[] = { "-role", "front", "-next", next, NULL };

		snprintf(next, sizeof(next), "http://127.0.0.1:%d", traced_service_port(ch->b));
		r = traced_service_start_args(fx, "-addr", args, &ch->a);
	}
	unsetenv("GOMAXPROCS");
	pin(1);
	if (r)
		return r;
	ch->exe = traced_service_binary(ch->a);
	snprintf(ch->url[P_CHAIN], sizeof(ch->url[0]), "http://127.0.0.1:%d/order?id=7",
		 traced_service_port(ch->a));
	snprintf(ch->url[P_CALL_SQL], sizeof(ch->url[0]), "http://127.0.0.1:%d/stock?id=7",
		 traced_service_port(ch->b));
	snprintf(ch->url[P_SERVER], sizeof(ch->url[0]), "http://127.0.0.1:%d/ping",
		 traced_service_port(ch->a));
	return 0;
}

int main(int argc, char **argv)
{
	struct chain ch = { 0 };
	char fx[256];
	struct points pt;
	double last[P_COUNT];

	if (argc > 1 && strtol(argv[1], NULL, 10) > 0)
		seconds = (int)strtol(argv[1], NULL, 10);
	if (argc > 2 && strtol(argv[2], NULL, 10) > 0)
		rounds = (int)strtol(argv[2], NULL, 10);
	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (fixture(fx, sizeof(fx))) {
		fprintf(stderr, "bench_chain_overhead: no chain3 fixture (make fixtures)\n");
		return 1;
	}
	if (start_chain(&ch, fx)) {
		fprintf(stderr, "bench_chain_overhead: cannot start the chain\n");
		goto out;
	}
	if (probe_points(ch.exe, &pt)) {
		fprintf(stderr, "bench_chain_overhead: no probe points in %s\n", ch.exe);
		goto out;
	}
	run_wrk(ch.url[P_CHAIN], NULL); /* warm up */
	for (int p = 0; p < P_COUNT; p++)
		last[p] = untraced(p, ch.url[p]);
	/* Each round starts one arm later, so that no arm always runs first. */
	for (int round = 0; round < rounds; round++) {
		for (int k = 0; k < A_COUNT; k++) {
			enum arm arm = (enum arm)((k + round) % A_COUNT);
			struct arm_state st;
			int r = arm_attach(&st, arm, &ch, &pt);

			for (int p = 0; p < P_COUNT; p++)
				runs[arm][p][round].rps = r == 0 ? run_wrk(ch.url[p], st.tracer) : -1;
			if (r)
				fprintf(stderr, "bench_chain_overhead: %s: %s\n", arm_label[arm],
					strerror(-r));
			arm_detach(&st);
			for (int p = 0; p < P_COUNT; p++) {
				double before = last[p];

				last[p] = untraced(p, ch.url[p]);
				runs[arm][p][round].base =
					before > 0 && last[p] > 0 ? (before + last[p]) / 2 : -1;
			}
		}
	}
	print_report(fx, pt.n);
	kernel_time(&ch, &pt);
out:
	traced_service_free(ch.a);
	traced_service_free(ch.b);
	traced_service_free(ch.c);
	curl_global_cleanup();
	return 0;
}
