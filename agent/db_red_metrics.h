/* The database/sql calls' RED histogram in the Prometheus text format, under the
 * OpenTelemetry database semantic conventions' name:
 * db_client_operation_duration_seconds{db_system_name (when known), db_operation_name
 * (when known), error_type ("_OTHER" for a call that returned an error)}. The kernel's
 * series (per first word as written) are summed into these labels first, so that no
 * series appears twice. */
#ifndef AUTOTRACE_AGENT_DB_RED_METRICS_H
#define AUTOTRACE_AGENT_DB_RED_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/prom_text.h"

#define DB_RED_METRICS_FAMILY "db_client_operation_duration_seconds"
#define DB_RED_METRICS_MAX_BUCKETS 16

struct db_red_metrics;

/* Returns a new, empty collection in ret. */
int db_red_metrics_new(struct db_red_metrics **ret);
struct db_red_metrics *db_red_metrics_free(struct db_red_metrics *m);

/* Adds one series (n_buckets per-bucket counts, the last +Inf). system and operation
 * may be NULL. 0, -ENOMEM, or -EINVAL for too many buckets. */
int db_red_metrics_add(struct db_red_metrics *m, const char *system, const char *operation,
		       int failed, const uint64_t *buckets, size_t n_buckets, uint64_t count,
		       double sum_seconds);

/* Appends the family (HELP, TYPE, every summed series) on bounds[0..n_bounds). */
int db_red_metrics_format(const struct db_red_metrics *m, const double *bounds,
			  size_t n_bounds, struct prom_text *out);

#endif
