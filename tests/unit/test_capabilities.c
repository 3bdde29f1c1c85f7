/* agent/capabilities: the effective set read from /proc/<pid>/status text, and the
 * message that names each needed capability a container lacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/capabilities.h"

#define BIT(n) (UINT64_C(1) << (n))
enum { SYS_PTRACE = 19, SYS_ADMIN = 21, PERFMON = 38, BPF = 39, CHOWN = 0 };
#define ALL_THREE (BIT(BPF) | BIT(PERFMON) | BIT(SYS_PTRACE))

static void the_effective_set_is_read_from_a_status_text(void **state)
{
	const char *status = "Name:\tautotrace-agent\nCapInh:\t0000000000000000\n"
			     "CapPrm:\t000000c000080000\nCapEff:\t000000c000080000\n"
			     "CapBnd:\t000000c000080000\n";
	uint64_t eff = 0;

	(void)state;
	assert_int_equal(capabilities_parse_status(status, &eff), 0);
	assert_true(eff == ALL_THREE);
}

static void a_status_without_a_readable_capeff_line_is_refused(void **state)
{
	static const char *const bad[] = {
		"Name:\tx\nCapPrm:\t00\n",
		"Name:\tx\nCapEff:\t\n",
		"Name:\tx\nCapEff:\t\nCapBnd:\t00ff\n",
		"Name:\tx\nCapEff:\tzz\n",
		"Name:\tx\nCapEff:\t00ff junk\n",
		"Name:\tx\nCapEff:\t1ffffffffffffffffff\n",
		"",
	};
	uint64_t eff = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(capabilities_parse_status(bad[i], &eff), -22);
	assert_int_equal(capabilities_parse_status(NULL, &eff), -22);
	assert_true(eff == 7);
}

static void nothing_is_missing_with_the_three_the_webhook_gives(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(capabilities_missing(ALL_THREE, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void each_missing_capability_is_named_with_its_reason(void **state)
{
	char buf[512];

	(void)state;
	assert_int_equal(capabilities_missing(BIT(BPF) | BIT(PERFMON), buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "CAP_SYS_PTRACE"));
	assert_null(strstr(buf, "CAP_BPF"));

	assert_int_equal(capabilities_missing(BIT(CHOWN), buf, sizeof(buf)), 3);
	assert_non_null(strstr(buf, "CAP_BPF (the agent loads the BPF programs)"));
	assert_non_null(strstr(buf, "; CAP_PERFMON"));
	assert_non_null(strstr(buf, "; CAP_SYS_PTRACE"));
}

static void sys_admin_stands_in_for_bpf_and_perfmon_but_not_ptrace(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(capabilities_missing(BIT(SYS_ADMIN), buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "CAP_SYS_PTRACE"));
	assert_int_equal(capabilities_missing(BIT(SYS_ADMIN) | BIT(SYS_PTRACE), buf, sizeof(buf)), 0);
}

static void a_short_buffer_truncates_the_text_not_the_count(void **state)
{
	char buf[10];

	(void)state;
	assert_int_equal(capabilities_missing(0, buf, sizeof(buf)), 3);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_int_equal(capabilities_missing(0, NULL, 0), 3);
}

static void this_process_has_a_readable_effective_set(void **state)
{
	uint64_t eff;

	(void)state;
	assert_int_equal(capabilities_effective(&eff), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_effective_set_is_read_from_a_status_text),
		cmocka_unit_test(a_status_without_a_readable_capeff_line_is_refused),
		cmocka_unit_test(nothing_is_missing_with_the_three_the_webhook_gives),
		cmocka_unit_test(each_missing_capability_is_named_with_its_reason),
		cmocka_unit_test(sys_admin_stands_in_for_bpf_and_perfmon_but_not_ptrace),
		cmocka_unit_test(a_short_buffer_truncates_the_text_not_the_count),
		cmocka_unit_test(this_process_has_a_readable_effective_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
