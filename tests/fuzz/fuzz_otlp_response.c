/* OTLP/HTTP response bodies come from the network: any bytes, in either encoding and for
 * either kind of answer, must parse or be refused without a crash, and what a parse
 * returns must be safe to log. The first input byte picks the encoding (bit 0) and the
 * kind (bit 1); the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/otlp/response.h"
#include "lib/otlp/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otlp_response r;
	enum otlp_protocol protocol;
	enum otlp_response_kind kind;
	size_t len;

	if (size < 1)
		return 0;
	protocol = data[0] & 1 ? OTLP_PROTOCOL_HTTP_JSON : OTLP_PROTOCOL_HTTP_PROTOBUF;
	kind = data[0] & 2 ? OTLP_RESPONSE_STATUS : OTLP_RESPONSE_EXPORT;
	if (otlp_response_parse(data + 1, size - 1, protocol, kind, &r) < 0)
		return 0;

	len = strnlen(r.message, sizeof(r.message));
	if (len == sizeof(r.message))
		abort(); /* not terminated */
	if (r.rejected_spans < 0)
		abort();
	for (size_t i = 0; i < len;) {
		size_t n = utf8_char_len((const unsigned char *)r.message + i, len - i);

		if (n == 0 || (unsigned char)r.message[i] < 0x20)
			abort(); /* invalid UTF-8 or a control character reached the caller */
		i += n;
	}
	return 0;
}
