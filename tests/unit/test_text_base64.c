/* Base64 as Kubernetes uses it (lib/text/base64.h): what goes in comes back, and the
 * decoder refuses what Go's base64.StdEncoding refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/text/base64.h"

static void encoding_then_decoding_gives_the_bytes_back(void **state)
{
	static const char *const cases[] = { "", "a", "ab", "abc", "abcd",
					     "-----BEGIN CERTIFICATE-----\n" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;
		unsigned char *back = NULL;
		size_t n;

		assert_int_equal(base64_encode(cases[i], strlen(cases[i]), &text), 0);
		assert_int_equal(base64_decode(text, &back, &n), 0);
		assert_int_equal(n, strlen(cases[i]));
		assert_memory_equal(back, cases[i], n);
		assert_int_equal(back[n], '\0');
		free(text);
		free(back);
	}
}

static void encoding_is_padded_without_line_breaks(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = { { "", "" },	      { "f", "Zg==" },	       { "fo", "Zm8=" },
		      { "foo", "Zm9v" },      { "foob", "Zm9vYg==" },  { "fooba", "Zm9vYmE=" },
		      { "foobar", "Zm9vYmFy" }, { "\xff\xfe\xfd", "//79" } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;

		assert_int_equal(base64_encode(cases[i].in, strlen(cases[i].in), &text), 0);
		assert_string_equal(text, cases[i].out);
		free(text);
	}
}

static void binary_bytes_and_line_breaks_are_decoded(void **state)
{
	unsigned char *out = NULL;
	size_t n;

	assert_int_equal(base64_decode("AP8A", &out, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\0\xff\0", 3);
	free(out);
	/* Line breaks anywhere, as a kubeconfig block scalar may hold them. */
	assert_int_equal(base64_decode("Zm9v\nYmFy\r\n", &out, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal((char *)out, "foobar");
	free(out);
	assert_int_equal(base64_decode("Zm\n8=\n", &out, &n), 0);
	assert_string_equal((char *)out, "fo");
	free(out);
}

static void anything_else_is_refused_and_leaves_the_outputs(void **state)
{
	static const char *const bad[] = {
		"YWJ",	    /* not a whole quantum */
		"Y!Jj",	    /* outside the alphabet */
		"YW Jj",    /* a space */
		"YWJj\t",   /* a tab */
		" YWJj",    /* leading space */
		"YW-j",	    /* the URL alphabet */
		"YW_j",
		"Y===",	    /* padding too early */
		"====",
		"Zg=a",	    /* a symbol after padding */
		"Zg==Zm8=", /* a quantum after padding */
		"Zg==\n=",
		"Zm8",	    /* padding left out */
		"Zg",
	};
	unsigned char *out = (unsigned char *)"untouched";
	size_t n = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (base64_decode(bad[i], &out, &n) != -EINVAL)
			fail_msg("\"%s\" was not refused", bad[i]);
		assert_string_equal((char *)out, "untouched");
		assert_int_equal(n, 42);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encoding_then_decoding_gives_the_bytes_back),
		cmocka_unit_test(encoding_is_padded_without_line_breaks),
		cmocka_unit_test(binary_bytes_and_line_breaks_are_decoded),
		cmocka_unit_test(anything_else_is_refused_and_leaves_the_outputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
