/* A client record of bpf/http_client.bpf.c -> an OTLP CLIENT span with the HTTP
 * semantic conventions: name = the method, http.request.method (and
 * http.request.method_original), url.full (scheme://host/path?query; Go's URL.User is
 * never read, so no credentials; the values of signature-like query keys are
 * REDACTED), server.address and server.port (the port from the URL, else the scheme's
 * default), http.response.status_code, error.type (the status for 4xx/5xx, "_OTHER"
 * for a call that failed without a response), process.pid; status error for 4xx, 5xx
 * and failures. Every length is checked and every string made valid UTF-8.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_CLIENT_SPAN_BUILDER_H
#define AUTOTRACE_AGENT_CLIENT_SPAN_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/span.h"

/* -EINVAL when size is not a client record's or a length is out of range. */
int client_span_builder_build(const void *data, size_t size, int64_t wall_minus_mono_ns,
			      struct otlp_span *ret_span);

/* url.full from its parts into out[0..size) (NUL-terminated, truncated); returns its
 * length. The query's values of AWSAccessKeyId, Signature, sig and X-Goog-Signature
 * become REDACTED (semconv); user info in host (up to its last '@') is dropped. Exposed
 * for the tests. */
size_t client_span_url_full(const char *scheme, size_t scheme_len, const char *host,
			    size_t host_len, const char *path, size_t path_len, const char *query,
			    size_t query_len, char *out, size_t size);

/* The port of a URL host, else the scheme's default (80 http, 443 https, 0 unknown). */
unsigned client_span_port(const char *scheme, size_t scheme_len, unsigned port_in_host);

#endif
