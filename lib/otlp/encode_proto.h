/* OTLP/HTTP protobuf encoding of spans: one ExportTraceServiceRequest
 * (opentelemetry.proto.collector.trace.v1) with one ResourceSpans for the resource and
 * one ScopeSpans for the "autotrace" scope. Field numbers are OTLP's (trace.proto,
 * common.proto, resource.proto, trace_service.proto); zero-valued scalars are left out
 * as proto3 does, fields are written in field-number order. */
#ifndef AUTOTRACE_OTLP_ENCODE_PROTO_H
#define AUTOTRACE_OTLP_ENCODE_PROTO_H

#include <stddef.h>

#include "lib/otlp/buf.h"
#include "lib/otlp/resource_group.h"
#include "lib/otlp/span.h"

/* Appends the request for spans[0..n) to out. scope_version may be NULL or empty.
 * Returns 0 or -ENOMEM (out keeps its previous length). */
int otlp_encode_proto(const struct otlp_resource *res, const char *scope_version,
		      const struct otlp_span *spans, size_t n, struct otlp_buf *out);

/* The same with one ResourceSpans per group that has spans (lib/otlp/resource_group.h;
 * the first group's always, so that a request is never empty of resources). n_groups
 * 0 puts every span under groups[0]. */
int otlp_encode_proto_groups(const struct otlp_resource_group *groups, size_t n_groups,
			     const char *scope_version, const struct otlp_span *spans, size_t n,
			     struct otlp_buf *out);

/* The exact size otlp_encode_proto would append. */
size_t otlp_encode_proto_size(const struct otlp_resource *res, const char *scope_version,
			      const struct otlp_span *spans, size_t n);

#endif
