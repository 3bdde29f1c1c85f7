/* Exposition of a registry in the Prometheus text format, version 0.0.4:
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 * Families come sorted by name, each with # HELP and # TYPE lines; a labelled family
 * with no series yet shows only those two lines. Histograms show cumulative
 * _bucket{le="..."} series ending in le="+Inf", then _sum and _count. The per-family
 * overflow counter METRICS_OVERFLOW_FAMILY comes last. */
#ifndef AUTOTRACE_METRICS_TEXT_FORMAT_H
#define AUTOTRACE_METRICS_TEXT_FORMAT_H

#include <stddef.h>
#include <stdio.h>

#include "lib/metrics/registry.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes the exposition to out. 0, or -EIO when writing failed. */
int metrics_registry_write(struct metrics_registry *registry, FILE *out);

/* The exposition as a new NUL-terminated string in *ret_text (free() it), its length
 * in *ret_len. 0 or -ENOMEM. */
int metrics_registry_format(struct metrics_registry *registry, char **ret_text,
			    size_t *ret_len);

/* Building blocks, exposed for tests. */
/* Writes value as the text format spells it: shortest form that reads back exactly,
 * "+Inf", "-Inf", "NaN". buf needs 32 bytes. */
void metrics_format_value(double value, char *buf, size_t size);
/* Escapes a label value (\\, \", \n) or help text (\\, \n) onto out. */
void metrics_write_label_value(FILE *out, const char *value);
void metrics_write_help(FILE *out, const char *help);

#endif
