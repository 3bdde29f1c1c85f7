/* What tracing costs a Go HTTP server: wrk (-t1 -c16) against the hello handler of
 * tests/fixtures/go/httpsvc, the server pinned to CPU 0 with GOMAXPROCS=1 and wrk plus
 * this program (the agent's side as the agent daemon runs it: a 1 MiB ring buffer,
 * read when the kernel wakes the reader at a quarter full and every 50 ms, spans built
 * as agent/tracer.c does) pinned to CPU 1. Requests per second untraced, traced at 100%
 * and 1% with this tracer's placement (emulated jbe probes), and at 100% with the
 * placement other eBPF Go tracers use (ServeHTTP's first instruction and its RETs,
 * single-stepped, the same programs keyed by goroutine), next to two empty probes at
 * the same instructions (the uprobe machinery's floor), with the kernel time per
 * program run. The arms take turns in rounds, each traced arm run between two
 * untraced runs whose mean is its baseline, so that the machine's drift over a round (a
 * tenth of the rate here) cancels out; the median of an arm's ratios to its baselines is
 * printed with their spread. The rates are measured with BPF run-time statistics off,
 * as the agent runs; the kernel time per program run (those statistics, which cost
 * each run two clock reads) in rounds of its own. Then the agent's side: spans per CPU-second from the ring buffer to
 * otlp_span, and through the exporter to the real OTLP receiver.
 * Usage: bench_tracer_overhead [seconds per run, default 2] [rounds, default 9] */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/go_binary.h"
#include "agent/probe_loader.h"
#include "agent/server_probes.h"
#include "agent/span_builder.h"
#include "lib/otlp/exporter.h"
#include "tests/support/bench_stats.h"
#include "tests/support/otlp_receiver.h"
#include "tests/support/traced_service.h"
#include "probe_cost.skel.h"

/* The agent daemon's default ring (agent/main.c). */
#define RINGBUF_BYTES (1u << 20)

static int seconds = 2;
static int rounds = 9;
/* Set: wrk sends the headers a browser sends (some 500 bytes of them), so that the
 * traceparent search reads what real requests carry rather than wrk's minimal one. */
static int browser_headers;
static const char *const browser_header_lines[] = {
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	"Accept-Language: en-US,en;q=0.5",
	"Accept-Encoding: gzip, deflate, br, zstd",
	"Referer: https://shop.example.com/catalog/items?page=2&sort=price",
	"Cookie: session=3f9a1c2e7b4d4e0a9c1b2d3e4f5a6b7c; theme=dark; consent=1",
	"Sec-Fetch-Dest: document",
	"Sec-Fetch-Mode: navigate",
	"Sec-Fetch-Site: same-origin",
	"Upgrade-Insecure-Requests: 1",
	"Priority: u=0, i",
};
#define N_BROWSER_HEADERS (sizeof(browser_header_lines) / sizeof(browser_header_lines[0]))

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

struct poller {
	struct probe_loader *loader; /* NULL: untraced */
};

static void poll_once(struct poller *p)
{
	if (p->loader)
		probe_loader_consume(p->loader);
}

/* Runs wrk against url, polling every 50 ms meanwhile; requests per second or -1. */
static double run_wrk(const char *url, struct poller *p)
{
	char dur[16], line[256], path[] = "/tmp/bench-wrk-XXXXXX";
	double rps = -1;
	int fd = mkstemp(path), status;
	pid_t pid;
	FILE *f;

	if (fd < 0)
		return -1;
	snprintf(dur, sizeof(dur), "%ds", seconds);
	pid = fork();
	if (pid == 0) {
		const char *args[8 + 2 * N_BROWSER_HEADERS];
		size_t n = 0;

		args[n++] = "wrk";
		args[n++] = "-t1";
		args[n++] = "-c16";
		args[n++] = "-d";
		args[n++] = dur;
		for (size_t i = 0; browser_headers && i < N_BROWSER_HEADERS; i++) {
			args[n++] = "-H";
			args[n++] = browser_header_lines[i];
		}
		args[n++] = url;
		args[n] = NULL;
		dup2(fd, STDOUT_FILENO);
		execvp("wrk", (char *const *)args);
		_exit(127);
	}
	close(fd);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		/* As the agent: read when woken, else every 50 ms. */
		if (p->loader) {
			struct pollfd pfd = { .fd = probe_loader_wakeup_fd(p->loader), .events = POLLIN };

			poll(&pfd, 1, 50);
		} else {
			struct timespec ts = { 0, 50 * 1000000L };

			nanosleep(&ts, NULL);
		}
		poll_once(p);
	}
	poll_once(p);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Requests/sec: %lf", &rps) == 1)
			break;
	}
	if (f)
		fclose(f);
	unlink(path);
	return rps;
}

static uint64_t built;
static struct otlp_span scratch;
static struct otlp_exporter *exporter; /* set: built spans are exported */

static int build_record(void *ud, const void *data, size_t size)
{
	(void)ud;
	if (span_builder_build(data, size, 0, &scratch) == 0) {
		built++;
		if (exporter)
			otlp_exporter_enqueue(exporter, &scratch);
	}
	return 0;
}

struct traced_result {
	double rps;
	double base;             /* the mean of the untraced runs before and after it */
	double spans_per_cpu_s;  /* agent side: spans built (and exported) per CPU-second */
	double start_ns, end_ns; /* kernel time per program run */
	uint64_t drops;
};

/* One wrk run with the probes attached: placement 0 is this tracer's (the jbe of
 * ServeHTTP and of finishRequest), 1 the other tracers' (ServeHTTP's first instruction
 * and its RETs). Spans are built as the tracer builds them (agent/span_builder.c). */
static int traced_run(const char *url, const char *binary, pid_t pid, int placement,
		      const struct hs_sampler *sampler, struct traced_result *ret)
{
	struct probe_loader_opts lo = { .on_record = build_record, .ringbuf_bytes = RINGBUF_BYTES,
					.symbol_and_rets = placement == 1 };
	struct probe_point entry, rets[PROBE_MAX_RETS];
	struct probe_attachment *a = NULL;
	struct server_probe_plan plan;
	struct go_binary *gb = NULL;
	struct poller p = { 0 };
	struct probe_run_stats rs;
	uint64_t offs[PROBE_MAX_RETS], k[HS_STAT_COUNT];
	struct go_func fn;
	size_t nrets = 0;
	double cpu0;
	char exe[64];
	int r = -1;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (go_binary_open(binary, NULL, &gb) || server_probes_plan(gb, &plan) ||
	    probe_loader_new(&lo, &p.loader) || probe_loader_set_offsets(p.loader, 0, &plan.offsets) ||
	    probe_loader_set_sampler(p.loader, sampler))
		goto out;
	struct probe_attach_spec spec = { .pid = pid, .binary_path = exe,
					  .start_offset = plan.start.file_offset,
					  .end_offset = plan.end.file_offset };
	if (placement == 0) {
		if (probe_loader_attach(p.loader, &spec, &a))
			goto out;
	} else {
		if (go_binary_entry_point(gb, SERVER_PROBES_START_FUNC, &entry) ||
		    go_symtab_lookup(go_binary_symtab(gb), SERVER_PROBES_START_FUNC, &fn) ||
		    go_binary_ret_points(gb, SERVER_PROBES_START_FUNC, rets, PROBE_MAX_RETS, &nrets))
			goto out;
		for (size_t i = 0; i < nrets; i++)
			offs[i] = rets[i].file_offset;
		spec.start_offset = entry.file_offset - (entry.vaddr - fn.addr);
		if (probe_loader_attach_at_symbol_and_rets(p.loader, &spec, offs, nrets, &a))
			goto out;
	}
	built = 0;
	cpu0 = cpu_seconds();
	ret->rps = run_wrk(url, &p);
	ret->spans_per_cpu_s = built / (cpu_seconds() - cpu0);
	if (exporter)
		otlp_exporter_flush(exporter, 10000);
	if (probe_loader_run_stats(p.loader, &rs) == 0 && rs.start_runs && rs.end_runs) {
		ret->start_ns = (double)rs.start_ns / rs.start_runs;
		ret->end_ns = (double)rs.end_ns / rs.end_runs;
	}
	if (probe_loader_read_stats(p.loader, k) == 0)
		ret->drops = k[HS_STAT_RINGBUF_FULL] + k[HS_STAT_INFLIGHT_FULL] + k[HS_STAT_MISSING_START];
	r = 0;
out:
	probe_attachment_free(a);
	probe_loader_free(p.loader);
	go_binary_free(gb);
	return r;
}

/* The floor: a program that only counts its hits (bpf/probe_cost.bpf.c) at the same two
 * jbe instructions, so the uprobe machinery's own cost shows apart from the tracer's. */
static double empty_probes_run(const char *url, const char *binary, pid_t pid,
			       double *ret_ns)
{
	struct probe_cost_bpf *skel = NULL;
	struct bpf_link *a = NULL, *b = NULL;
	struct server_probe_plan plan;
	struct go_binary *gb = NULL;
	struct poller none = { 0 };
	double rps = -1;
	char exe[64];

	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (go_binary_open(binary, NULL, &gb) || server_probes_plan(gb, &plan))
		goto out;
	skel = probe_cost_bpf__open_and_load();
	if (!skel)
		goto out;
	a = bpf_program__attach_uprobe(skel->progs.count_hit, false, pid, exe,
				       plan.start.file_offset);
	b = bpf_program__attach_uprobe(skel->progs.count_hit, false, pid, exe,
				       plan.end.file_offset);
	if (a && b) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		rps = run_wrk(url, &none);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.count_hit), &info, &len) == 0 &&
		    info.run_cnt)
			*ret_ns = (double)info.run_time_ns / info.run_cnt;
	}
out:
	bpf_link__destroy(a);
	bpf_link__destroy(b);
	probe_cost_bpf__destroy(skel);
	go_binary_free(gb);
	return rps;
}

/* The traced arms of a round, measured in turn, each between two untraced runs (with
 * a browser's headers for the browser-header arm) whose mean is its baseline. */
enum arm {
	ARM_EMPTY,
	ARM_ON,
	ARM_ONE,
	ARM_PEER,
	ARM_BRO_ONE,
	ARM_COUNT,
};
#define MAX_ROUNDS 64
/* Rounds of the kernel-time measurement, with BPF run-time statistics on. */
#define KERNEL_ROUNDS 3

static struct traced_result results[ARM_COUNT][MAX_ROUNDS];
static struct traced_result kernel[ARM_COUNT][KERNEL_ROUNDS];
/* Every untraced run, without and with a browser's headers. */
static double base_runs[2][MAX_ROUNDS * (ARM_COUNT + 1)];
static int n_base[2];

enum field { F_RPS, F_RATIO, F_COST_US, F_START_NS, F_END_NS };

/* A field over the runs of an arm that measured something. */
static struct bench_spread field_spread(const struct traced_result *runs, int n, enum field f)
{
	double v[MAX_ROUNDS];
	int k = 0;

	for (int i = 0; i < n; i++) {
		const struct traced_result *r = &runs[i];

		if (r->rps <= 0 || ((f == F_RATIO || f == F_COST_US) && r->base <= 0))
			continue;
		v[k++] = f == F_RPS	? r->rps :
			 f == F_RATIO	? r->rps / r->base :
			 f == F_COST_US ? 1e6 / r->rps - 1e6 / r->base :
			 f == F_START_NS ? r->start_ns :
					   r->end_ns;
	}
	return bench_spread_of(v, k);
}

static void print_arm(const char *label, enum arm a)
{
	struct bench_spread rps = field_spread(results[a], rounds, F_RPS);
	struct bench_spread q = field_spread(results[a], rounds, F_RATIO);

	printf("  %-36s %9.0f req/s   %.3f  (%.3f-%.3f)\n", label, rps.median, q.median, q.min,
	       q.max);
}

/* Runs one traced arm. */
static void run_arm(enum arm a, const char *url, const char *binary, pid_t pid,
		    const struct hs_sampler *all, const struct hs_sampler *pct,
		    struct traced_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	browser_headers = a == ARM_BRO_ONE;
	switch (a) {
	case ARM_EMPTY:
		ret->rps = empty_probes_run(url, binary, pid, &ret->start_ns);
		break;
	case ARM_ON:
	case ARM_ONE:
	case ARM_BRO_ONE:
	case ARM_PEER:
		if (traced_run(url, binary, pid, a == ARM_PEER, a == ARM_ON || a == ARM_PEER ? all : pct,
			       ret))
			ret->rps = -1;
		break;
	case ARM_COUNT:
		break;
	}
	browser_headers = 0;
}

/* One untraced run, with a browser's headers or not, kept among the baselines. */
static double baseline_run(const char *url, int browser)
{
	struct poller none = { 0 };
	double rps;

	browser_headers = browser;
	rps = run_wrk(url, &none);
	browser_headers = 0;
	if (rps > 0)
		base_runs[browser][n_base[browser]++] = rps;
	return rps;
}

/* Whether BPF run-time statistics are on system-wide already. */
static int bpf_stats_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int on = 0;

	if (f) {
		if (fscanf(f, "%d", &on) != 1)
			on = 0;
		fclose(f);
	}
	return on;
}

/* The CPUs a process may run on, as /proc/<pid>/status lists them. */
static void cpus_allowed(pid_t pid, char *buf, size_t size)
{
	char path[64], line[256];
	FILE *f;

	snprintf(buf, size, "?");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
			snprintf(buf, size, "%s", line + 18 + strspn(line + 18, " \t"));
			buf[strcspn(buf, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	struct traced_service *svc = NULL;
	struct otlp_receiver *rx = NULL;
	char binary[256], url[128], server_cpus[64], own_cpus[64];
	int rc = 1;

	if (argc > 1 && strtol(argv[1], NULL, 10) > 0)
		seconds = (int)strtol(argv[1], NULL, 10);
	if (argc > 2 && strtol(argv[2], NULL, 10) > 0)
		rounds = (int)strtol(argv[2], NULL, 10);
	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (traced_service_fixture("", 0, binary, sizeof(binary))) {
		fprintf(stderr, "bench_tracer_overhead: no httpsvc fixture (make fixtures)\n");
		return 1;
	}
	/* The server inherits CPU 0 and one P: its goroutines, GC workers and netpoller
	 * share the one CPU the probes run on, whatever the machine's core count. */
	pin(0);
	setenv("GOMAXPROCS", "1", 1);
	if (traced_service_start(binary, &svc)) {
		fprintf(stderr, "bench_tracer_overhead: cannot start %s\n", binary);
		return 1;
	}
	unsetenv("GOMAXPROCS");
	pin(1); /* wrk and the agent's side */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", traced_service_port(svc));

	struct hs_sampler all = { .type = HS_SAMPLER_ALWAYS_ON };
	struct hs_sampler pct = { .type = HS_SAMPLER_RATIO,
				  .threshold = (uint64_t)(0.01 * 18446744073709551616.0) };
	struct traced_result ex = { 0 };
	pid_t pid = traced_service_pid(svc);
	struct poller none = { 0 };
	struct bench_spread base, bro_base, s, e;
	uint64_t drops_on = 0, drops_one = 0;
	double spans_cpu[MAX_ROUNDS];
	int stats_fd, stats_were_on = bpf_stats_on(), n_on = 0;

	cpus_allowed(pid, server_cpus, sizeof(server_cpus));
	cpus_allowed(getpid(), own_cpus, sizeof(own_cpus));
	run_wrk(url, &none); /* warm up */
	/* The machine is shared: the arms take turns within a round, each round starting
	 * one arm later than the one before, so that no arm always runs first or last. An
	 * untraced run ends each arm and begins the next (with the same headers). */
	for (int round = 0; round < rounds; round++) {
		double last = -1;
		int last_browser = -1;

		for (int k = 0; k < ARM_COUNT; k++) {
			enum arm a = (enum arm)((k + round) % ARM_COUNT);
			struct traced_result *r = &results[a][round];
			int browser = a == ARM_BRO_ONE;
			double before = last_browser == browser ? last : baseline_run(url, browser);

			run_arm(a, url, binary, pid, &all, &pct, r);
			last = baseline_run(url, browser);
			last_browser = browser;
			r->base = before > 0 && last > 0 ? (before + last) / 2 : -1;
		}
	}
	/* The kernel time per program run, in rounds of its own: the statistics cost each
	 * run two clock reads, which the rates above do not pay. */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	for (int round = 0; stats_fd >= 0 && round < KERNEL_ROUNDS; round++) {
		for (int k = 0; k < ARM_COUNT; k++)
			run_arm((enum arm)k, url, binary, pid, &all, &pct, &kernel[k][round]);
	}

	printf("wrk -t1 -c16 -d%ds against %s /hello; pinning: server on CPUs %s "
	       "(GOMAXPROCS=1), wrk and the agent's side on CPUs %s; ring buffer %u KiB, read "
	       "when woken or every 50 ms.\n", seconds, binary, server_cpus, own_cpus,
	       RINGBUF_BYTES / 1024);
	if (stats_were_on)
		printf("NOTE: BPF run-time statistics were on system-wide "
		       "(kernel.bpf_stats_enabled): the traced rates include their cost.\n");
	printf("%d rounds of %d traced arms in turn (each round starts one arm later), each "
	       "between two untraced runs; median req/s, and the median (min-max) of each "
	       "run's ratio to the mean of the untraced runs around it:\n", rounds, ARM_COUNT);
	base = bench_spread_of(base_runs[0], n_base[0]);
	bro_base = bench_spread_of(base_runs[1], n_base[1]);
	printf("  %-36s %9.0f req/s   1.000  (untraced itself %.0f-%.0f req/s)\n", "untraced:",
	       base.median, base.min, base.max);
	print_arm("two empty probes at the jbe's:", ARM_EMPTY);
	print_arm("traced 100%, jbe placement:", ARM_ON);
	print_arm("traced 1%,   jbe placement:", ARM_ONE);
	print_arm("traced 100%, symbol+RET placement:", ARM_PEER);
	printf("  cost per request, median over runs of 1/rate - 1/baseline: %.2f us at 100%% "
	       "(jbe), %.2f us at 1%% (jbe), %.2f us at 100%% (symbol+RET), %.2f us for two "
	       "empty probes\n", field_spread(results[ARM_ON], rounds, F_COST_US).median,
	       field_spread(results[ARM_ONE], rounds, F_COST_US).median,
	       field_spread(results[ARM_PEER], rounds, F_COST_US).median,
	       field_spread(results[ARM_EMPTY], rounds, F_COST_US).median);
	if (stats_fd >= 0) {
		static const struct {
			const char *label;
			enum arm a;
		} k[] = { { "100% (jbe)", ARM_ON }, { "1% (jbe)", ARM_ONE },
			  { "100% (symbol+RET)", ARM_PEER }, { "1%, browser headers", ARM_BRO_ONE } };

		printf("  kernel time in the programs per request, median (min-max) over %d runs with "
		       "BPF run-time statistics on:\n", KERNEL_ROUNDS);
		for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
			s = field_spread(kernel[k[i].a], KERNEL_ROUNDS, F_START_NS);
			e = field_spread(kernel[k[i].a], KERNEL_ROUNDS, F_END_NS);
			printf("    %-20s start %4.0f ns (%.0f-%.0f) + end %4.0f ns (%.0f-%.0f)\n",
			       k[i].label, s.median, s.min, s.max, e.median, e.min, e.max);
		}
		printf("    an empty program: %.0f ns a run\n",
		       field_spread(kernel[ARM_EMPTY], KERNEL_ROUNDS, F_START_NS).median);
		close(stats_fd);
	}
	s = field_spread(results[ARM_BRO_ONE], rounds, F_RATIO);
	printf("  with a browser's %zu request headers: untraced %.0f req/s, traced 1%% %.0f req/s "
	       "%.3f (%.3f-%.3f)\n", N_BROWSER_HEADERS, bro_base.median,
	       field_spread(results[ARM_BRO_ONE], rounds, F_RPS).median, s.median, s.min, s.max);
	for (int i = 0; i < rounds; i++) {
		drops_on += results[ARM_ON][i].drops;
		drops_one += results[ARM_ONE][i].drops;
		if (results[ARM_ON][i].rps > 0)
			spans_cpu[n_on++] = results[ARM_ON][i].spans_per_cpu_s;
	}
	printf("  drops (ring buffer, in flight), all rounds: %llu at 100%%, %llu at 1%%\n",
	       (unsigned long long)drops_on, (unsigned long long)drops_one);
	printf("  agent side, ring buffer -> otlp_span: %.0f spans per CPU-second (median)\n",
	       bench_spread_of(spans_cpu, n_on).median);

	if (otlp_receiver_start(0, &rx) == 0) {
		struct otlp_exporter_options eo = { .queue_capacity = 65536, .max_batch = 512,
						    .max_delay_ms = 200 };
		struct otlp_exporter_config ec = { .endpoint = otlp_receiver_endpoint(rx) };
		struct otlp_exporter_stats es;
		struct otlp_shutdown_report rep;

		if (otlp_exporter_new(&eo, &ec, &exporter) == 0) {
			traced_run(url, binary, pid, 0, &all, &ex);
			otlp_exporter_shutdown(exporter, 5000, &rep);
			otlp_exporter_get_stats(exporter, &es);
			printf("  agent side, ring buffer -> OTLP/HTTP protobuf to the receiver: %.0f "
			       "spans per CPU-second (%llu exported; app at %.3f of untraced meanwhile)\n",
			       ex.spans_per_cpu_s, (unsigned long long)es.spans_exported,
			       ex.rps / base.median);
			if (ex.spans_per_cpu_s > 0)
				printf("  agent CPU for 10k spans/s, ring buffer to OTLP: %.2f%% of a core\n",
				       100.0 * 10000 / ex.spans_per_cpu_s);
			otlp_exporter_free(exporter);
			exporter = NULL;
		}
		otlp_receiver_free(rx);
	} else {
		printf("  (no otlp-receiver on PATH: export figure skipped)\n");
	}
	rc = 0;
	traced_service_free(svc);
	curl_global_cleanup();
	return rc;
}
