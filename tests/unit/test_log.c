#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/log/log.h"

static void level_names_parse(void **state)
{
	enum log_level level = LOG_ERROR;

	assert_int_equal(log_level_parse("debug", &level), 0);
	assert_int_equal(level, LOG_DEBUG);
	assert_int_equal(log_level_parse("warn", &level), 0);
	assert_int_equal(level, LOG_WARN);
}

static void unknown_level_is_refused_and_leaves_output_alone(void **state)
{
	enum log_level level = LOG_INFO;

	assert_int_equal(log_level_parse("verbose", &level), -EINVAL);
	assert_int_equal(level, LOG_INFO);
}

static void levels_below_the_minimum_are_not_enabled(void **state)
{
	log_set_level(LOG_WARN);
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_ERROR));
	log_set_level(LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(level_names_parse),
		cmocka_unit_test(unknown_level_is_refused_and_leaves_output_alone),
		cmocka_unit_test(levels_below_the_minimum_are_not_enabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
