/* Series storage: each family's series in a hash table keyed by their label values,
 * read without a lock, and created on first use up to the family's bound. */
#include "lib/metrics/series.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics/label_value.h"

double metrics_bits_to_double(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

uint64_t metrics_double_to_bits(double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	return bits;
}

void metrics_atomic_add_double(_Atomic uint64_t *target, double delta)
{
	uint64_t old = atomic_load_explicit(target, memory_order_relaxed);
	uint64_t new;

	do {
		new = metrics_double_to_bits(metrics_bits_to_double(old) + delta);
	} while (!atomic_compare_exchange_weak_explicit(target, &old, new, memory_order_relaxed,
							 memory_order_relaxed));
}

double metrics_series_value(const struct metrics_family *family, struct metrics_series *series)
{
	double v = metrics_bits_to_double(atomic_load_explicit(&series->value_bits,
							       memory_order_relaxed));

	if (family->type == METRICS_COUNTER)
		v += (double)atomic_load_explicit(&series->count, memory_order_relaxed);
	return v;
}

static uint64_t hash_values(const char *const *values, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++) {
			h ^= *p;
			h *= 0x100000001b3ULL;
		}
		/* A separator no UTF-8 text contains, so ("ab","c") != ("a","bc"). */
		h ^= 0xff;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct metrics_series *table_find(const struct metrics_family *family, uint64_t hash,
					 const char *const *values)
{
	struct metrics_series *s = atomic_load_explicit(
		&family->table[hash & (family->table_size - 1)], memory_order_acquire);

	for (; s; s = s->hash_next) {
		size_t i;

		if (s->hash != hash)
			continue;
		for (i = 0; i < family->n_labels; i++)
			if (strcmp(s->label_values[i], values[i]) != 0)
				break;
		if (i == family->n_labels)
			return s;
	}
	return NULL;
}

/* Allocates one series with its label values and buckets in a single block, owned by
 * the family (freed in family_free). */
struct metrics_series *metrics_series_alloc(const struct metrics_family *family,
					   const char *const *values)
{
	size_t n_buckets = family->type == METRICS_HISTOGRAM ? family->n_buckets + 1 : 0;
	size_t size = sizeof(struct metrics_series) + family->n_labels * sizeof(char *) +
		      n_buckets * sizeof(_Atomic uint64_t);
	size_t strings = size;
	struct metrics_series *s;
	char *p;

	/* values is NULL only for a family without labels (n_labels 0). */
	for (size_t i = 0; i < family->n_labels; i++)
		size += strlen(values[i]) + 1; // cppcheck-suppress nullPointer
	s = calloc(1, size);
	if (!s)
		return NULL;
	s->label_values = (char **)(s + 1);
	if (n_buckets)
		s->buckets = (_Atomic uint64_t *)(s->label_values + family->n_labels);
	p = (char *)s + strings;
	for (size_t i = 0; i < family->n_labels; i++) {
		size_t len = strlen(values[i]) + 1;

		memcpy(p, values[i], len);
		s->label_values[i] = p;
		p += len;
	}
	atomic_init(&s->count, 0);
	atomic_init(&s->value_bits, metrics_double_to_bits(0.0));
	for (size_t i = 0; i < n_buckets; i++)
		atomic_init(&s->buckets[i], 0);
	return s;
}

/* Finds the series for values, creating it when there is room. *ret_series is
 * borrowed from the family. */
int metrics_family_series(struct metrics_family *family, const char *const *values,
			 struct metrics_series **ret_series)
{
	char clean_buf[METRICS_MAX_LABELS][METRICS_LABEL_VALUE_MAX + 1];
	const char *clean[METRICS_MAX_LABELS];
	struct metrics_series *s;
	bool all_clean = true;
	uint64_t hash;
	size_t n;
	int r = 0;

	if (!values || family->n_labels == 0 || family->read_fn)
		return -EINVAL;
	for (size_t i = 0; i < family->n_labels; i++)
		if (!values[i])
			return -EINVAL;

	hash = hash_values(values, family->n_labels);
	/* The common case, an existing series, without a lock. */
	s = table_find(family, hash, values);
	if (s) {
		*ret_series = s;
		return 0;
	}
	pthread_mutex_lock(&family->lock);
	s = table_find(family, hash, values);
	if (s)
		goto done;

	/* Not found as given: the stored form may be the sanitized one. */
	for (size_t i = 0; i < family->n_labels; i++) {
		clean[i] = values[i];
		if (!metrics_label_value_clean(values[i], METRICS_LABEL_VALUE_MAX)) {
			metrics_label_value_sanitize(values[i], clean_buf[i],
						     sizeof(clean_buf[i]));
			clean[i] = clean_buf[i];
			all_clean = false;
		}
	}
	if (!all_clean) {
		hash = hash_values(clean, family->n_labels);
		s = table_find(family, hash, clean);
		if (s)
			goto done;
	}

	n = atomic_load_explicit(&family->n_series, memory_order_relaxed);
	if (n >= family->max_series) {
		atomic_fetch_add_explicit(&family->overflow, 1, memory_order_relaxed);
		r = -ENOSPC;
		goto done;
	}
	s = metrics_series_alloc(family, clean);
	if (!s) {
		r = -ENOMEM;
		goto done;
	}
	s->hash = hash;
	s->hash_next = atomic_load_explicit(&family->table[hash & (family->table_size - 1)],
					    memory_order_relaxed);
	atomic_store_explicit(&family->table[hash & (family->table_size - 1)], s,
			      memory_order_release);
	family->series[n] = s;
	atomic_store_explicit(&family->n_series, n + 1, memory_order_release);
done:
	pthread_mutex_unlock(&family->lock);
	if (r == 0)
		*ret_series = s;
	return r;
}

/* The single series of a family without labels, or NULL. */
struct metrics_series *metrics_family_only_series(struct metrics_family *family)
{
	if (family->n_labels != 0 || family->read_fn)
		return NULL;
	return family->series[0];
}

/* The existing series for values (NULL for a family without labels), never creating
 * one. Borrowed. */
int metrics_family_existing_series(struct metrics_family *family, const char *const *values,
				   struct metrics_series **ret_series)
{
	struct metrics_series *s;
	char clean_buf[METRICS_MAX_LABELS][METRICS_LABEL_VALUE_MAX + 1];
	const char *clean[METRICS_MAX_LABELS];

	if (family->read_fn)
		return -EINVAL;
	if (family->n_labels == 0) {
		if (values)
			return -EINVAL;
		*ret_series = family->series[0];
		return 0;
	}
	if (!values)
		return -EINVAL;
	for (size_t i = 0; i < family->n_labels; i++) {
		if (!values[i])
			return -EINVAL;
		metrics_label_value_sanitize(values[i], clean_buf[i], sizeof(clean_buf[i]));
		clean[i] = clean_buf[i];
	}
	s = table_find(family, hash_values(clean, family->n_labels), clean);
	if (!s)
		return -ENOENT;
	*ret_series = s;
	return 0;
}
