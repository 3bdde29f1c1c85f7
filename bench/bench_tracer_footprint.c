/* What the tracing core holds in memory: RSS of a process that loads the probes
 * (agent/tracer.c) and attaches to 1 and then 5 running Go services (the httpsvc
 * fixture, targeted by name so that no other Go program on the machine is touched),
 * after 1,000 traced requests each; and the time a scan takes with them attached. The
 * baseline is the same process before it loads anything. Printed as MB and as the
 * difference to the baseline. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/tracer.h"
#include "tests/support/traced_service.h"

#define SERVICES 5

static double rss_mb(const char *field)
{
	char line[256];
	double kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, strlen(field)) == 0) {
			kb = strtod(line + strlen(field), NULL);
			break;
		}
	}
	if (f)
		fclose(f);
	return kb / 1024;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t spans;
static int on_span(void *ud, const struct otlp_span *span)
{
	(void)ud;
	(void)span;
	spans++;
	return 0;
}

int main(void)
{
	struct traced_service *svc[SERVICES] = { 0 };
	struct tracer_opts o = { .sampler.type = TRACER_SAMPLER_ALWAYS_ON, .on_span = on_span };
	struct tracer *t = NULL;
	struct tracer_stats st;
	char bin[256];
	double base, loaded, one = 0, five, peak, t0, scan_ms;
	long status;
	int rc = 1;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (traced_service_fixture("", 1, bin, sizeof(bin))) {
		fprintf(stderr, "bench_tracer_footprint: no httpsvc fixtures (make fixtures)\n");
		return 1;
	}
	o.targets.executable = strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin;
	base = rss_mb("VmRSS:");
	if (tracer_new(&o, &t)) {
		fprintf(stderr, "bench_tracer_footprint: cannot load the probes\n");
		goto out;
	}
	loaded = rss_mb("VmRSS:");
	for (int i = 0; i < SERVICES; i++) {
		if (traced_service_start(bin, &svc[i]))
			goto out;
		tracer_scan(t);
		for (int k = 0; k < 1000; k++)
			traced_service_get(svc[i], "/hello", NULL, &status);
		tracer_poll(t);
		if (i == 0)
			one = rss_mb("VmRSS:");
	}
	t0 = now_ms();
	tracer_scan(t);
	scan_ms = now_ms() - t0;
	tracer_poll(t);
	five = rss_mb("VmRSS:");
	peak = rss_mb("VmHWM:");
	tracer_get_stats(t, &st);
	printf("tracing core footprint (%llu processes traced, %llu spans):\n",
	       (unsigned long long)st.processes, (unsigned long long)spans);
	printf("  before loading:            %6.1f MB RSS\n", base);
	printf("  probes loaded:             %6.1f MB RSS  (+%.1f)\n", loaded, loaded - base);
	printf("  1 process traced:          %6.1f MB RSS  (+%.1f)\n", one, one - base);
	printf("  %d processes traced:        %6.1f MB RSS  (+%.1f), peak %.1f MB\n", SERVICES, five,
	       five - base, peak);
	printf("  a scan of /proc with them attached: %.1f ms\n", scan_ms);
	printf("  (RSS counts the ring buffer's mapping: its data pages, mapped once, so\n"
	       "   ringbuf_bytes of it is the kernel's ring, charged once to the cgroup)\n");
	rc = 0;
out:
	tracer_free(t);
	for (int i = 0; i < SERVICES; i++)
		traced_service_free(svc[i]);
	curl_global_cleanup();
	return rc;
}
