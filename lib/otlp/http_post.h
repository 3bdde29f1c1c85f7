/* One OTLP/HTTP POST over libcurl, on a connection kept alive between calls.
 * The caller must have called curl_global_init. Not thread-safe: one user at a time.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OTLP_HTTP_POST_H
#define AUTOTRACE_OTLP_HTTP_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/buf.h"

struct otlp_http;

struct otlp_http_request {
	const char *url;
	const char *content_type;
	bool gzip; /* body is gzip: sends Content-Encoding: gzip */
	const char *const *headers; /* "Name: value" lines */
	size_t n_headers;
	const void *body;
	size_t len;
	uint32_t timeout_ms; /* whole request, connect included */
	const char *ca_file; /* NULL: the system's CAs */
	const char *cert_file, *key_file; /* client certificate, optional */
	bool insecure_skip_verify;
	/* When set, the request is abandoned once CLOCK_MONOTONIC passes *abort_at_ns
	 * (read atomically while the request runs; 0: no limit). Checked about once a
	 * second while waiting. */
	const uint64_t *abort_at_ns;
};

struct otlp_http_response {
	long status;         /* HTTP status; 0 when none arrived */
	bool has_retry_after;
	char retry_after[64];
	bool body_truncated; /* the body was longer than OTLP_RESPONSE_BODY_MAX */
	const uint8_t *body; /* borrowed from the client until its next post */
	size_t body_len;
	char error[256]; /* transport error text when no response arrived */
};

/* Returns a new client; free with otlp_http_free. 0 or -ENOMEM. */
int otlp_http_new(struct otlp_http **ret_http);
struct otlp_http *otlp_http_free(struct otlp_http *h);

/* Sends the request. 0 when an HTTP response arrived, whatever its status;
 * -ETIMEDOUT, -ECANCELED (abort_at_ns passed), -ECONNREFUSED, -EHOSTUNREACH or -EIO
 * when none did (ret->error says why),
 * -ENOMEM. *ret_response is written either way. */
int otlp_http_post(struct otlp_http *h, const struct otlp_http_request *req,
		   struct otlp_http_response *ret_response);

#endif
