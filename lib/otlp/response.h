/* Parses an OTLP/HTTP response body: on success an ExportTraceServiceResponse (its
 * partial_success.rejected_spans and error_message), on an error status a
 * google.rpc.Status (code, message), in the request's encoding. The body comes from
 * the network: sizes are bounded and anything malformed is refused, never trusted.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OTLP_RESPONSE_H
#define AUTOTRACE_OTLP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/protocol.h"

#define OTLP_RESPONSE_BODY_MAX (64 * 1024)
#define OTLP_RESPONSE_MESSAGE_MAX 256

enum otlp_response_kind {
	OTLP_RESPONSE_EXPORT, /* a 2xx body: ExportTraceServiceResponse */
	OTLP_RESPONSE_STATUS, /* an error body: google.rpc.Status */
};

struct otlp_response {
	bool has_partial_success;
	int64_t rejected_spans; /* clamped to >= 0 */
	int32_t status_code;    /* google.rpc.Code, OTLP_RESPONSE_STATUS only */
	/* error_message or Status.message, truncated, NUL-terminated, control characters
	 * replaced by spaces. */
	char message[OTLP_RESPONSE_MESSAGE_MAX];
};

/* An empty body is a valid, empty message. -EBADMSG: malformed or of the wrong shape;
 * -E2BIG: longer than OTLP_RESPONSE_BODY_MAX; -ENOMEM. */
int otlp_response_parse(const void *body, size_t len, enum otlp_protocol protocol,
			enum otlp_response_kind kind, struct otlp_response *ret_response);

/* Copies at most OTLP_RESPONSE_MESSAGE_MAX - 1 bytes of untrusted text into dst as valid
 * UTF-8 without control characters. */
void otlp_response_copy_message(char dst[OTLP_RESPONSE_MESSAGE_MAX], const char *src,
				size_t len);

#endif
