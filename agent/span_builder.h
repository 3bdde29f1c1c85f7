/* A ring-buffer record of bpf/http_server.bpf.c -> an OTLP server span with the HTTP
 * semantic conventions: name = the method, kind SERVER, http.request.method (and
 * http.request.method_original for a method outside the standard ones),
 * url.path (Go's http.Request.URL.Path: as the record has it, or, from a record with
 * the request line's raw target, cut at '?' and decoded), http.response.status_code,
 * server.address and server.port (from the Host header), client.address and
 * client.port (from the peer address), process.pid; status error for 5xx. The record
 * comes from the kernel, but its bytes were read from a traced process: every length
 * is checked and every string made valid UTF-8.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_SPAN_BUILDER_H
#define AUTOTRACE_AGENT_SPAN_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/span.h"

/* Builds the span of the record data[0..size) into ret_span. wall_minus_mono_ns is
 * CLOCK_REALTIME - CLOCK_MONOTONIC, to turn the kernel's timestamps into wall-clock
 * time. -EINVAL when size is not one record's or a length is out of range. */
int span_builder_build(const void *data, size_t size, int64_t wall_minus_mono_ns,
		       struct otlp_span *ret_span);

/* The semconv name of an enum hs_method value ("GET"... "_OTHER"), static. */
const char *span_builder_method_name(unsigned method_id);

/* "host:port", "[v6]:port", "host" -> the host part and the port (0 when absent or not
 * a port). Exposed for the tests. */
void span_builder_split_host_port(const char *s, size_t len, const char **ret_host,
				  size_t *ret_host_len, unsigned *ret_port);

#endif
