#include "tests/support/bench_stats.h"

#include <stdlib.h>
#include <string.h>

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct bench_spread bench_spread_of(const double *v, int n)
{
	struct bench_spread r = { 0, 0, 0 };
	double *s;

	if (n <= 0)
		return r;
	/* A sorted copy, owned here. */
	s = malloc(sizeof(*s) * (size_t)n);
	if (!s)
		return r;
	memcpy(s, v, sizeof(*s) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), bench_cmp_double);
	r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	r.min = s[0];
	r.max = s[n - 1];
	free(s);
	return r;
}

double bench_median(const double *v, int n)
{
	return bench_spread_of(v, n).median;
}
