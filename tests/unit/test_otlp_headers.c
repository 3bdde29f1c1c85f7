#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "lib/otlp/headers.h"

static void pairs_are_split_trimmed_and_decoded(void **state)
{
	struct otlp_header *h;
	size_t n;

	assert_int_equal(otlp_headers_parse(" api-key = s3cr%3Dt , tenant=a%20b,,x-empty=", &h, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(h[0].name, "api-key");
	assert_string_equal(h[0].value, "s3cr=t");
	assert_string_equal(h[1].name, "tenant");
	assert_string_equal(h[1].value, "a b");
	assert_string_equal(h[2].name, "x-empty");
	assert_string_equal(h[2].value, "");
	otlp_headers_free(h, n);

	assert_int_equal(otlp_headers_parse("", &h, &n), 0);
	assert_int_equal(n, 0);
	otlp_headers_free(h, n);
}

static void malformed_pairs_are_refused(void **state)
{
	const char *bad[] = {
		"novalue", "=v", "a=%", "a=%4", "a=%zz", "a=x%0d%0aHost: evil", "a=%00",
	};
	struct otlp_header *h = NULL;
	size_t n = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(otlp_headers_parse(bad[i], &h, &n), -EINVAL);
	assert_null(h);
	assert_int_equal(n, 99);
}

static void too_many_pairs_are_refused(void **state)
{
	char s[OTLP_HEADERS_MAX * 8 + 16];
	size_t k = 0, n;
	struct otlp_header *h;

	for (int i = 0; i <= OTLP_HEADERS_MAX; i++)
		k += (size_t)snprintf(s + k, sizeof(s) - k, "h%d=v,", i);
	assert_int_equal(otlp_headers_parse(s, &h, &n), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pairs_are_split_trimmed_and_decoded),
		cmocka_unit_test(malformed_pairs_are_refused),
		cmocka_unit_test(too_many_pairs_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
