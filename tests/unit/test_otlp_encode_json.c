#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/otlp/encode_json.h"

static json_t *encode(const struct otlp_resource *res, const char *version,
		      const struct otlp_span *s, size_t n)
{
	struct otlp_buf out = { 0 };
	json_error_t jerr;
	json_t *root;

	assert_int_equal(otlp_encode_json(res, version, s, n, &out), 0);
	root = json_loadb((const char *)out.data, out.len, JSON_ALLOW_NUL, &jerr);
	if (!root)
		fail_msg("invalid JSON: %s: %.*s", jerr.text, (int)out.len, out.data);
	otlp_buf_free(&out);
	return root;
}

static json_t *first_span(json_t *root)
{
	json_t *rs = json_array_get(json_object_get(root, "resourceSpans"), 0);
	json_t *ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);

	return json_object_get(ss, "spans");
}

static json_t *attr_value(json_t *attrs, const char *key)
{
	size_t i;
	json_t *kv;

	json_array_foreach(attrs, i, kv)
		if (strcmp(json_string_value(json_object_get(kv, "key")), key) == 0)
			return json_object_get(kv, "value");
	return NULL;
}

static void field_names_ids_and_numbers_follow_the_otlp_json_mapping(void **state)
{
	struct otlp_resource res;
	struct otlp_span s;
	json_t *root, *span, *v, *scope, *rs;

	otlp_resource_init(&res);
	otlp_resource_add_string(&res, "service.name", "checkout");
	otlp_span_init(&s);
	for (int i = 0; i < 16; i++)
		s.trace_id[i] = (uint8_t)(0xA0 + i);
	memcpy(s.span_id, "\x00\x11\x22\x33\x44\x55\x66\xFF", 8);
	memcpy(s.parent_span_id, "\x01\x00\x00\x00\x00\x00\x00\x02", 8);
	otlp_span_set_name(&s, "GET /", 5);
	s.kind = OTLP_SPAN_KIND_CLIENT;
	s.flags = 1;
	s.start_unix_nano = 1700000000000000001ULL;
	s.end_unix_nano = 18446744073709551615ULL; /* needs all 64 bits */
	otlp_span_add_int(&s, "big", INT64_MIN);
	otlp_span_add_bool(&s, "b", true);
	otlp_span_add_double(&s, "d", 2.5);
	otlp_span_set_status(&s, OTLP_STATUS_ERROR, "bad");

	root = encode(&res, "1.2.3", &s, 1);
	rs = json_array_get(json_object_get(root, "resourceSpans"), 0);
	v = attr_value(json_object_get(json_object_get(rs, "resource"), "attributes"),
		       "service.name");
	assert_string_equal(json_string_value(json_object_get(v, "stringValue")), "checkout");
	scope = json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "scope");
	assert_string_equal(json_string_value(json_object_get(scope, "name")), "autotrace");
	assert_string_equal(json_string_value(json_object_get(scope, "version")), "1.2.3");

	span = json_array_get(first_span(root), 0);
	assert_string_equal(json_string_value(json_object_get(span, "traceId")),
			    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	assert_string_equal(json_string_value(json_object_get(span, "spanId")), "00112233445566ff");
	assert_string_equal(json_string_value(json_object_get(span, "parentSpanId")),
			    "0100000000000002");
	assert_string_equal(json_string_value(json_object_get(span, "name")), "GET /");
	assert_int_equal(json_integer_value(json_object_get(span, "kind")), 3);
	assert_int_equal(json_integer_value(json_object_get(span, "flags")), 1);
	assert_string_equal(json_string_value(json_object_get(span, "startTimeUnixNano")),
			    "1700000000000000001");
	assert_string_equal(json_string_value(json_object_get(span, "endTimeUnixNano")),
			    "18446744073709551615");
	v = attr_value(json_object_get(span, "attributes"), "big");
	assert_string_equal(json_string_value(json_object_get(v, "intValue")),
			    "-9223372036854775808");
	v = attr_value(json_object_get(span, "attributes"), "b");
	assert_true(json_is_true(json_object_get(v, "boolValue")));
	v = attr_value(json_object_get(span, "attributes"), "d");
	assert_true(json_real_value(json_object_get(v, "doubleValue")) == 2.5);
	v = json_object_get(span, "status");
	assert_int_equal(json_integer_value(json_object_get(v, "code")), 2);
	assert_string_equal(json_string_value(json_object_get(v, "message")), "bad");
	json_decref(root);
}

static void a_root_span_has_no_parent_and_zero_fields_are_left_out(void **state)
{
	struct otlp_resource res;
	struct otlp_span s;
	json_t *root, *span;

	otlp_resource_init(&res);
	otlp_span_init(&s);
	s.trace_id[0] = 1;
	s.span_id[0] = 1;
	root = encode(&res, NULL, &s, 1);
	span = json_array_get(first_span(root), 0);
	assert_null(json_object_get(span, "parentSpanId"));
	assert_null(json_object_get(span, "kind"));
	assert_null(json_object_get(span, "flags"));
	assert_null(json_object_get(span, "status"));
	assert_null(json_object_get(span, "droppedAttributesCount"));
	json_decref(root);
}

static void strings_are_escaped_and_stay_valid_json(void **state)
{
	struct otlp_resource res;
	struct otlp_span s;
	json_t *root, *v;
	static const char nasty[] = "q\"b\\s\n\t\x01" "caf\xC3\xA9";

	otlp_resource_init(&res);
	otlp_span_init(&s);
	otlp_span_set_name(&s, nasty, sizeof(nasty) - 1);
	otlp_span_add_string_len(&s, "raw", "a\x00" "b", 3);
	root = encode(&res, NULL, &s, 1);
	v = json_array_get(first_span(root), 0);
	assert_string_equal(json_string_value(json_object_get(v, "name")), nasty);
	v = json_object_get(attr_value(json_object_get(v, "attributes"), "raw"), "stringValue");
	assert_int_equal(json_string_length(v), 3);
	assert_memory_equal(json_string_value(v), "a\0b", 3);
	json_decref(root);
}

static void non_finite_doubles_use_the_mapping_strings(void **state)
{
	struct otlp_resource res;
	struct otlp_span s;
	json_t *root, *attrs;

	otlp_resource_init(&res);
	otlp_span_init(&s);
	otlp_span_add_double(&s, "nan", NAN);
	otlp_span_add_double(&s, "inf", -INFINITY);
	root = encode(&res, NULL, &s, 1);
	attrs = json_object_get(json_array_get(first_span(root), 0), "attributes");
	assert_string_equal(json_string_value(json_object_get(attr_value(attrs, "nan"), "doubleValue")),
			    "NaN");
	assert_string_equal(json_string_value(json_object_get(attr_value(attrs, "inf"), "doubleValue")),
			    "-Infinity");
	json_decref(root);
}

static void many_spans_make_one_array(void **state)
{
	struct otlp_resource res;
	struct otlp_span s[5];
	json_t *root;

	otlp_resource_init(&res);
	for (int i = 0; i < 5; i++) {
		otlp_span_init(&s[i]);
		s[i].span_id[0] = (uint8_t)i;
	}
	root = encode(&res, NULL, s, 5);
	assert_int_equal(json_array_size(first_span(root)), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(first_span(root), 4),
							      "spanId")),
			    "0400000000000000");
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(field_names_ids_and_numbers_follow_the_otlp_json_mapping),
		cmocka_unit_test(a_root_span_has_no_parent_and_zero_fields_are_left_out),
		cmocka_unit_test(strings_are_escaped_and_stay_valid_json),
		cmocka_unit_test(non_finite_doubles_use_the_mapping_strings),
		cmocka_unit_test(many_spans_make_one_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
