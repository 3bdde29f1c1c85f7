/* lib/jsonpatch against the examples of RFC 6902 Appendix A and RFC 6901 section 5,
 * plus the bounds a patch from a peer must not pass. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/jsonpatch/jsonpatch.h"
#include "lib/jsonpatch/pointer.h"

static json_t *j(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, err.text);
	return v;
}

/* Applies patch to doc and checks the result equals want (both JSON texts). */
static void expect_result(const char *doc, const char *patch, const char *want)
{
	json_t *d = j(doc), *p = j(patch), *w = j(want), *got = NULL;
	char err[256] = "";
	int r = jsonpatch_apply(d, p, &got, err, sizeof(err));

	if (r != 0)
		fail_msg("patch %s on %s: %d %s", patch, doc, r, err);
	if (!jsonpatch_values_equal(got, w)) {
		char *text = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);

		fail_msg("patch %s on %s gave %s, want %s", patch, doc, text, want);
	}
	json_decref(d);
	json_decref(p);
	json_decref(w);
	json_decref(got);
}

/* The patch fails with want_errno, and the document is left as it was. */
static void expect_error(const char *doc, const char *patch, int want_errno)
{
	json_t *d = j(doc), *p = j(patch), *before = json_deep_copy(d), *got = NULL;
	char err[256] = "";
	int r = jsonpatch_apply(d, p, &got, err, sizeof(err));

	if (r != want_errno)
		fail_msg("patch %s on %s: got %d (%s), want %d", patch, doc, r, err, want_errno);
	assert_null(got);
	assert_true(json_equal(d, before));
	assert_true(err[0] != '\0');
	json_decref(d);
	json_decref(p);
	json_decref(before);
}

static void rfc6902_appendix_a_examples(void **state)
{
	/* A.1 - A.3 */
	expect_result("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
		      "{\"baz\":\"qux\",\"foo\":\"bar\"}");
	expect_result("{\"foo\":[\"bar\",\"baz\"]}",
		      "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
		      "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
	expect_result("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
		      "{\"foo\":\"bar\"}");
	/* A.4 - A.5 */
	expect_result("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
		      "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}");
	expect_result("{\"baz\":\"qux\",\"foo\":\"bar\"}",
		      "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
		      "{\"baz\":\"boo\",\"foo\":\"bar\"}");
	/* A.6 - A.7 */
	expect_result("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
		      "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
		      "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
	expect_result("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
		      "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
		      "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
	/* A.8: test succeeds */
	expect_result("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
		      "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
		      "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
		      "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
	/* A.10 nested add; A.14 escapes; A.16 array value */
	expect_result("{\"foo\":\"bar\"}",
		      "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
		      "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
	expect_result("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
		      "{\"/\":9,\"~1\":10}");
	expect_result("{\"foo\":[\"bar\"]}",
		      "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
		      "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
	/* A.11: unknown members are ignored */
	expect_result("{\"foo\":\"bar\"}",
		      "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
		      "{\"foo\":\"bar\",\"baz\":\"qux\"}");
}

static void rfc6902_appendix_a_errors(void **state)
{
	/* A.9 test fails; A.12 add to a missing parent; A.13 op twice is not our case;
	 * A.15 comparing strings and numbers */
	expect_error("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
		     -ECANCELED);
	expect_error("{\"foo\":\"bar\"}",
		     "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", -ENOENT);
	expect_error("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
		     -ECANCELED);
}

static void escapes_in_keys_round_trip(void **state)
{
	char *p = jsonpointer_join_new("/metadata/labels", "autotrace.dev/injected");

	assert_string_equal(p, "/metadata/labels/autotrace.dev~1injected");
	free(p);
	p = jsonpointer_join_new("", "a~/b");
	assert_string_equal(p, "/a~0~1b");
	free(p);
	expect_result("{\"m\":{}}",
		      "[{\"op\":\"add\",\"path\":\"/m/autotrace.dev~1injected\",\"value\":\"true\"},"
		      "{\"op\":\"add\",\"path\":\"/m/a~0b\",\"value\":1}]",
		      "{\"m\":{\"autotrace.dev/injected\":\"true\",\"a~b\":1}}");
	/* "~" followed by anything but 0 or 1 is not a pointer */
	expect_error("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/~2\"}]", -EINVAL);
	expect_error("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a~\"}]", -EINVAL);
}

static void rfc6901_pointers_resolve(void **state)
{
	json_t *doc = j("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
			"\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}");

	assert_ptr_equal(jsonpointer_get(doc, ""), doc);
	assert_string_equal(json_string_value(jsonpointer_get(doc, "/foo/0")), "bar");
	assert_int_equal(json_integer_value(jsonpointer_get(doc, "/")), 0);
	assert_int_equal(json_integer_value(jsonpointer_get(doc, "/a~1b")), 1);
	assert_int_equal(json_integer_value(jsonpointer_get(doc, "/c%d")), 2);
	assert_int_equal(json_integer_value(jsonpointer_get(doc, "/i\\j")), 5);
	assert_int_equal(json_integer_value(jsonpointer_get(doc, "/ ")), 7);
	assert_int_equal(json_integer_value(jsonpointer_get(doc, "/m~0n")), 8);
	assert_null(jsonpointer_get(doc, "/foo/01")); /* no leading zeros */
	assert_null(jsonpointer_get(doc, "/foo/-"));
	assert_null(jsonpointer_get(doc, "foo"));
	json_decref(doc);
}

static void array_bounds_and_append(void **state)
{
	expect_result("[1,2]", "[{\"op\":\"add\",\"path\":\"/2\",\"value\":3}]", "[1,2,3]");
	expect_result("[1,2]", "[{\"op\":\"add\",\"path\":\"/-\",\"value\":3}]", "[1,2,3]");
	expect_error("[1,2]", "[{\"op\":\"add\",\"path\":\"/3\",\"value\":3}]", -ERANGE);
	expect_error("[1,2]", "[{\"op\":\"remove\",\"path\":\"/2\"}]", -ERANGE);
	expect_error("[1,2]", "[{\"op\":\"replace\",\"path\":\"/-\",\"value\":0}]", -ERANGE);
	expect_error("[1,2]", "[{\"op\":\"add\",\"path\":\"/01\",\"value\":3}]", -EINVAL);
	expect_result("[1,2]", "[{\"op\":\"replace\",\"path\":\"/0\",\"value\":9}]", "[9,2]");
	expect_result("{\"a\":[1]}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}]",
		      "{\"a\":[1],\"b\":[1]}");
}

static void whole_document_and_atomicity(void **state)
{
	expect_result("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[true]}]",
		      "[true]");
	expect_result("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"b\":2}}]",
		      "{\"b\":2}");
	/* The second operation fails: the first one must not show. */
	expect_error("{\"a\":1}",
		     "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"remove\",\"path\":\"/c\"}]",
		     -ENOENT);
	expect_error("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
		     -EINVAL);
	expect_error("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]", -ENOENT);
}

static void malformed_operations_are_refused(void **state)
{
	expect_error("{}", "{\"op\":\"add\"}", -EINVAL);
	expect_error("{}", "[{\"op\":\"frobnicate\",\"path\":\"/a\"}]", -EINVAL);
	expect_error("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", -EINVAL);
	expect_error("{}", "[{\"path\":\"/a\",\"value\":1}]", -EINVAL);
	expect_error("{}", "[{\"op\":\"move\",\"path\":\"/a\"}]", -EINVAL);
	expect_error("{}", "[{\"op\":\"add\",\"path\":1,\"value\":1}]", -EINVAL);
	expect_error("{}", "[42]", -EINVAL);
}

static void numbers_compare_by_value(void **state)
{
	json_t *a = j("{\"x\":[1,{\"y\":2.0}]}"), *b = j("{\"x\":[1.0,{\"y\":2}]}"),
	       *c = j("{\"x\":[1,{\"y\":3}]}");

	assert_true(jsonpatch_values_equal(a, b));
	assert_false(jsonpatch_values_equal(a, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void copies_that_double_the_document_are_bounded(void **state)
{
	/* Each copy doubles the document: 40 of them would be 2^40 nodes. */
	json_t *doc = j("{\"a\":[1,2,3,4,5,6,7,8]}"), *patch = json_array(), *got = NULL;
	int r;

	for (int i = 0; i < 40; i++)
		json_array_append_new(patch, json_pack("{s:s, s:s, s:s}", "op", "copy", "from", "",
						       "path", "/a/0"));
	r = jsonpatch_apply(doc, patch, &got, NULL, 0);
	assert_int_equal(r, -E2BIG);
	assert_null(got);
	json_decref(doc);
	json_decref(patch);
}

static void too_many_operations_are_refused(void **state)
{
	json_t *doc = j("{}"), *patch = json_array(), *got = NULL;

	for (int i = 0; i <= JSONPATCH_MAX_OPS; i++)
		json_array_append_new(patch, json_pack("{s:s, s:s}", "op", "test", "path", ""));
	assert_int_equal(jsonpatch_apply(doc, patch, &got, NULL, 0), -E2BIG);
	json_decref(doc);
	json_decref(patch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc6902_appendix_a_examples),
		cmocka_unit_test(rfc6902_appendix_a_errors),
		cmocka_unit_test(escapes_in_keys_round_trip),
		cmocka_unit_test(rfc6901_pointers_resolve),
		cmocka_unit_test(array_bounds_and_append),
		cmocka_unit_test(whole_document_and_atomicity),
		cmocka_unit_test(malformed_operations_are_refused),
		cmocka_unit_test(numbers_compare_by_value),
		cmocka_unit_test(copies_that_double_the_document_are_bounded),
		cmocka_unit_test(too_many_operations_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
