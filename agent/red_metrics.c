#include "agent/red_metrics.h"

#include <errno.h>
#include <stdio.h>

#define FAMILY "http_server_request_duration_seconds"

/* A method as a label value: the kernel reports it from a bounded copy of the
 * request, so anything odd is kept out of the exposition. */
static void method_label(const char *in, char *out, size_t size)
{
	size_t i = 0;

	for (; in[i] && i + 1 < size && i < 15; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? in[i] : '_';
	out[i] = '\0';
	if (i == 0)
		snprintf(out, size, "_OTHER");
}

int red_metrics_format(const struct red_series *series, size_t n, const double *bounds,
		       size_t n_bounds, struct prom_text *out)
{
	int rc;

	if (n_bounds + 1 > sizeof(series[0].buckets) / sizeof(series[0].buckets[0]))
		return -EINVAL;
	rc = prom_text_histogram_header(out, FAMILY,
					"Duration of HTTP server requests, every request the probes "
					"saw, sampled or not.");
	for (size_t i = 0; i < n && rc == 0; i++) {
		char method[16], labels[96];
		method_label(series[i].method, method, sizeof(method));
		snprintf(labels, sizeof(labels),
			 "http_request_method=\"%s\",http_response_status_code=\"%u\"", method,
			 series[i].status_code);
		rc = prom_text_histogram_series(out, FAMILY, labels, bounds, n_bounds, series[i].buckets,
						series[i].count, series[i].sum_seconds);
	}
	return rc;
}
