/* Internal layout of a registry, shared by registry.c (registration), series.c (series
 * storage), value.c (updates) and text_format.c (exposition). Not for use outside
 * lib/metrics. */
#ifndef AUTOTRACE_METRICS_FAMILY_H
#define AUTOTRACE_METRICS_FAMILY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/metrics/registry.h"

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* One series. Values are atomics so that updates never take a lock; a double is kept
 * as its bit pattern in a uint64_t and changed with compare-and-swap. */
struct metrics_series {
	struct metrics_series *hash_next;
	uint64_t hash;
	/* n_labels sanitized values, in one allocation with the series. */
	char **label_values;
	/* Counter: whole increments go to count (one fetch-add), the rest to value_bits.
	 * Gauge: value_bits only. Histogram: count unused, value_bits holds the sum. */
	_Atomic uint64_t count;
	_Atomic uint64_t value_bits;
	/* Histogram: n_buckets + 1 non-cumulative counts, the last one for +Inf. */
	_Atomic uint64_t *buckets;
};

struct metrics_family {
	enum metrics_type type;
	char *name;
	char *help;
	size_t n_labels;
	char **label_names;
	size_t n_buckets;
	double *bounds;
	size_t max_series;
	/* Serializes inserts into the hash table and series[]. Lookups take no lock:
	 * series are never removed, and an insert publishes a fully built series with a
	 * release store of its chain's head. */
	pthread_mutex_t lock;
	/* series[0..n_series) in creation order; a slot is written before n_series is
	 * released, so exposition reads it without the lock. */
	struct metrics_series **series;
	_Atomic size_t n_series;
	struct metrics_series *_Atomic *table;
	size_t table_size;
	_Atomic uint64_t overflow;
	/* Callback families: read at exposition instead of series. */
	metrics_read_fn read_fn;
	void *read_userdata;
};

struct metrics_counter {
	struct metrics_family family;
};
struct metrics_gauge {
	struct metrics_family family;
};
struct metrics_histogram {
	struct metrics_family family;
};

struct metrics_registry {
	/* Guards families[] (sorted by name) for registration and exposition. */
	pthread_mutex_t lock;
	struct metrics_family **families;
	size_t n_families;
	size_t cap_families;
};

#endif
