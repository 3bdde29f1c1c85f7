/* A Prometheus metrics registry: counters, gauges and histograms, each a family with a
 * fixed set of label names whose values are given per update.
 *
 * Errors: functions that can fail return 0 or a negative errno.
 * Ownership: the registry owns every family registered in it; the family handles it
 * hands out are borrowed and stay valid until metrics_registry_free().
 * Threads: updates (inc/add/set/observe) may come from any thread at any time, also
 * during exposition. Values are atomics; finding or creating a labelled series takes
 * the family's mutex. Registration and exposition take the registry's mutex.
 * Bounds: a labelled family holds at most max_series series; an update that would add
 * one more is dropped and counted, per family, in the counter
 * METRICS_OVERFLOW_FAMILY{family="<name>"} of the exposition. Label values longer than
 * METRICS_LABEL_VALUE_MAX bytes are cut, and invalid UTF-8 is replaced by U+FFFD, so a
 * peer-controlled value can neither grow memory without bound nor break the format. */
#ifndef AUTOTRACE_METRICS_REGISTRY_H
#define AUTOTRACE_METRICS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_LABELS 16
#define METRICS_DEFAULT_MAX_SERIES 1000
#define METRICS_LABEL_VALUE_MAX 256
#define METRICS_MAX_BUCKETS 64
#define METRICS_OVERFLOW_FAMILY "autotrace_metrics_series_overflow_total"

struct metrics_registry;
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;

/* What a family is registered with. Names are validated: metric names match
 * [a-zA-Z_][a-zA-Z0-9_]*, counters must end in "_total" and other types must not,
 * no name may end in "_bucket", "_sum" or "_count" (histogram series use them) and
 * label names match [a-zA-Z_][a-zA-Z0-9_]* without a leading "__" ("le" is refused on
 * histograms). help must be non-empty. */
struct metrics_opts {
	const char *name;
	const char *help;
	/* NULL-terminated list of label names, or NULL for a family with one series. */
	const char *const *labels;
	/* Most series a labelled family keeps; 0 means METRICS_DEFAULT_MAX_SERIES. */
	size_t max_series;
	/* Histograms only: finite, strictly increasing upper bounds (+Inf is implied).
	 * NULL means metrics_default_buckets. */
	const double *buckets;
	size_t n_buckets;
};

/* Prometheus' default buckets, 5 ms to 10 s. */
extern const double metrics_default_buckets[];
extern const size_t metrics_default_n_buckets;

/* Read at scrape time by a callback family (e.g. a queue length, a counter kept by
 * another module). Called from the thread that writes the exposition, with the
 * registry's mutex held: it must not register families. */
typedef double (*metrics_read_fn)(void *userdata);

/* Returns a new registry in *ret_registry; free with metrics_registry_free(). */
int metrics_registry_new(struct metrics_registry **ret_registry);
/* Frees the registry and every family in it; accepts NULL; returns NULL. */
struct metrics_registry *metrics_registry_free(struct metrics_registry *registry);

/* Register a family. -EINVAL for an invalid name, label, help or bucket list,
 * -EEXIST when the name (or one of a histogram's derived names) is taken, -ENOMEM.
 * *ret_* is a borrowed handle owned by the registry. */
int metrics_counter_new(struct metrics_registry *registry, const struct metrics_opts *opts,
			struct metrics_counter **ret_counter);
int metrics_gauge_new(struct metrics_registry *registry, const struct metrics_opts *opts,
		      struct metrics_gauge **ret_gauge);
int metrics_histogram_new(struct metrics_registry *registry, const struct metrics_opts *opts,
			  struct metrics_histogram **ret_histogram);

/* Register a family without labels whose value is read by fn at each exposition.
 * A counter's fn must never decrease. Same errors as above (-EINVAL with labels). */
int metrics_counter_fn_new(struct metrics_registry *registry, const struct metrics_opts *opts,
			   metrics_read_fn fn, void *userdata);
int metrics_gauge_fn_new(struct metrics_registry *registry, const struct metrics_opts *opts,
			 metrics_read_fn fn, void *userdata);

/* Updates of a family without labels (they do nothing on a labelled family).
 * A counter ignores negative, NaN and infinite increments. */
void metrics_counter_inc(struct metrics_counter *counter);
void metrics_counter_add(struct metrics_counter *counter, double delta);
void metrics_gauge_set(struct metrics_gauge *gauge, double value);
void metrics_gauge_add(struct metrics_gauge *gauge, double delta);
void metrics_histogram_observe(struct metrics_histogram *histogram, double value);

/* Updates of one series of a labelled family: values holds exactly one value per label
 * name, in registration order. -EINVAL for a NULL value or a family without labels
 * (or a bad counter delta), -ENOSPC when the series would be new and the family is
 * full (the update is dropped and counted), -ENOMEM. */
int metrics_counter_add_labels(struct metrics_counter *counter, const char *const *values,
			       double delta);
int metrics_gauge_set_labels(struct metrics_gauge *gauge, const char *const *values,
			     double value);
int metrics_gauge_add_labels(struct metrics_gauge *gauge, const char *const *values,
			     double delta);
int metrics_histogram_observe_labels(struct metrics_histogram *histogram,
				     const char *const *values, double value);

/* Current values, for tests and for modules that report their own state; values is
 * NULL for a family without labels. -ENOENT when the series does not exist yet. */
int metrics_counter_get(struct metrics_counter *counter, const char *const *values,
			double *ret_value);
int metrics_gauge_get(struct metrics_gauge *gauge, const char *const *values,
		      double *ret_value);
int metrics_histogram_get(struct metrics_histogram *histogram, const char *const *values,
			  uint64_t *ret_count, double *ret_sum);
/* Updates dropped because the family was full. */
uint64_t metrics_counter_overflow(const struct metrics_counter *counter);
uint64_t metrics_gauge_overflow(const struct metrics_gauge *gauge);
uint64_t metrics_histogram_overflow(const struct metrics_histogram *histogram);

#endif
