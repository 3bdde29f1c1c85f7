#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/otlp/span.h"
#include "lib/otlp/utf8.h"

static const char *attr_key(const struct otlp_span *s, const struct otlp_attr *a, size_t *len)
{
	*len = a->key_len;
	return s->text + a->key_off;
}

static void attributes_keep_their_types_and_values(void **state)
{
	struct otlp_span s;
	const struct otlp_attr *a;

	otlp_span_init(&s);
	assert_int_equal(otlp_span_add_string(&s, "url.path", "/api/users"), 0);
	assert_int_equal(otlp_span_add_int(&s, "http.response.status_code", 404), 0);
	assert_int_equal(otlp_span_add_bool(&s, "error", true), 0);
	assert_int_equal(otlp_span_add_double(&s, "ratio", 0.25), 0);
	assert_int_equal(s.attr_count, 4);

	a = otlp_span_find_attr(&s, "url.path");
	assert_non_null(a);
	assert_int_equal(a->type, OTLP_VALUE_STRING);
	assert_int_equal(a->str_len, strlen("/api/users"));
	assert_memory_equal(s.text + a->str_off, "/api/users", a->str_len);
	a = otlp_span_find_attr(&s, "http.response.status_code");
	assert_int_equal(a->type, OTLP_VALUE_INT);
	assert_int_equal(a->v.i, 404);
	assert_true(otlp_span_find_attr(&s, "error")->v.b);
	assert_true(otlp_span_find_attr(&s, "ratio")->v.d == 0.25);
	assert_null(otlp_span_find_attr(&s, "missing"));
}

static void attributes_past_the_limit_are_dropped_and_counted(void **state)
{
	struct otlp_span s;
	char key[32];

	otlp_span_init(&s);
	for (int i = 0; i < OTLP_SPAN_MAX_ATTRS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(otlp_span_add_int(&s, key, i), 0);
	}
	assert_int_equal(otlp_span_add_int(&s, "one.too.many", 1), -ENOSPC);
	assert_int_equal(otlp_span_add_string(&s, "two.too.many", "x"), -ENOSPC);
	assert_int_equal(s.attr_count, OTLP_SPAN_MAX_ATTRS);
	assert_int_equal(s.dropped_attrs, 2);
	assert_int_equal(otlp_span_attrs(&s).dropped, 2);
}

static void long_values_are_cut_to_the_value_limit_and_the_arena(void **state)
{
	struct otlp_span s;
	char big[OTLP_SPAN_TEXT_MAX * 2];
	const struct otlp_attr *a;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	otlp_span_init(&s);
	assert_int_equal(otlp_span_add_string(&s, "a", big), -E2BIG);
	a = otlp_span_find_attr(&s, "a");
	assert_non_null(a);
	assert_int_equal(a->str_len, OTLP_SPAN_VALUE_MAX);
	/* The second long value gets what the arena has left. */
	assert_int_equal(otlp_span_add_string(&s, "b", big), -E2BIG);
	a = otlp_span_find_attr(&s, "b");
	assert_int_equal(a->str_len, OTLP_SPAN_TEXT_MAX - 2 - OTLP_SPAN_VALUE_MAX);
	assert_int_equal(s.text_used, OTLP_SPAN_TEXT_MAX);
	/* The arena is full: a further attribute cannot even hold its key. */
	assert_int_equal(otlp_span_add_string(&s, "next", "v"), -ENOSPC);
	assert_int_equal(s.dropped_attrs, 1);
	/* A scalar with a key that fits nowhere is dropped too. */
	assert_int_equal(otlp_span_add_int(&s, "n", 1), -ENOSPC);
	assert_int_equal(s.dropped_attrs, 2);
}

static void names_are_truncated_at_a_character_boundary(void **state)
{
	struct otlp_span s;
	char name[OTLP_SPAN_NAME_MAX + 8];
	size_t len;

	/* 127 ASCII bytes then a 3-byte character: it does not fit in 128. */
	memset(name, 'a', OTLP_SPAN_NAME_MAX - 1);
	memcpy(name + OTLP_SPAN_NAME_MAX - 1, "\xE2\x82\xAC", 3);
	len = OTLP_SPAN_NAME_MAX + 2;
	otlp_span_init(&s);
	assert_int_equal(otlp_span_set_name(&s, name, len), -E2BIG);
	assert_int_equal(s.name_len, OTLP_SPAN_NAME_MAX - 1);
	assert_int_equal(otlp_span_set_name(&s, "GET /", 5), 0);
	assert_int_equal(s.name_len, 5);
	assert_memory_equal(s.name, "GET /", 5);
}

static void invalid_utf8_becomes_replacement_characters(void **state)
{
	struct otlp_span s;
	const struct otlp_attr *a;
	/* a lone continuation byte, an overlong '/', a surrogate, valid "é" */
	static const char in[] = "a\x80" "b\xC0\xAF" "c\xED\xA0\x80" "\xC3\xA9";
	static const char want[] = "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD"
				   "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "\xC3\xA9";

	otlp_span_init(&s);
	assert_int_equal(otlp_span_add_string_len(&s, "p", in, sizeof(in) - 1), 0);
	a = otlp_span_find_attr(&s, "p");
	assert_int_equal(a->str_len, sizeof(want) - 1);
	assert_memory_equal(s.text + a->str_off, want, sizeof(want) - 1);
}

static void utf8_char_len_follows_the_standard(void **state)
{
	assert_int_equal(utf8_char_len((const unsigned char *)"A", 1), 1);
	assert_int_equal(utf8_char_len((const unsigned char *)"\xC3\xA9", 2), 2);
	assert_int_equal(utf8_char_len((const unsigned char *)"\xC3", 1), 0);
	assert_int_equal(utf8_char_len((const unsigned char *)"\xE2\x82\xAC", 3), 3);
	assert_int_equal(utf8_char_len((const unsigned char *)"\xF0\x9F\x98\x80", 4), 4);
	assert_int_equal(utf8_char_len((const unsigned char *)"\xF4\x90\x80\x80", 4), 0);
	assert_int_equal(utf8_char_len((const unsigned char *)"\xF5\x80\x80\x80", 4), 0);
}

static void keys_are_never_truncated(void **state)
{
	struct otlp_span s;
	char key[OTLP_SPAN_TEXT_MAX + 2]; /* one byte more than the arena */
	size_t len;

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	otlp_span_init(&s);
	assert_int_equal(otlp_span_add_int(&s, key, 1), -ENOSPC);
	assert_int_equal(s.attr_count, 0);
	assert_int_equal(s.text_used, 0);
	assert_int_equal(otlp_span_add_int(&s, "", 1), -EINVAL);
	assert_int_equal(otlp_span_add_int(&s, "ok", 1), 0);
	assert_memory_equal(attr_key(&s, &s.attrs[0], &len), "ok", 2);
}

static void status_and_root_ness(void **state)
{
	struct otlp_span s;

	otlp_span_init(&s);
	assert_true(otlp_span_is_root(&s));
	s.parent_span_id[7] = 1;
	assert_false(otlp_span_is_root(&s));
	assert_int_equal(otlp_span_set_status(&s, OTLP_STATUS_ERROR, "boom"), 0);
	assert_int_equal(s.status_code, OTLP_STATUS_ERROR);
	assert_memory_equal(s.text + s.status_msg_off, "boom", s.status_msg_len);
}

static void resource_takes_many_attributes(void **state)
{
	struct otlp_resource r;
	char key[32];

	otlp_resource_init(&r);
	for (int i = 0; i < OTLP_RESOURCE_MAX_ATTRS; i++) {
		snprintf(key, sizeof(key), "k8s.x%d", i);
		assert_int_equal(otlp_resource_add_string(&r, key, "value"), 0);
	}
	assert_int_equal(otlp_resource_add_bool(&r, "more", true), -ENOSPC);
	assert_int_equal(otlp_resource_attrs(&r).count, OTLP_RESOURCE_MAX_ATTRS);
	assert_int_equal(otlp_resource_attrs(&r).dropped, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(attributes_keep_their_types_and_values),
		cmocka_unit_test(attributes_past_the_limit_are_dropped_and_counted),
		cmocka_unit_test(long_values_are_cut_to_the_value_limit_and_the_arena),
		cmocka_unit_test(names_are_truncated_at_a_character_boundary),
		cmocka_unit_test(invalid_utf8_becomes_replacement_characters),
		cmocka_unit_test(utf8_char_len_follows_the_standard),
		cmocka_unit_test(keys_are_never_truncated),
		cmocka_unit_test(status_and_root_ness),
		cmocka_unit_test(resource_takes_many_attributes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
