/* OTLP/HTTP JSON encoding of spans, per the OTLP JSON mapping: camelCase field names,
 * trace and span ids as lowercase hex (not base64), 64-bit integers as decimal
 * strings, enums as integers, zero values left out. One ResourceSpans, one ScopeSpans
 * ("autotrace"), as the protobuf encoder writes. */
#ifndef AUTOTRACE_OTLP_ENCODE_JSON_H
#define AUTOTRACE_OTLP_ENCODE_JSON_H

#include <stddef.h>

#include "lib/otlp/buf.h"
#include "lib/otlp/resource_group.h"
#include "lib/otlp/span.h"

/* Appends the request for spans[0..n) to out. scope_version may be NULL or empty.
 * Returns 0 or -ENOMEM (out keeps its previous length). */
int otlp_encode_json(const struct otlp_resource *res, const char *scope_version,
		     const struct otlp_span *spans, size_t n, struct otlp_buf *out);

/* The same with one ResourceSpans per group that has spans (the first group's always):
 * lib/otlp/resource_group.h. n_groups 0 puts every span under groups[0]. */
int otlp_encode_json_groups(const struct otlp_resource_group *groups, size_t n_groups,
			    const char *scope_version, const struct otlp_span *spans, size_t n,
			    struct otlp_buf *out);

#endif
