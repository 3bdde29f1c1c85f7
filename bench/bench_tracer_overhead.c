/* What tracing costs a Go HTTP server: wrk (-t1 -c16) against the hello handler of
 * tests/fixtures/go/httpsvc, the server pinned to CPU 0 and wrk plus this program (the
 * agent's side: polling the ring buffer, building spans) to CPU 1. Requests per second
 * untraced, traced at 100% and 1% with this tracer's placement (emulated jbe probes),
 * and at 100% with the placement other eBPF Go tracers use (ServeHTTP's first
 * instruction and its RETs, single-stepped), each as a ratio of the untraced rate
 * measured in the same run (untraced again at the end shows the drift). Then the
 * agent's side: spans per CPU-second from the ring buffer to otlp_span, and from the
 * ring buffer through the exporter to the real OTLP receiver.
 * Usage: bench_tracer_overhead [seconds per run, default 5] [rounds, default 3] */
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
#include "agent/tracer.h"
#include "lib/otlp/exporter.h"
#include "tests/support/otlp_receiver.h"
#include "tests/support/traced_service.h"

static int seconds = 5;
static int rounds = 3;

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
	struct tracer *tracer;       /* either */
	struct probe_loader *loader; /* or */
};

static void poll_once(struct poller *p)
{
	if (p->tracer)
		tracer_poll(p->tracer);
	else if (p->loader)
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
		dup2(fd, STDOUT_FILENO);
		execlp("wrk", "wrk", "-t1", "-c16", "-d", dur, url, (char *)NULL);
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
static void count_span(void *ud, const struct otlp_span *span)
{
	(void)ud;
	(void)span;
	built++;
}

static struct otlp_span scratch;
static int build_record(void *ud, const void *data, size_t size)
{
	(void)ud;
	if (span_builder_build(data, size, 0, &scratch) == 0)
		built++;
	return 0;
}

static struct otlp_exporter *exporter;
static void export_span(void *ud, const struct otlp_span *span)
{
	(void)ud;
	built++;
	otlp_exporter_enqueue(exporter, span);
}

static double traced(const char *url, enum tracer_sampler_type type, double ratio,
		     const char *exe, tracer_span_fn fn, double *ret_spans_per_cpu_s)
{
	struct tracer_opts o = { .sampler = { .type = type, .ratio = ratio },
				 .targets.executable = exe, .on_span = fn };
	struct poller p = { 0 };
	struct tracer_stats st;
	double rps, cpu0;

	if (tracer_new(&o, &p.tracer) || tracer_scan(p.tracer))
		return -1;
	tracer_get_stats(p.tracer, &st);
	if (st.processes != 1) {
		tracer_free(p.tracer);
		return -1;
	}
	built = 0;
	cpu0 = cpu_seconds();
	rps = run_wrk(url, &p);
	if (ret_spans_per_cpu_s)
		*ret_spans_per_cpu_s = built / (cpu_seconds() - cpu0);
	tracer_get_stats(p.tracer, &st);
	if (st.ringbuf_drops || st.inflight_drops)
		printf("  (drops: ring buffer %llu, in flight %llu)\n",
		       (unsigned long long)st.ringbuf_drops, (unsigned long long)st.inflight_drops);
	tracer_free(p.tracer);
	return rps;
}

static double traced_peer_placement(const char *url, const char *binary, pid_t pid)
{
	struct probe_loader_opts lo = { .on_record = build_record };
	struct hs_sampler on = { .type = HS_SAMPLER_ALWAYS_ON };
	struct probe_point entry, rets[PROBE_MAX_RETS];
	struct probe_attachment *a = NULL;
	struct server_probe_plan plan;
	struct go_binary *gb = NULL;
	struct poller p = { 0 };
	struct go_func fn;
	size_t nrets = 0;
	uint64_t offs[PROBE_MAX_RETS];
	double rps = -1;
	char exe[64];

	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (go_binary_open(binary, NULL, &gb) || server_probes_plan(gb, &plan) ||
	    go_binary_entry_point(gb, SERVER_PROBES_START_FUNC, &entry) ||
	    go_symtab_lookup(go_binary_symtab(gb), SERVER_PROBES_START_FUNC, &fn) ||
	    go_binary_ret_points(gb, SERVER_PROBES_START_FUNC, rets, PROBE_MAX_RETS, &nrets))
		goto out;
	for (size_t i = 0; i < nrets; i++)
		offs[i] = rets[i].file_offset;
	if (probe_loader_new(&lo, &p.loader) ||
	    probe_loader_set_offsets(p.loader, 0, &plan.offsets) ||
	    probe_loader_set_sampler(p.loader, &on))
		goto out;
	struct probe_attach_spec spec = { .pid = pid, .binary_path = exe,
					  .start_offset = entry.file_offset -
							  (entry.vaddr - fn.addr) };
	if (probe_loader_attach_at_symbol_and_rets(p.loader, &spec, offs, nrets, &a))
		goto out;
	built = 0;
	rps = run_wrk(url, &p);
out:
	probe_attachment_free(a);
	probe_loader_free(p.loader);
	go_binary_free(gb);
	return rps;
}

int main(int argc, char **argv)
{
	struct traced_service *svc = NULL;
	struct otlp_receiver *rx = NULL;
	char binary[256], url[128];
	const char *exe;
	double base, on, one, peer, base2, per_cpu = 0, export_per_cpu = 0, rps_export;
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
	exe = strrchr(binary, '/') ? strrchr(binary, '/') + 1 : binary;
	pin(0); /* the server inherits CPU 0 */
	if (traced_service_start(binary, &svc)) {
		fprintf(stderr, "bench_tracer_overhead: cannot start %s\n", binary);
		return 1;
	}
	pin(1); /* wrk and the agent's side */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", traced_service_port(svc));

	struct poller none = { 0 };
	double cpu_rate;

	run_wrk(url, &none); /* warm up */
	base = on = one = peer = base2 = 0;
	/* The machine is shared: the configurations take turns, and each keeps its best run. */
	for (int round = 0; round < rounds; round++) {
		double v;

		v = run_wrk(url, &none);
		base = v > base ? v : base;
		v = traced(url, TRACER_SAMPLER_ALWAYS_ON, 1, exe, count_span, &cpu_rate);
		if (v > on) {
			on = v;
			per_cpu = cpu_rate;
		}
		v = traced(url, TRACER_SAMPLER_TRACEIDRATIO, 0.01, exe, count_span, NULL);
		one = v > one ? v : one;
		v = traced_peer_placement(url, binary, traced_service_pid(svc));
		peer = v > peer ? v : peer;
	}
	base2 = run_wrk(url, &none);

	printf("wrk -t1 -c16 -d%ds against %s /hello (server on CPU 0, wrk and agent on CPU 1),\n"
	       "best of %d interleaved rounds:\n", seconds, binary, rounds);
	printf("  untraced:                         %9.0f req/s   1.000\n", base);
	printf("  traced 100%% (jbe placement):      %9.0f req/s   %.3f\n", on, on / base);
	printf("  traced 1%%   (jbe placement):      %9.0f req/s   %.3f\n", one, one / base);
	printf("  traced 100%% (symbol+RET placement): %7.0f req/s   %.3f\n", peer, peer / base);
	printf("  untraced, one more run:           %9.0f req/s   %.3f\n", base2, base2 / base);
	printf("  cost per traced request at 100%%: %.2f us (jbe) vs %.2f us (symbol+RET)\n",
	       1e6 / on - 1e6 / base, 1e6 / peer - 1e6 / base);
	printf("  agent side, ring buffer -> otlp_span: %.0f spans per CPU-second\n", per_cpu);

	if (otlp_receiver_start(0, &rx) == 0) {
		struct otlp_exporter_options eo = { .queue_capacity = 65536, .max_batch = 512,
						    .max_delay_ms = 200 };
		struct otlp_exporter_config ec = { .endpoint = otlp_receiver_endpoint(rx) };
		struct otlp_exporter_stats es;
		struct otlp_shutdown_report rep;

		if (otlp_exporter_new(&eo, &ec, &exporter) == 0) {
			rps_export = traced(url, TRACER_SAMPLER_ALWAYS_ON, 1, exe, export_span,
					    &export_per_cpu);
			otlp_exporter_shutdown(exporter, 5000, &rep);
			otlp_exporter_get_stats(exporter, &es);
			printf("  agent side, ring buffer -> OTLP/HTTP protobuf to the receiver: %.0f spans "
			       "per CPU-second (%llu exported, app at %.3f of untraced while exporting)\n",
			       export_per_cpu, (unsigned long long)es.spans_exported,
			       rps_export / base);
			otlp_exporter_free(exporter);
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
