/* What tracing costs a Go HTTP server: wrk (-t1 -c16) against the hello handler of
 * tests/fixtures/go/httpsvc, the server pinned to CPU 0 and wrk plus this program (the
 * agent's side: polling the ring buffer every 50 ms, building spans as agent/tracer.c
 * does) to CPU 1. Requests per second untraced, traced at 100% and 1% with this
 * tracer's placement (emulated jbe probes), and at 100% with the placement other eBPF
 * Go tracers use (ServeHTTP's first instruction and its RETs, single-stepped, the same
 * programs keyed by goroutine), each as a ratio of the untraced rate measured in the
 * same run (one more untraced run at the end shows the drift), next to two empty
 * probes at the same instructions (the uprobe machinery's floor), with the kernel time
 * per program run (BPF run-time statistics). Then the agent's side: spans per
 * CPU-second from the ring buffer to otlp_span, and through the exporter to the real
 * OTLP receiver.
 * Usage: bench_tracer_overhead [seconds per run, default 5] [rounds, default 3] */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <curl/curl.h>
#include <errno.h>
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
#include "tests/support/otlp_receiver.h"
#include "tests/support/traced_service.h"
#include "probe_cost.skel.h"

static int seconds = 5;
static int rounds = 3;
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
		struct timespec ts = { 0, 50 * 1000000L };

		poll_once(p);
		nanosleep(&ts, NULL);
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
	struct probe_loader_opts lo = { .on_record = build_record };
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
static double empty_ns; /* kernel time per run of the empty program */

static double empty_probes_run(const char *url, const char *binary, pid_t pid)
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
			empty_ns = (double)info.run_time_ns / info.run_cnt;
	}
out:
	bpf_link__destroy(a);
	bpf_link__destroy(b);
	probe_cost_bpf__destroy(skel);
	go_binary_free(gb);
	return rps;
}

static void keep_best(struct traced_result *best, const struct traced_result *r)
{
	if (r->rps > best->rps)
		*best = *r;
}

int main(int argc, char **argv)
{
	struct traced_service *svc = NULL;
	struct otlp_receiver *rx = NULL;
	char binary[256], url[128];
	int rc = 1;

	if (argc > 1 && strtol(argv[1], NULL, 10) > 0)
		seconds = (int)strtol(argv[1], NULL, 10);
	if (argc > 2 && strtol(argv[2], NULL, 10) > 0)
		rounds = (int)strtol(argv[2], NULL, 10);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (traced_service_fixture("", 0, binary, sizeof(binary))) {
		fprintf(stderr, "bench_tracer_overhead: no httpsvc fixture (make fixtures)\n");
		return 1;
	}
	pin(0); /* the server inherits CPU 0 */
	if (traced_service_start(binary, &svc)) {
		fprintf(stderr, "bench_tracer_overhead: cannot start %s\n", binary);
		return 1;
	}
	pin(1); /* wrk and the agent's side */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", traced_service_port(svc));

	struct poller none = { 0 };
	struct hs_sampler all = { .type = HS_SAMPLER_ALWAYS_ON };
	struct hs_sampler pct = { .type = HS_SAMPLER_RATIO,
				  .threshold = (uint64_t)(0.01 * 18446744073709551616.0) };
	struct traced_result on = { 0 }, one = { 0 }, peer = { 0 }, ex = { 0 }, bro = { 0 }, r;
	pid_t pid = traced_service_pid(svc);
	double base = 0, base2, v, empty = 0, bro_base = 0;
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	run_wrk(url, &none); /* warm up */
	/* The machine is shared: the configurations take turns, and each keeps its best run. */
	for (int round = 0; round < rounds; round++) {
		v = run_wrk(url, &none);
		base = v > base ? v : base;
		v = empty_probes_run(url, binary, pid);
		empty = v > empty ? v : empty;
		memset(&r, 0, sizeof(r));
		if (traced_run(url, binary, pid, 0, &all, &r) == 0)
			keep_best(&on, &r);
		memset(&r, 0, sizeof(r));
		if (traced_run(url, binary, pid, 0, &pct, &r) == 0)
			keep_best(&one, &r);
		memset(&r, 0, sizeof(r));
		if (traced_run(url, binary, pid, 1, &all, &r) == 0)
			keep_best(&peer, &r);
		browser_headers = 1;
		v = run_wrk(url, &none);
		bro_base = v > bro_base ? v : bro_base;
		memset(&r, 0, sizeof(r));
		if (traced_run(url, binary, pid, 0, &pct, &r) == 0)
			keep_best(&bro, &r);
		browser_headers = 0;
	}
	base2 = run_wrk(url, &none);

	printf("wrk -t1 -c16 -d%ds against %s /hello (server on CPU 0, wrk and agent on CPU 1),\n"
	       "best of %d interleaved rounds:\n", seconds, binary, rounds);
	printf("  untraced:                           %9.0f req/s   1.000\n", base);
	printf("  two empty probes at the jbe's:      %9.0f req/s   %.3f\n", empty, empty / base);
	printf("  traced 100%%, jbe placement:         %9.0f req/s   %.3f\n", on.rps, on.rps / base);
	printf("  traced 1%%,   jbe placement:         %9.0f req/s   %.3f\n", one.rps, one.rps / base);
	printf("  traced 100%%, symbol+RET placement:  %9.0f req/s   %.3f\n", peer.rps,
	       peer.rps / base);
	printf("  untraced, one more run:             %9.0f req/s   %.3f\n", base2, base2 / base);
	printf("  cost per request, from req/s: %.2f us at 100%% (jbe), %.2f us at 1%% (jbe), "
	       "%.2f us at 100%% (symbol+RET), %.2f us for two empty probes\n",
	       1e6 / on.rps - 1e6 / base, 1e6 / one.rps - 1e6 / base, 1e6 / peer.rps - 1e6 / base,
	       1e6 / empty - 1e6 / base);
	if (stats_fd >= 0)
		printf("  kernel time in the programs per request: start %.0f ns + end %.0f ns at 100%%, "
		       "%.0f + %.0f ns at 1%% (symbol+RET: %.0f + %.0f ns; an empty program: %.0f ns "
		       "a run)\n", on.start_ns, on.end_ns, one.start_ns, one.end_ns, peer.start_ns,
		       peer.end_ns, empty_ns);
	printf("  with a browser's %zu request headers: untraced %.0f req/s, traced 1%% %.0f req/s "
	       "%.3f", N_BROWSER_HEADERS, bro_base, bro.rps, bro_base > 0 ? bro.rps / bro_base : 0);
	if (stats_fd >= 0)
		printf(" (kernel time start %.0f + end %.0f ns)", bro.start_ns, bro.end_ns);
	printf("\n");
	printf("  drops (ring buffer, in flight): %llu at 100%%, %llu at 1%%\n",
	       (unsigned long long)on.drops, (unsigned long long)one.drops);
	printf("  agent side, ring buffer -> otlp_span: %.0f spans per CPU-second\n",
	       on.spans_per_cpu_s);

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
			       ex.rps / base);
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
	if (stats_fd >= 0)
		close(stats_fd);
	rc = 0;
	traced_service_free(svc);
	curl_global_cleanup();
	return rc;
}
