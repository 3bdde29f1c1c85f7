#include "tests/support/agent_tests_main.h"

#include <unistd.h>

#include <curl/curl.h>

int agent_tests_run(const char *group, const struct CMUnitTest *tests, size_t count)
{
	int rc;

	if (geteuid() != 0) {
		print_message("# the agent tests load BPF programs: run them as root\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = _cmocka_run_group_tests(group, tests, count, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
