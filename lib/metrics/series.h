/* Series storage of a family (lib/metrics/family.h): finding, creating and reading
 * series. Internal to lib/metrics. Errors: 0 or a negative errno. Every series is
 * owned by its family; the pointers handed out are borrowed. */
#ifndef AUTOTRACE_METRICS_SERIES_H
#define AUTOTRACE_METRICS_SERIES_H

#include <stdatomic.h>
#include <stdint.h>

#include "lib/metrics/family.h"

/* A double kept as its bit pattern, and back. */
double metrics_bits_to_double(uint64_t bits);
uint64_t metrics_double_to_bits(double d);
/* Adds delta to the double whose bits are *target, with compare-and-swap. */
void metrics_atomic_add_double(_Atomic uint64_t *target, double delta);
/* A series' value: a counter's or gauge's value, a histogram's sum. */
double metrics_series_value(const struct metrics_family *family,
			    struct metrics_series *series);

/* A new series for values (family->n_labels of them; NULL when there are none), its
 * label values and buckets in one block that family_free releases. NULL when out of
 * memory. */
struct metrics_series *metrics_series_alloc(const struct metrics_family *family,
					    const char *const *values);
/* The series for values, created when there is room: -ENOSPC (counted as overflow)
 * when the family is full, -EINVAL for a family without labels or a callback one. */
int metrics_family_series(struct metrics_family *family, const char *const *values,
			  struct metrics_series **ret_series);
/* The single series of a family without labels, or NULL. */
struct metrics_series *metrics_family_only_series(struct metrics_family *family);
/* The existing series for values (NULL for a family without labels), never creating
 * one: -ENOENT when there is none. */
int metrics_family_existing_series(struct metrics_family *family, const char *const *values,
				   struct metrics_series **ret_series);

#endif
