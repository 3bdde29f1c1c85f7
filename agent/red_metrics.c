#include "agent/red_metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAMILY "http_server_request_duration_seconds"

static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = *cap - *len;
		va_start(ap, fmt);
		n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if (*buf && (size_t)n < room) {
			*len += (size_t)n;
			return 0;
		}
		size_t want = *cap ? *cap * 2 : 4096;
		while (want < *len + (size_t)n + 1)
			want *= 2;
		char *p = realloc(*buf, want);
		if (!p)
			return -ENOMEM;
		*buf = p;
		*cap = want;
	}
}

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
		       size_t n_bounds, char **buf, size_t *len, size_t *cap)
{
	int rc;

	if (n_bounds + 1 > sizeof(series[0].buckets) / sizeof(series[0].buckets[0]))
		return -EINVAL;
	rc = appendf(buf, len, cap,
		     "# HELP " FAMILY " Duration of HTTP server requests, every request the "
		     "probes saw, sampled or not.\n# TYPE " FAMILY " histogram\n");
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct red_series *s = &series[i];
		char method[16], labels[96];
		uint64_t cumulative = 0;

		method_label(s->method, method, sizeof(method));
		snprintf(labels, sizeof(labels),
			 "http_request_method=\"%s\",http_response_status_code=\"%u\"", method,
			 s->status_code);
		for (size_t b = 0; b < n_bounds && rc == 0; b++) {
			cumulative += s->buckets[b];
			rc = appendf(buf, len, cap, FAMILY "_bucket{%s,le=\"%g\"} %llu\n", labels,
				     bounds[b], (unsigned long long)cumulative);
		}
		if (rc == 0)
			rc = appendf(buf, len, cap,
				     FAMILY "_bucket{%s,le=\"+Inf\"} %llu\n" FAMILY "_sum{%s} %.9g\n" FAMILY
				     "_count{%s} %llu\n",
				     labels, (unsigned long long)s->count, labels, s->sum_seconds, labels,
				     (unsigned long long)s->count);
	}
	return rc;
}
