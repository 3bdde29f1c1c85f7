/* Export headers as OTEL_EXPORTER_OTLP_HEADERS writes them: "name=value" pairs
 * separated by commas, values percent-encoded ("api-key=abc,tenant=a%20b").
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OTLP_HEADERS_H
#define AUTOTRACE_OTLP_HEADERS_H

#include <stddef.h>

#include "lib/otlp/exporter.h"

#define OTLP_HEADERS_MAX 64

/* Returns a new array of *ret_n headers (free with otlp_headers_free); names and values
 * are trimmed of spaces and values percent-decoded. An empty string gives none.
 * -EINVAL: a pair without '=', an empty name, a bad %-escape or a decoded CR, LF or NUL;
 * -E2BIG: more than OTLP_HEADERS_MAX pairs; -ENOMEM. */
int otlp_headers_parse(const char *s, struct otlp_header **ret_headers, size_t *ret_n);
/* Frees an array from otlp_headers_parse. Accepts NULL. */
void otlp_headers_free(struct otlp_header *headers, size_t n);

#endif
