#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/otlp/protowire.h"
#include "lib/otlp/response.h"

static int parse(const void *b, size_t n, enum otlp_protocol p, enum otlp_response_kind k,
		 struct otlp_response *r)
{
	return otlp_response_parse(b, n, p, k, r);
}

static void protobuf_partial_success_is_read(void **state)
{
	uint8_t inner[64], body[80], *p;
	size_t inner_len;
	struct otlp_response r;

	p = pb_put_tag(inner, 1, PB_WT_VARINT);
	p = pb_put_varint(p, 300);
	p = pb_put_bytes(p, 2, "too old", 7);
	inner_len = (size_t)(p - inner);
	p = pb_put_bytes(body, 1, inner, inner_len);
	p = pb_put_tag(p, 9, PB_WT_I32); /* a field from a later OTLP: skipped */
	p = pb_put_fixed32(p, 7);

	assert_int_equal(parse(body, (size_t)(p - body), OTLP_PROTOCOL_HTTP_PROTOBUF,
			       OTLP_RESPONSE_EXPORT, &r), 0);
	assert_true(r.has_partial_success);
	assert_int_equal(r.rejected_spans, 300);
	assert_string_equal(r.message, "too old");
}

static void an_empty_body_means_full_success(void **state)
{
	struct otlp_response r;

	memset(&r, 0x55, sizeof(r));
	assert_int_equal(parse("", 0, OTLP_PROTOCOL_HTTP_PROTOBUF, OTLP_RESPONSE_EXPORT, &r), 0);
	assert_false(r.has_partial_success);
	assert_int_equal(r.rejected_spans, 0);
	assert_string_equal(r.message, "");
}

static void protobuf_status_is_read(void **state)
{
	uint8_t body[64], *p;
	struct otlp_response r;

	p = pb_put_tag(body, 1, PB_WT_VARINT);
	p = pb_put_varint(p, 8); /* RESOURCE_EXHAUSTED */
	p = pb_put_bytes(p, 2, "slow down\n", 10);
	p = pb_put_bytes(p, 3, "\x0a\x01x", 3); /* details: skipped */
	assert_int_equal(parse(body, (size_t)(p - body), OTLP_PROTOCOL_HTTP_PROTOBUF,
			       OTLP_RESPONSE_STATUS, &r), 0);
	assert_int_equal(r.status_code, 8);
	assert_string_equal(r.message, "slow down "); /* control characters blanked */
}

static void json_partial_success_takes_strings_or_numbers(void **state)
{
	static const char a[] = "{\"partialSuccess\":{\"rejectedSpans\":\"12\",\"errorMessage\":\"x\"}}";
	static const char b[] = "{\"partialSuccess\":{\"rejectedSpans\":5}}";
	static const char c[] = "{\"partialSuccess\":{}}";
	struct otlp_response r;

	assert_int_equal(parse(a, strlen(a), OTLP_PROTOCOL_HTTP_JSON, OTLP_RESPONSE_EXPORT, &r), 0);
	assert_int_equal(r.rejected_spans, 12);
	assert_string_equal(r.message, "x");
	assert_int_equal(parse(b, strlen(b), OTLP_PROTOCOL_HTTP_JSON, OTLP_RESPONSE_EXPORT, &r), 0);
	assert_int_equal(r.rejected_spans, 5);
	assert_int_equal(parse(c, strlen(c), OTLP_PROTOCOL_HTTP_JSON, OTLP_RESPONSE_EXPORT, &r), 0);
	assert_true(r.has_partial_success);
	assert_int_equal(r.rejected_spans, 0);
}

static void json_status_is_read(void **state)
{
	static const char s[] = "{\"code\":3,\"message\":\"bad span\",\"details\":[]}";
	struct otlp_response r;

	assert_int_equal(parse(s, strlen(s), OTLP_PROTOCOL_HTTP_JSON, OTLP_RESPONSE_STATUS, &r), 0);
	assert_int_equal(r.status_code, 3);
	assert_string_equal(r.message, "bad span");
}

static void malformed_bodies_are_refused(void **state)
{
	static const char *json_bad[] = {
		"{", "[]", "{\"partialSuccess\":3}", "{\"partialSuccess\":{\"rejectedSpans\":\"x\"}}",
		"{\"partialSuccess\":{\"errorMessage\":7}}", "configured failure",
	};
	static const uint8_t pb_wrong_type[] = { 0x08, 0x01 }; /* partial_success as varint */
	static const uint8_t pb_truncated[] = { 0x0A, 0x10, 0x08 };
	struct otlp_response r;

	for (size_t i = 0; i < sizeof(json_bad) / sizeof(json_bad[0]); i++)
		assert_int_equal(parse(json_bad[i], strlen(json_bad[i]), OTLP_PROTOCOL_HTTP_JSON,
				       OTLP_RESPONSE_EXPORT, &r),
				 -EBADMSG);
	assert_int_equal(parse(pb_wrong_type, 2, OTLP_PROTOCOL_HTTP_PROTOBUF, OTLP_RESPONSE_EXPORT,
			       &r),
			 -EBADMSG);
	assert_int_equal(parse(pb_truncated, 3, OTLP_PROTOCOL_HTTP_PROTOBUF, OTLP_RESPONSE_EXPORT,
			       &r),
			 -EBADMSG);
}

static void oversized_bodies_and_messages_are_bounded(void **state)
{
	static uint8_t big[OTLP_RESPONSE_BODY_MAX + 1];
	char msg[1000];
	uint8_t body[1100], *p;
	struct otlp_response r;

	assert_int_equal(parse(big, sizeof(big), OTLP_PROTOCOL_HTTP_PROTOBUF, OTLP_RESPONSE_EXPORT,
			       &r),
			 -E2BIG);
	memset(msg, 'm', sizeof(msg));
	p = pb_put_tag(body, 1, PB_WT_VARINT);
	p = pb_put_varint(p, 14);
	p = pb_put_bytes(p, 2, msg, sizeof(msg));
	assert_int_equal(parse(body, (size_t)(p - body), OTLP_PROTOCOL_HTTP_PROTOBUF,
			       OTLP_RESPONSE_STATUS, &r), 0);
	assert_int_equal(strlen(r.message), OTLP_RESPONSE_MESSAGE_MAX - 1);
}

static void negative_rejected_counts_are_clamped(void **state)
{
	uint8_t inner[16], body[32], *p;
	struct otlp_response r;

	p = pb_put_tag(inner, 1, PB_WT_VARINT);
	p = pb_put_varint(p, (uint64_t)(int64_t)-5);
	p = pb_put_bytes(body, 1, inner, (size_t)(p - inner));
	assert_int_equal(parse(body, (size_t)(p - body), OTLP_PROTOCOL_HTTP_PROTOBUF,
			       OTLP_RESPONSE_EXPORT, &r), 0);
	assert_int_equal(r.rejected_spans, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(protobuf_partial_success_is_read),
		cmocka_unit_test(an_empty_body_means_full_success),
		cmocka_unit_test(protobuf_status_is_read),
		cmocka_unit_test(json_partial_success_takes_strings_or_numbers),
		cmocka_unit_test(json_status_is_read),
		cmocka_unit_test(malformed_bodies_are_refused),
		cmocka_unit_test(oversized_bodies_and_messages_are_bounded),
		cmocka_unit_test(negative_rejected_counts_are_clamped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
