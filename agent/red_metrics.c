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

#define CLIENT_FAMILY "http_client_request_duration_seconds"

int red_metrics_client_header(struct prom_text *out)
{
	return prom_text_histogram_header(out, CLIENT_FAMILY,
					  "Duration of HTTP client requests, every call the probes "
					  "saw, sampled or not.");
}

/* A server address as a label value: from a traced process's memory, so only the
 * characters of host names and IP addresses are kept. */
static void address_label(const char *in, char *out, size_t size)
{
	size_t i = 0;

	for (; in[i] && i + 1 < size; i++) {
		char c = in[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '.' || c == '-' || c == ':' || c == '_';

		out[i] = ok ? c : '_';
	}
	out[i] = '\0';
}

int red_metrics_client_series(const struct red_client_series *s, const double *bounds,
			      size_t n_bounds, struct prom_text *out)
{
	char method[16], address[72], labels[256], status[48] = "", port[32] = "", error[32] = "";

	method_label(s->method, method, sizeof(method));
	address_label(s->server_address, address, sizeof(address));
	if (s->status_code)
		snprintf(status, sizeof(status), ",http_response_status_code=\"%u\"", s->status_code);
	if (s->server_port)
		snprintf(port, sizeof(port), ",server_port=\"%u\"", s->server_port);
	if (s->failed)
		snprintf(error, sizeof(error), ",error_type=\"_OTHER\"");
	else if (s->status_code >= 400)
		snprintf(error, sizeof(error), ",error_type=\"%u\"", s->status_code);
	snprintf(labels, sizeof(labels), "http_request_method=\"%s\"%s,server_address=\"%s\"%s%s",
		 method, status, address, port, error);
	return prom_text_histogram_series(out, CLIENT_FAMILY, labels, bounds, n_bounds, s->buckets,
					  s->count, s->sum_seconds);
}
