#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/cli/number.h"

static void whole_numbers_above_the_minimum_are_read(void **state)
{
	long v = -1;

	assert_int_equal(cli_parse_long("2500", 0, &v), 0);
	assert_int_equal(v, 2500);
	assert_int_equal(cli_parse_long("-3", -10, &v), 0);
	assert_int_equal(v, -3);
}

static void anything_else_is_refused_and_leaves_the_value(void **state)
{
	static const char *const bad[] = { "", "10x", "x10", " ", "99999999999999999999", "1.5" };
	long v = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cli_parse_long(bad[i], 0, &v), -EINVAL);
	assert_int_equal(cli_parse_long(NULL, 0, &v), -EINVAL);
	assert_int_equal(cli_parse_long("5", 10, &v), -EINVAL);
	assert_int_equal(v, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_numbers_above_the_minimum_are_read),
		cmocka_unit_test(anything_else_is_refused_and_leaves_the_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
