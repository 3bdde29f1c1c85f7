/* Cost of a metrics update, the choice between atomics and a mutex measured: ns per
 * update of each kind of family, on one thread and on two threads hitting the same
 * series, next to the baseline measured in the same run: a mutex-protected double add
 * (what a mutex-per-family registry would pay for every update). Also the time of one
 * exposition of about 100 series.
 * Usage: bench_metrics [updates per thread, default 5000000] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/metrics/registry.h"
#include "lib/metrics/text_format.h"

enum op {
	OP_MUTEX_BASELINE,
	OP_COUNTER_INC,
	OP_COUNTER_ADD_FRACTION,
	OP_GAUGE_SET,
	OP_HISTOGRAM_OBSERVE,
	OP_COUNTER_LABELS,
	OP_HISTOGRAM_LABELS,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"baseline: mutex + double add",
	"counter inc (no labels)",
	"counter add 0.5 (no labels)",
	"gauge set (no labels)",
	"histogram observe (no labels)",
	"counter add, 3 labels",
	"histogram observe, 1 label",
};

struct bench {
	struct metrics_counter *counter;
	struct metrics_counter *labelled;
	struct metrics_gauge *gauge;
	struct metrics_histogram *histogram;
	struct metrics_histogram *histogram_labelled;
	pthread_mutex_t lock;
	double locked_value;
	long n;
	enum op op;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	struct bench *b = arg;
	const char *labels[] = { "GET", "/api/orders", "200" };
	const char *route[] = { "/api/orders" };

	for (long i = 0; i < b->n; i++) {
		switch (b->op) {
		case OP_MUTEX_BASELINE:
			pthread_mutex_lock(&b->lock);
			b->locked_value += 1;
			pthread_mutex_unlock(&b->lock);
			break;
		case OP_COUNTER_INC:
			metrics_counter_inc(b->counter);
			break;
		case OP_COUNTER_ADD_FRACTION:
			metrics_counter_add(b->counter, 0.5);
			break;
		case OP_GAUGE_SET:
			metrics_gauge_set(b->gauge, (double)i);
			break;
		case OP_HISTOGRAM_OBSERVE:
			metrics_histogram_observe(b->histogram, (double)(i & 1023) / 1000.0);
			break;
		case OP_COUNTER_LABELS:
			metrics_counter_add_labels(b->labelled, labels, 1);
			break;
		case OP_HISTOGRAM_LABELS:
			metrics_histogram_observe_labels(b->histogram_labelled, route,
							 (double)(i & 1023) / 1000.0);
			break;
		case OP_COUNT:
			break;
		}
	}
	return NULL;
}

/* ns per update, all threads' updates counted. */
static double run(struct bench *b, enum op op, int threads)
{
	pthread_t t[2];
	double start;

	b->op = op;
	start = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, b);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return (now_s() - start) * 1e9 / ((double)b->n * threads);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5000000;
	struct metrics_registry *reg;
	struct bench b = { .n = n };
	double base1, base2, start, per_scrape;
	char *text;
	size_t len;
	int scrapes = 0;

	if (n <= 0 || metrics_registry_new(&reg) < 0)
		return 2;
	pthread_mutex_init(&b.lock, NULL);
	if (metrics_counter_new(reg, &(struct metrics_opts){ .name = "c_total", .help = "c" },
				&b.counter) < 0 ||
	    metrics_counter_new(reg,
				&(struct metrics_opts){
					.name = "l_total",
					.help = "l",
					.labels = (const char *[]){ "method", "route", "code", NULL },
				},
				&b.labelled) < 0 ||
	    metrics_gauge_new(reg, &(struct metrics_opts){ .name = "g", .help = "g" }, &b.gauge) <
		    0 ||
	    metrics_histogram_new(reg, &(struct metrics_opts){ .name = "h", .help = "h" },
				  &b.histogram) < 0 ||
	    metrics_histogram_new(reg,
				  &(struct metrics_opts){
					  .name = "hl",
					  .help = "hl",
					  .labels = (const char *[]){ "route", NULL },
				  },
				  &b.histogram_labelled) < 0)
		return 1;
	/* Fill the labelled families to ~100 series so lookups walk a realistic table. */
	for (int i = 0; i < 60; i++) {
		char code[8];

		snprintf(code, sizeof(code), "%d", 200 + i);
		metrics_counter_add_labels(b.labelled, (const char *[]){ "GET", "/x", code }, 1);
	}
	for (int i = 0; i < 3; i++) {
		char r[16];

		snprintf(r, sizeof(r), "/r%d", i);
		metrics_histogram_observe_labels(b.histogram_labelled, (const char *[]){ r }, 0.1);
	}

	printf("bench_metrics: %ld updates per thread; 2 threads update the same series\n", n);
	printf("%-32s %10s %10s | %8s %8s\n", "update", "ns 1 thr", "ns 2 thr", "x 1 thr",
	       "x 2 thr");
	base1 = run(&b, OP_MUTEX_BASELINE, 1);
	base2 = run(&b, OP_MUTEX_BASELINE, 2);
	for (int op = 0; op < OP_COUNT; op++) {
		double t1 = op == 0 ? base1 : run(&b, op, 1);
		double t2 = op == 0 ? base2 : run(&b, op, 2);

		printf("%-32s %10.1f %10.1f | %8.2f %8.2f\n", op_names[op], t1, t2, t1 / base1,
		       t2 / base2);
	}
	printf("x: ns per update / baseline ns per update with as many threads\n");

	start = now_s();
	do {
		if (metrics_registry_format(reg, &text, &len) < 0)
			return 1;
		free(text);
		scrapes++;
	} while (now_s() - start < 1.0);
	per_scrape = (now_s() - start) / scrapes * 1e6;
	metrics_registry_format(reg, &text, &len);
	printf("exposition: %.1f us per scrape of %zu bytes (%.1f ns per byte)\n", per_scrape, len,
	       per_scrape * 1000 / (double)len);
	free(text);
	metrics_registry_free(reg);
	return 0;
}
