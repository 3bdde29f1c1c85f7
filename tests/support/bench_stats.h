/* The summaries the benchmarks print over their rounds: the median and the spread of a
 * set of figures. */
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

#endif
