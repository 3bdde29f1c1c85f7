#include "tests/support/bench_stats.h"

#include <stdlib.h>
#include <string.h>

/* Rounds looked at, at most. */
#define BENCH_ROUNDS_MAX 256

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

struct bench_spread bench_runs_field(const struct bench_run *runs, int n, enum bench_field f)
{
	double v[BENCH_ROUNDS_MAX];
	int k = 0;

	for (int i = 0; i < n && k < BENCH_ROUNDS_MAX; i++) {
		const struct bench_run *r = &runs[i];

		if (r->rps <= 0 || r->base <= 0)
			continue;
		v[k++] = f == BENCH_RPS ? r->rps : f == BENCH_RATIO ? r->rps / r->base :
								      1e9 / r->rps - 1e9 / r->base;
	}
	return bench_spread_of(v, k);
}

struct bench_spread bench_runs_beyond(const struct bench_run *runs, const struct bench_run *floor,
				      int n)
{
	double v[BENCH_ROUNDS_MAX];
	int k = 0;

	for (int i = 0; i < n && k < BENCH_ROUNDS_MAX; i++) {
		const struct bench_run *r = &runs[i], *f = &floor[i];

		if (r->rps <= 0 || r->base <= 0 || f->rps <= 0 || f->base <= 0)
			continue;
		v[k++] = (1e9 / r->rps - 1e9 / r->base) - (1e9 / f->rps - 1e9 / f->base);
	}
	return bench_spread_of(v, k);
}
