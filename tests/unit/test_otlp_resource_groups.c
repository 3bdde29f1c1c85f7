/* Spans of several resources in one request (a node agent's pods sharing their
 * Instrumentation's exporter): one ResourceSpans per resource that has spans, spans
 * whose resource is unknown under the exporter's own, in JSON and in protobuf (whose
 * ResourceSpans are concatenated requests: the size adds up). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "lib/otlp/encode_json.h"
#include "lib/otlp/encode_proto.h"

static void make_span(struct otlp_span *s, uint32_t resource_id, const char *name)
{
	otlp_span_init(s);
	s->trace_id[0] = 1;
	s->span_id[0] = 2;
	s->resource_id = resource_id;
	otlp_span_set_name(s, name, strlen(name));
}

static const char *pod_of(json_t *rs)
{
	json_t *attrs = json_object_get(json_object_get(rs, "resource"), "attributes");
	size_t i;
	json_t *a;

	json_array_foreach(attrs, i, a) {
		if (strcmp(json_string_value(json_object_get(a, "key")), "k8s.pod.name") == 0)
			return json_string_value(json_object_get(json_object_get(a, "value"), "stringValue"));
	}
	return "";
}

static size_t spans_in(json_t *rs)
{
	return json_array_size(
		json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans"));
}

static void each_resource_gets_its_spans(void **state)
{
	struct otlp_resource own, a, b;
	struct otlp_span spans[5];
	struct otlp_buf out = { 0 };
	json_error_t jerr;
	json_t *doc, *list;

	otlp_resource_init(&own);
	otlp_resource_add_string(&own, "service.name", "instrumentation");
	otlp_resource_init(&a);
	otlp_resource_add_string(&a, "k8s.pod.name", "a");
	otlp_resource_init(&b);
	otlp_resource_add_string(&b, "k8s.pod.name", "b");
	make_span(&spans[0], 7, "GET /a");
	make_span(&spans[1], 9, "GET /b");
	make_span(&spans[2], 7, "GET /a2");
	make_span(&spans[3], 42, "GET /gone");
	make_span(&spans[4], 0, "GET /own");
	struct otlp_resource_group groups[] = { { 0, &own }, { 7, &a }, { 9, &b } };

	assert_int_equal(otlp_encode_json_groups(groups, 3, "0.1.0", spans, 5, &out), 0);
	doc = json_loadb((const char *)out.data, out.len, 0, &jerr);
	assert_non_null(doc);
	list = json_object_get(doc, "resourceSpans");
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(pod_of(json_array_get(list, 0)), "");
	assert_int_equal(spans_in(json_array_get(list, 0)), 2); /* gone and own */
	assert_string_equal(pod_of(json_array_get(list, 1)), "a");
	assert_int_equal(spans_in(json_array_get(list, 1)), 2);
	assert_string_equal(pod_of(json_array_get(list, 2)), "b");
	assert_int_equal(spans_in(json_array_get(list, 2)), 1);
	json_decref(doc);

	/* Protobuf: the groups' requests concatenated. */
	size_t expect = 0;
	struct otlp_span only_a[2], only_b[1], rest[2];
	only_a[0] = spans[0], only_a[1] = spans[2], only_b[0] = spans[1];
	rest[0] = spans[3], rest[1] = spans[4];
	expect = otlp_encode_proto_size(&own, "0.1.0", rest, 2) +
		 otlp_encode_proto_size(&a, "0.1.0", only_a, 2) +
		 otlp_encode_proto_size(&b, "0.1.0", only_b, 1);
	out.len = 0;
	assert_int_equal(otlp_encode_proto_groups(groups, 3, "0.1.0", spans, 5, &out), 0);
	assert_int_equal(out.len, expect);
	otlp_buf_free(&out);
}

static void a_group_without_spans_is_left_out_but_the_first(void **state)
{
	struct otlp_resource own, a;
	struct otlp_span s;
	struct otlp_buf out = { 0 };
	json_error_t jerr;
	json_t *doc;

	otlp_resource_init(&own);
	otlp_resource_init(&a);
	otlp_resource_add_string(&a, "k8s.pod.name", "a");
	make_span(&s, 7, "GET /a");
	struct otlp_resource_group groups[] = { { 0, &own }, { 7, &a } };

	assert_int_equal(otlp_encode_json_groups(groups, 2, NULL, &s, 1, &out), 0);
	doc = json_loadb((const char *)out.data, out.len, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "resourceSpans")), 2);
	assert_int_equal(spans_in(json_array_get(json_object_get(doc, "resourceSpans"), 0)), 0);
	json_decref(doc);
	otlp_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_resource_gets_its_spans),
		cmocka_unit_test(a_group_without_spans_is_left_out_but_the_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
