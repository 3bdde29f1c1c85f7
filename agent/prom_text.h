/* Writing Prometheus text for values the registry does not hold: histograms whose
 * buckets were counted elsewhere (in the kernel, in the exporter). */
#ifndef AUTOTRACE_AGENT_PROM_TEXT_H
#define AUTOTRACE_AGENT_PROM_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* A growing text buffer the caller frees (data). */
struct prom_text {
	char *data;
	size_t len, cap;
};

int prom_text_appendf(struct prom_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* HELP and TYPE lines of a histogram family. */
int prom_text_histogram_header(struct prom_text *t, const char *family, const char *help);
/* One series: `labels` is "" or `a="x",b="y"` (already safe); `buckets` per bucket
 * (n_bounds + 1 of them, the last +Inf), written cumulative. */
int prom_text_histogram_series(struct prom_text *t, const char *family, const char *labels,
			       const double *bounds, size_t n_bounds, const uint64_t *buckets,
			       uint64_t count, double sum);

#endif
