/* Admission cost: AdmissionReviews per second and p50/p99 per review for the webhook's
 * whole path (parse, decide, build the patch, write the response) on one thread, next
 * to a baseline measured in the same run on the same bytes: jansson parsing the review
 * and serializing it again, the least any JSON webhook does. The ratio is what the
 * decision and patch cost on top. Run from the repository root (it reads the webhook
 * fixtures). Usage: bench_admission [iterations per review] */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/bench_stats.h"
#include "tests/support/admission_fixtures.h"
#include "webhook/admission.h"

struct review_case {
	const char *pod, *ns, *what;
};

static const struct review_case cases[] = {
	{ "deployment-pod", "shop", "injected, sidecar" },
	{ "otel-annotated-pod", "otel", "injected, OTel annotations" },
	{ "several-instrumentations-pod", "multi", "skipped, status annotation" },
	{ "not-opted-in-pod", "plain", "unchanged, not opted in" },
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

struct figures {
	double per_s, p50, p99;
};

static void summarize(double *samples, size_t n, double total_us, struct figures *f)
{
	qsort(samples, n, sizeof(double), bench_cmp_double);
	f->per_s = (double)n / (total_us / 1e6);
	f->p50 = samples[n / 2];
	f->p99 = samples[n * 99 / 100];
}

static int run_webhook(const struct webhook_options *o, const struct webhook_lookup *lk,
		       const char *review, size_t n, double *samples, struct figures *f)
{
	double start = now_us();

	for (size_t i = 0; i < n; i++) {
		struct admission_outcome out;
		double t0 = now_us();

		if (webhook_admit(o, lk, review, strlen(review), &out) < 0)
			return -1;
		admission_outcome_clear(&out);
		samples[i] = now_us() - t0;
	}
	summarize(samples, n, now_us() - start, f);
	return 0;
}

static int run_baseline(const char *review, size_t n, double *samples, struct figures *f)
{
	double start = now_us();

	for (size_t i = 0; i < n; i++) {
		double t0 = now_us();
		json_t *v = json_loadb(review, strlen(review), JSON_REJECT_DUPLICATES, NULL);
		char *text = json_dumps(v, JSON_COMPACT);

		if (!v || !text)
			return -1;
		free(text);
		json_decref(v);
		samples[i] = now_us() - t0;
	}
	summarize(samples, n, now_us() - start, f);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	struct fixture_cluster cluster = { 0 };
	struct webhook_lookup lookup;
	struct webhook_options opts;
	double *samples;
	cpu_set_t one;
	int cpu = sched_getcpu();

	if (n < 100)
		n = 100;
	/* One core: the figures are per core, and the machine is shared. */
	CPU_ZERO(&one);
	CPU_SET(cpu < 0 ? 0 : cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);

	cluster.root = fixture_json_load("tests/fixtures/webhook/cluster.json");
	samples = malloc(n * sizeof(double));
	if (!cluster.root || !samples) {
		fprintf(stderr, "bench_admission: run from the repository root\n");
		return 1;
	}
	fixture_cluster_lookup(&cluster, &lookup);
	webhook_options_init(&opts, "ghcr.io/autotrace/agent:default");

	printf("bench_admission: %zu reviews each, one thread pinned to CPU %d\n", n, cpu);
	printf("%-30s %-28s %10s %8s %8s | %10s %8s %8s | %6s %6s\n", "pod", "outcome",
	       "webhook/s", "p50 us", "p99 us", "jansson/s", "p50 us", "p99 us", "x p50",
	       "x rate");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256];
		json_t *pod;
		char *review;
		struct figures w, b;

		snprintf(path, sizeof(path), "tests/fixtures/webhook/pods/%s.json", cases[i].pod);
		pod = fixture_json_load(path);
		review = pod ? fixture_review_new(pod, cases[i].ns, "bench-uid", "CREATE") : NULL;
		if (!review)
			return 1;
		/* Warm up caches and the allocator, then measure the baseline first and the
		 * webhook second on the same bytes. */
		if (run_baseline(review, n / 10, samples, &b) < 0 ||
		    run_webhook(&opts, &lookup, review, n / 10, samples, &w) < 0 ||
		    run_baseline(review, n, samples, &b) < 0 ||
		    run_webhook(&opts, &lookup, review, n, samples, &w) < 0)
			return 1;
		printf("%-30s %-28s %10.0f %8.1f %8.1f | %10.0f %8.1f %8.1f | %6.2f %6.2f\n",
		       cases[i].pod, cases[i].what, w.per_s, w.p50, w.p99, b.per_s, b.p50, b.p99,
		       w.p50 / b.p50, b.per_s / w.per_s);
		free(review);
		json_decref(pod);
	}
	printf("x p50: webhook p50 / baseline p50; x rate: baseline rate / webhook rate "
	       "(1.00 = the decision and patch cost nothing on top of parse + serialize)\n");
	free(samples);
	json_decref(cluster.root);
	return 0;
}
