/* Updating and reading back series values: counter increments, gauge sets and adds,
 * histogram observations, with or without label values. */
#include "lib/metrics/registry.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>

#include "lib/metrics/series.h"

/* A counter's whole increments below this go to its integer part, exactly. */
#define EXACT_INTEGER_LIMIT 9007199254740992.0 /* 2^53 */

static bool counter_delta_valid(double delta)
{
	return delta >= 0 && isfinite(delta);
}

static void series_counter_add(struct metrics_series *s, double delta)
{
	if (delta >= 1 && delta < EXACT_INTEGER_LIMIT && delta == floor(delta))
		atomic_fetch_add_explicit(&s->count, (uint64_t)delta, memory_order_relaxed);
	else if (delta > 0)
		metrics_atomic_add_double(&s->value_bits, delta);
}

static void series_observe(const struct metrics_family *family, struct metrics_series *s,
			   double value)
{
	size_t lo = 0, hi = family->n_buckets;

	if (isnan(value))
		return;
	/* The first bucket whose upper bound is >= value ("le"); n_buckets is +Inf. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (value <= family->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	atomic_fetch_add_explicit(&s->buckets[lo], 1, memory_order_relaxed);
	metrics_atomic_add_double(&s->value_bits, value);
}

void metrics_counter_inc(struct metrics_counter *counter)
{
	metrics_counter_add(counter, 1);
}

void metrics_counter_add(struct metrics_counter *counter, double delta)
{
	struct metrics_series *s = metrics_family_only_series(&counter->family);

	if (s && counter_delta_valid(delta))
		series_counter_add(s, delta);
}

void metrics_gauge_set(struct metrics_gauge *gauge, double value)
{
	struct metrics_series *s = metrics_family_only_series(&gauge->family);

	if (s)
		atomic_store_explicit(&s->value_bits, metrics_double_to_bits(value), memory_order_relaxed);
}

void metrics_gauge_add(struct metrics_gauge *gauge, double delta)
{
	struct metrics_series *s = metrics_family_only_series(&gauge->family);

	if (s)
		metrics_atomic_add_double(&s->value_bits, delta);
}

void metrics_histogram_observe(struct metrics_histogram *histogram, double value)
{
	struct metrics_series *s = metrics_family_only_series(&histogram->family);

	if (s)
		series_observe(&histogram->family, s, value);
}

int metrics_counter_add_labels(struct metrics_counter *counter, const char *const *values,
			       double delta)
{
	struct metrics_series *s;
	int r;

	if (!counter_delta_valid(delta))
		return -EINVAL;
	r = metrics_family_series(&counter->family, values, &s);
	if (r < 0)
		return r;
	series_counter_add(s, delta);
	return 0;
}

int metrics_gauge_set_labels(struct metrics_gauge *gauge, const char *const *values,
			     double value)
{
	struct metrics_series *s;
	int r = metrics_family_series(&gauge->family, values, &s);

	if (r < 0)
		return r;
	atomic_store_explicit(&s->value_bits, metrics_double_to_bits(value), memory_order_relaxed);
	return 0;
}

int metrics_gauge_add_labels(struct metrics_gauge *gauge, const char *const *values,
			     double delta)
{
	struct metrics_series *s;
	int r = metrics_family_series(&gauge->family, values, &s);

	if (r < 0)
		return r;
	metrics_atomic_add_double(&s->value_bits, delta);
	return 0;
}

int metrics_histogram_observe_labels(struct metrics_histogram *histogram,
				     const char *const *values, double value)
{
	struct metrics_series *s;
	int r = metrics_family_series(&histogram->family, values, &s);

	if (r < 0)
		return r;
	series_observe(&histogram->family, s, value);
	return 0;
}

int metrics_counter_get(struct metrics_counter *counter, const char *const *values,
			double *ret_value)
{
	struct metrics_series *s;
	int r = metrics_family_existing_series(&counter->family, values, &s);

	if (r < 0)
		return r;
	*ret_value = metrics_series_value(&counter->family, s);
	return 0;
}

int metrics_gauge_get(struct metrics_gauge *gauge, const char *const *values,
		      double *ret_value)
{
	struct metrics_series *s;
	int r = metrics_family_existing_series(&gauge->family, values, &s);

	if (r < 0)
		return r;
	*ret_value = metrics_series_value(&gauge->family, s);
	return 0;
}

int metrics_histogram_get(struct metrics_histogram *histogram, const char *const *values,
			  uint64_t *ret_count, double *ret_sum)
{
	struct metrics_series *s;
	uint64_t count = 0;
	int r = metrics_family_existing_series(&histogram->family, values, &s);

	if (r < 0)
		return r;
	for (size_t i = 0; i <= histogram->family.n_buckets; i++)
		count += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
	*ret_count = count;
	*ret_sum = metrics_series_value(&histogram->family, s);
	return 0;
}

uint64_t metrics_counter_overflow(const struct metrics_counter *counter)
{
	return atomic_load(&counter->family.overflow);
}

uint64_t metrics_gauge_overflow(const struct metrics_gauge *gauge)
{
	return atomic_load(&gauge->family.overflow);
}

uint64_t metrics_histogram_overflow(const struct metrics_histogram *histogram)
{
	return atomic_load(&histogram->family.overflow);
}
