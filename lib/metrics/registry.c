/* Registration, series lookup and updates. Exposition is in text_format.c. */
#include "lib/metrics/registry.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics/family.h"
#include "lib/metrics/label_value.h"
#include "lib/metrics/names.h"

const double metrics_default_buckets[] = { .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10 };
const size_t metrics_default_n_buckets =
	sizeof(metrics_default_buckets) / sizeof(metrics_default_buckets[0]);

/* A counter's whole increments below this go to its integer part, exactly. */
#define EXACT_INTEGER_LIMIT 9007199254740992.0 /* 2^53 */

double metrics_bits_to_double(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

static uint64_t double_to_bits(double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	return bits;
}

static void atomic_add_double(_Atomic uint64_t *target, double delta)
{
	uint64_t old = atomic_load_explicit(target, memory_order_relaxed);
	uint64_t new;

	do {
		new = double_to_bits(metrics_bits_to_double(old) + delta);
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

/* ---- series lookup ---- */

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
static struct metrics_series *series_alloc(const struct metrics_family *family,
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
	atomic_init(&s->value_bits, double_to_bits(0.0));
	for (size_t i = 0; i < n_buckets; i++)
		atomic_init(&s->buckets[i], 0);
	return s;
}

/* Finds the series for values, creating it when there is room. *ret_series is
 * borrowed from the family. */
static int family_series(struct metrics_family *family, const char *const *values,
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
	s = series_alloc(family, clean);
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
static struct metrics_series *family_only_series(struct metrics_family *family)
{
	if (family->n_labels != 0 || family->read_fn)
		return NULL;
	return family->series[0];
}

/* ---- updates ---- */

static bool counter_delta_valid(double delta)
{
	return delta >= 0 && isfinite(delta);
}

static void series_counter_add(struct metrics_series *s, double delta)
{
	if (delta >= 1 && delta < EXACT_INTEGER_LIMIT && delta == floor(delta))
		atomic_fetch_add_explicit(&s->count, (uint64_t)delta, memory_order_relaxed);
	else if (delta > 0)
		atomic_add_double(&s->value_bits, delta);
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
	atomic_add_double(&s->value_bits, value);
}

void metrics_counter_inc(struct metrics_counter *counter)
{
	metrics_counter_add(counter, 1);
}

void metrics_counter_add(struct metrics_counter *counter, double delta)
{
	struct metrics_series *s = family_only_series(&counter->family);

	if (s && counter_delta_valid(delta))
		series_counter_add(s, delta);
}

void metrics_gauge_set(struct metrics_gauge *gauge, double value)
{
	struct metrics_series *s = family_only_series(&gauge->family);

	if (s)
		atomic_store_explicit(&s->value_bits, double_to_bits(value), memory_order_relaxed);
}

void metrics_gauge_add(struct metrics_gauge *gauge, double delta)
{
	struct metrics_series *s = family_only_series(&gauge->family);

	if (s)
		atomic_add_double(&s->value_bits, delta);
}

void metrics_histogram_observe(struct metrics_histogram *histogram, double value)
{
	struct metrics_series *s = family_only_series(&histogram->family);

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
	r = family_series(&counter->family, values, &s);
	if (r < 0)
		return r;
	series_counter_add(s, delta);
	return 0;
}

int metrics_gauge_set_labels(struct metrics_gauge *gauge, const char *const *values,
			     double value)
{
	struct metrics_series *s;
	int r = family_series(&gauge->family, values, &s);

	if (r < 0)
		return r;
	atomic_store_explicit(&s->value_bits, double_to_bits(value), memory_order_relaxed);
	return 0;
}

int metrics_gauge_add_labels(struct metrics_gauge *gauge, const char *const *values,
			     double delta)
{
	struct metrics_series *s;
	int r = family_series(&gauge->family, values, &s);

	if (r < 0)
		return r;
	atomic_add_double(&s->value_bits, delta);
	return 0;
}

int metrics_histogram_observe_labels(struct metrics_histogram *histogram,
				     const char *const *values, double value)
{
	struct metrics_series *s;
	int r = family_series(&histogram->family, values, &s);

	if (r < 0)
		return r;
	series_observe(&histogram->family, s, value);
	return 0;
}

/* ---- reading back ---- */

/* The existing series for values (NULL for a family without labels), never creating
 * one. Borrowed. */
static int family_existing_series(struct metrics_family *family, const char *const *values,
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

int metrics_counter_get(struct metrics_counter *counter, const char *const *values,
			double *ret_value)
{
	struct metrics_series *s;
	int r = family_existing_series(&counter->family, values, &s);

	if (r < 0)
		return r;
	*ret_value = metrics_series_value(&counter->family, s);
	return 0;
}

int metrics_gauge_get(struct metrics_gauge *gauge, const char *const *values,
		      double *ret_value)
{
	struct metrics_series *s;
	int r = family_existing_series(&gauge->family, values, &s);

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
	int r = family_existing_series(&histogram->family, values, &s);

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

/* ---- registration ---- */

static void family_free(struct metrics_family *family)
{
	if (!family)
		return;
	if (family->series) {
		size_t n = atomic_load(&family->n_series);

		for (size_t i = 0; i < n; i++)
			free(family->series[i]);
	}
	for (size_t i = 0; family->label_names && i < family->n_labels; i++)
		free(family->label_names[i]);
	free(family->label_names);
	free(family->series);
	free(family->table);
	free(family->bounds);
	free(family->name);
	free(family->help);
	pthread_mutex_destroy(&family->lock);
	free(family);
}

static bool name_valid_for_type(const char *name, enum metrics_type type)
{
	static const char *const reserved[] = { "_bucket", "_sum", "_count" };

	if (!metrics_name_valid(name) || strcmp(name, METRICS_OVERFLOW_FAMILY) == 0)
		return false;
	if ((type == METRICS_COUNTER) != metrics_name_has_suffix(name, "_total"))
		return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (metrics_name_has_suffix(name, reserved[i]))
			return false;
	return true;
}

static int count_labels(const struct metrics_opts *opts, enum metrics_type type,
			size_t *ret_n)
{
	size_t n = 0;

	for (; opts->labels && opts->labels[n]; n++) {
		if (n >= METRICS_MAX_LABELS || !metrics_label_name_valid(opts->labels[n]))
			return -EINVAL;
		if (type == METRICS_HISTOGRAM && strcmp(opts->labels[n], "le") == 0)
			return -EINVAL;
		for (size_t j = 0; j < n; j++)
			if (strcmp(opts->labels[j], opts->labels[n]) == 0)
				return -EINVAL;
	}
	*ret_n = n;
	return 0;
}

static int check_buckets(const struct metrics_opts *opts, enum metrics_type type)
{
	if (type != METRICS_HISTOGRAM)
		return opts->buckets || opts->n_buckets ? -EINVAL : 0;
	if (!opts->buckets)
		return opts->n_buckets ? -EINVAL : 0;
	if (opts->n_buckets == 0 || opts->n_buckets > METRICS_MAX_BUCKETS)
		return -EINVAL;
	for (size_t i = 0; i < opts->n_buckets; i++) {
		if (!isfinite(opts->buckets[i]))
			return -EINVAL;
		if (i > 0 && !(opts->buckets[i] > opts->buckets[i - 1]))
			return -EINVAL;
	}
	return 0;
}

static size_t table_size_for(size_t max_series)
{
	size_t size = 1;

	while (size < 2 * max_series)
		size <<= 1;
	return size;
}

/* Builds a family from validated opts; the caller owns the result (family_free). */
static int family_new(const struct metrics_opts *opts, enum metrics_type type, size_t n_labels,
		      struct metrics_family **ret_family)
{
	const double *bounds = opts->buckets ? opts->buckets : metrics_default_buckets;
	size_t n_bounds = opts->buckets ? opts->n_buckets : metrics_default_n_buckets;
	/* Families are allocated as their typed wrapper, whose only member is the family. */
	struct metrics_family *f = calloc(1, sizeof(*f));
	int r = -ENOMEM;

	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->type = type;
	f->n_labels = n_labels;
	f->max_series = n_labels == 0 ? 1 : opts->max_series ? opts->max_series
							     : METRICS_DEFAULT_MAX_SERIES;
	f->name = strdup(opts->name);
	f->help = strdup(opts->help);
	if (!f->name || !f->help)
		goto fail;
	if (n_labels) {
		f->label_names = calloc(n_labels, sizeof(char *));
		if (!f->label_names)
			goto fail;
		for (size_t i = 0; i < n_labels; i++) {
			f->label_names[i] = strdup(opts->labels[i]);
			if (!f->label_names[i])
				goto fail;
		}
	}
	if (type == METRICS_HISTOGRAM) {
		f->n_buckets = n_bounds;
		f->bounds = calloc(n_bounds, sizeof(double));
		if (!f->bounds)
			goto fail;
		memcpy(f->bounds, bounds, n_bounds * sizeof(double));
	}
	f->table_size = table_size_for(f->max_series);
	f->table = calloc(f->table_size, sizeof(*f->table)); /* NULL heads */
	f->series = calloc(f->max_series, sizeof(*f->series));
	if (!f->table || !f->series)
		goto fail;
	atomic_init(&f->n_series, 0);
	atomic_init(&f->overflow, 0);
	if (n_labels == 0) {
		f->series[0] = series_alloc(f, NULL);
		if (!f->series[0])
			goto fail;
		atomic_store(&f->n_series, 1);
	}
	*ret_family = f;
	return 0;
fail:
	family_free(f);
	return r;
}

/* Index where name goes in the sorted families[], or -EEXIST. */
static int registry_slot(const struct metrics_registry *registry, const char *name,
			 size_t *ret_slot)
{
	size_t lo = 0, hi = registry->n_families;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, registry->families[mid]->name);

		if (c == 0)
			return -EEXIST;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*ret_slot = lo;
	return 0;
}

/* Validates opts, builds the family and adds it to the registry, which owns it.
 * *ret_family is borrowed. */
static int registry_add(struct metrics_registry *registry, const struct metrics_opts *opts,
			enum metrics_type type, metrics_read_fn fn, void *userdata,
			struct metrics_family **ret_family)
{
	struct metrics_family *f = NULL;
	size_t n_labels, slot;
	int r;

	if (!registry || !opts || !opts->name || !opts->help || !opts->help[0])
		return -EINVAL;
	if (!name_valid_for_type(opts->name, type))
		return -EINVAL;
	r = count_labels(opts, type, &n_labels);
	if (r < 0)
		return r;
	if (fn && n_labels)
		return -EINVAL;
	r = check_buckets(opts, type);
	if (r < 0)
		return r;
	r = family_new(opts, type, n_labels, &f);
	if (r < 0)
		return r;
	f->read_fn = fn;
	f->read_userdata = userdata;

	pthread_mutex_lock(&registry->lock);
	r = registry_slot(registry, opts->name, &slot);
	if (r < 0)
		goto unlock;
	if (registry->n_families == registry->cap_families) {
		size_t cap = registry->cap_families ? registry->cap_families * 2 : 16;
		struct metrics_family **grown =
			realloc(registry->families, cap * sizeof(*grown));

		if (!grown) {
			r = -ENOMEM;
			goto unlock;
		}
		registry->families = grown;
		registry->cap_families = cap;
	}
	memmove(registry->families + slot + 1, registry->families + slot,
		(registry->n_families - slot) * sizeof(*registry->families));
	registry->families[slot] = f;
	registry->n_families++;
unlock:
	pthread_mutex_unlock(&registry->lock);
	if (r < 0) {
		family_free(f);
		return r;
	}
	*ret_family = f;
	return 0;
}

int metrics_registry_new(struct metrics_registry **ret_registry)
{
	struct metrics_registry *registry = calloc(1, sizeof(*registry));

	if (!registry)
		return -ENOMEM;
	pthread_mutex_init(&registry->lock, NULL);
	*ret_registry = registry;
	return 0;
}

struct metrics_registry *metrics_registry_free(struct metrics_registry *registry)
{
	if (!registry)
		return NULL;
	for (size_t i = 0; i < registry->n_families; i++)
		family_free(registry->families[i]);
	free(registry->families);
	pthread_mutex_destroy(&registry->lock);
	free(registry);
	return NULL;
}

/* The typed handles wrap the family as their only member, so a family pointer is a
 * pointer to its handle. */
int metrics_counter_new(struct metrics_registry *registry, const struct metrics_opts *opts,
			struct metrics_counter **ret_counter)
{
	struct metrics_family *f;
	int r = registry_add(registry, opts, METRICS_COUNTER, NULL, NULL, &f);

	if (r == 0)
		*ret_counter = (struct metrics_counter *)f;
	return r;
}

int metrics_gauge_new(struct metrics_registry *registry, const struct metrics_opts *opts,
		      struct metrics_gauge **ret_gauge)
{
	struct metrics_family *f;
	int r = registry_add(registry, opts, METRICS_GAUGE, NULL, NULL, &f);

	if (r == 0)
		*ret_gauge = (struct metrics_gauge *)f;
	return r;
}

int metrics_histogram_new(struct metrics_registry *registry, const struct metrics_opts *opts,
			  struct metrics_histogram **ret_histogram)
{
	struct metrics_family *f;
	int r = registry_add(registry, opts, METRICS_HISTOGRAM, NULL, NULL, &f);

	if (r == 0)
		*ret_histogram = (struct metrics_histogram *)f;
	return r;
}

int metrics_counter_fn_new(struct metrics_registry *registry, const struct metrics_opts *opts,
			   metrics_read_fn fn, void *userdata)
{
	struct metrics_family *f;

	if (!fn)
		return -EINVAL;
	return registry_add(registry, opts, METRICS_COUNTER, fn, userdata, &f);
}

int metrics_gauge_fn_new(struct metrics_registry *registry, const struct metrics_opts *opts,
			 metrics_read_fn fn, void *userdata)
{
	struct metrics_family *f;

	if (!fn)
		return -EINVAL;
	return registry_add(registry, opts, METRICS_GAUGE, fn, userdata, &f);
}
