/* The summaries the benchmarks print over their rounds: the median and the spread of a
 * set of figures, and of a traced arm's rounds against their baselines and the floor's. */
#ifndef AUTOTRACE_TESTS_SUPPORT_BENCH_STATS_H
#define AUTOTRACE_TESTS_SUPPORT_BENCH_STATS_H

struct bench_spread {
	double median, min, max;
};

/* Over v[0..n) (left as it was); zeros when n <= 0. */
struct bench_spread bench_spread_of(const double *v, int n);
/* The median of v[0..n), 0 when n <= 0 (v left as it was). */
double bench_median(const double *v, int n);
/* qsort's comparison of doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

/* One round of a traced (or bare-probes) arm: its rate and its baseline, the mean of
 * the untraced runs just before and after it. A round that failed has rps <= 0. */
struct bench_run {
	double rps, base;
};
enum bench_field {
	BENCH_RPS,     /* requests a second */
	BENCH_RATIO,   /* rps / base */
	BENCH_COST_NS, /* ns a request beyond the baseline's */
};
/* A field over runs[0..n) that measured something. */
struct bench_spread bench_runs_field(const struct bench_run *runs, int n, enum bench_field f);
/* The cost a request beyond the floor's in the same round (ns), over runs[0..n). */
struct bench_spread bench_runs_beyond(const struct bench_run *runs, const struct bench_run *floor,
				      int n);

#endif
