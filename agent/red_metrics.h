/* The RED histogram of every request the probes saw, kept in the kernel per (method,
 * status code), in the Prometheus text format under the OpenTelemetry HTTP semantic
 * conventions' name: http_server_request_duration_seconds{http_request_method,
 * http_response_status_code}. */
#ifndef AUTOTRACE_AGENT_RED_METRICS_H
#define AUTOTRACE_AGENT_RED_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/prom_text.h"

struct red_series {
	char method[16];
	unsigned status_code;
	uint64_t buckets[32]; /* per bucket, not cumulative; the last is +Inf */
	uint64_t count;
	double sum_seconds;
};

/* Appends the family (HELP, TYPE and every series). `bounds` are the finite upper
 * bounds; each series has n_bounds + 1 buckets. 0, -ENOMEM or -EINVAL. */
int red_metrics_format(const struct red_series *series, size_t n, const double *bounds,
		       size_t n_bounds, struct prom_text *out);

/* The client calls' family, http_client_request_duration_seconds{http_request_method,
 * http_response_status_code (absent for a call without a response), server_address,
 * server_port (absent when the URL has none), error_type (the status for 4xx/5xx,
 * _OTHER for a failed call)}: the header once, then each series. */
struct red_client_series {
	const char *method;
	unsigned status_code; /* 0: no response */
	int failed;
	const char *server_address;
	unsigned server_port; /* 0: unknown */
	const uint64_t *buckets; /* n_bounds + 1, per bucket */
	uint64_t count;
	double sum_seconds;
};
int red_metrics_client_header(struct prom_text *out);
int red_metrics_client_series(const struct red_client_series *s, const double *bounds,
			      size_t n_bounds, struct prom_text *out);

#endif
