#include "lib/otlp/response.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/otlp/protowire.h"
#include "lib/otlp/utf8.h"

void otlp_response_copy_message(char dst[OTLP_RESPONSE_MESSAGE_MAX], const char *src,
				size_t len)
{
	bool truncated;
	size_t n = utf8_copy_sanitized(dst, OTLP_RESPONSE_MESSAGE_MAX - 1, src, len, &truncated);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7F)
			dst[i] = ' ';
	dst[n] = '\0';
}

static int64_t clamp_rejected(int64_t v)
{
	return v < 0 ? 0 : v;
}

/* ---- protobuf ---- */

static int proto_partial_success(const uint8_t *data, size_t len, struct otlp_response *res)
{
	struct pb_reader r = pb_reader_init(data, len);
	struct pb_field f;
	int k;

	while ((k = pb_next_field(&r, &f)) > 0) {
		if (f.number == 1) { /* int64 rejected_spans */
			if (f.wire_type != PB_WT_VARINT)
				return -EBADMSG;
			res->rejected_spans = clamp_rejected((int64_t)f.value);
		} else if (f.number == 2) { /* string error_message */
			if (f.wire_type != PB_WT_LEN)
				return -EBADMSG;
			otlp_response_copy_message(res->message, (const char *)f.data, f.len);
		}
	}
	return k;
}

static int proto_parse(const uint8_t *body, size_t len, enum otlp_response_kind kind,
		       struct otlp_response *res)
{
	struct pb_reader r = pb_reader_init(body, len);
	struct pb_field f;
	int k, err;

	while ((k = pb_next_field(&r, &f)) > 0) {
		if (kind == OTLP_RESPONSE_EXPORT && f.number == 1) { /* partial_success */
			if (f.wire_type != PB_WT_LEN)
				return -EBADMSG;
			res->has_partial_success = true;
			err = proto_partial_success(f.data, f.len, res);
			if (err < 0)
				return err;
		} else if (kind == OTLP_RESPONSE_STATUS && f.number == 1) { /* int32 code */
			if (f.wire_type != PB_WT_VARINT)
				return -EBADMSG;
			res->status_code = (int32_t)f.value;
		} else if (kind == OTLP_RESPONSE_STATUS && f.number == 2) { /* string message */
			if (f.wire_type != PB_WT_LEN)
				return -EBADMSG;
			otlp_response_copy_message(res->message, (const char *)f.data, f.len);
		}
		/* Anything else (Status.details, fields added later) is skipped. */
	}
	return k;
}

/* ---- JSON ---- */

/* int64 fields are decimal strings in OTLP/JSON; numbers are accepted too. */
static int json_int64(const json_t *v, int64_t *ret_value)
{
	const char *s;
	char *end;
	long long n;

	if (json_is_integer(v)) {
		*ret_value = (int64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EBADMSG;
	s = json_string_value(v);
	if (!*s)
		return -EBADMSG;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*ret_value = (int64_t)n;
	return 0;
}

static int json_message(const json_t *v, struct otlp_response *res)
{
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -EBADMSG;
	otlp_response_copy_message(res->message, json_string_value(v), json_string_length(v));
	return 0;
}

static int json_parse(const void *body, size_t len, enum otlp_response_kind kind,
		      struct otlp_response *res)
{
	json_t *root, *ps, *v;
	int64_t n;
	int err = -EBADMSG;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root || !json_is_object(root))
		goto cleanup;
	if (kind == OTLP_RESPONSE_EXPORT) {
		ps = json_object_get(root, "partialSuccess");
		if (ps && !json_is_null(ps)) {
			if (!json_is_object(ps))
				goto cleanup;
			res->has_partial_success = true;
			v = json_object_get(ps, "rejectedSpans");
			if (v) {
				if (json_int64(v, &n) < 0)
					goto cleanup;
				res->rejected_spans = clamp_rejected(n);
			}
			if (json_message(json_object_get(ps, "errorMessage"), res) < 0)
				goto cleanup;
		}
	} else {
		v = json_object_get(root, "code");
		if (v) {
			if (!json_is_integer(v))
				goto cleanup;
			res->status_code = (int32_t)json_integer_value(v);
		}
		if (json_message(json_object_get(root, "message"), res) < 0)
			goto cleanup;
	}
	err = 0;
cleanup:
	json_decref(root);
	return err;
}

int otlp_response_parse(const void *body, size_t len, enum otlp_protocol protocol,
			enum otlp_response_kind kind, struct otlp_response *ret_response)
{
	struct otlp_response res = { 0 };
	int err = 0;

	if (len > OTLP_RESPONSE_BODY_MAX)
		return -E2BIG;
	if (len == 0)
		goto done;
	if (protocol == OTLP_PROTOCOL_HTTP_JSON)
		err = json_parse(body, len, kind, &res);
	else
		err = proto_parse(body, len, kind, &res);
	if (err < 0)
		return err;
done:
	*ret_response = res;
	return 0;
}
