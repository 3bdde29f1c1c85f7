/* Registration: validating a family's name, labels and buckets, building it, and
 * keeping the registry's families sorted by name. Series storage is in series.c,
 * updates in value.c, exposition in text_format.c. */
#include "lib/metrics/registry.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics/names.h"
#include "lib/metrics/series.h"

const double metrics_default_buckets[] = { .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10 };
const size_t metrics_default_n_buckets =
	sizeof(metrics_default_buckets) / sizeof(metrics_default_buckets[0]);

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
		f->series[0] = metrics_series_alloc(f, NULL);
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
