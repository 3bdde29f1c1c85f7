#include "agent/prom_text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int prom_text_appendf(struct prom_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = t->cap - t->len;
		va_start(ap, fmt);
		n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if (t->data && (size_t)n < room) {
			t->len += (size_t)n;
			return 0;
		}
		size_t want = t->cap ? t->cap * 2 : 4096;
		while (want < t->len + (size_t)n + 1)
			want *= 2;
		char *p = realloc(t->data, want);
		if (!p)
			return -ENOMEM;
		t->data = p;
		t->cap = want;
	}
}

int prom_text_histogram_header(struct prom_text *t, const char *family, const char *help)
{
	return prom_text_appendf(t, "# HELP %s %s\n# TYPE %s histogram\n", family, help, family);
}

int prom_text_histogram_series(struct prom_text *t, const char *family, const char *labels,
			       const double *bounds, size_t n_bounds, const uint64_t *buckets,
			       uint64_t count, double sum)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t cumulative = 0;
	int rc = 0;

	for (size_t b = 0; b < n_bounds && rc == 0; b++) {
		cumulative += buckets[b];
		rc = prom_text_appendf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", family, labels, sep,
				       bounds[b], (unsigned long long)cumulative);
	}
	if (rc == 0)
		rc = prom_text_appendf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", family, labels, sep,
				       (unsigned long long)count);
	if (rc == 0 && labels[0])
		rc = prom_text_appendf(t, "%s_sum{%s} %.9g\n%s_count{%s} %llu\n", family, labels, sum,
				       family, labels, (unsigned long long)count);
	else if (rc == 0)
		rc = prom_text_appendf(t, "%s_sum %.9g\n%s_count %llu\n", family, sum, family,
				       (unsigned long long)count);
	return rc;
}
