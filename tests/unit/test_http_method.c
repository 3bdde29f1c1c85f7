/* How the probes name a request's method (bpf/http_method.h) and file its RED series
 * (bpf/http_server.h): from the request line at the start, from the Go string when
 * the line cannot vouch for it, and the status slots of the RED array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/http_method.h"

/* The method of a request line, with the 8 readable bytes the probe has. */
static uint8_t of_line(const char *line)
{
	uint8_t buf[64];
	size_t n = strlen(line);

	assert_true(n + 8 <= sizeof(buf));
	memset(buf, ' ', sizeof(buf)); /* slack: never part of the request */
	memcpy(buf, line, n);
	return hs_method_of_line(buf, (uint32_t)n);
}

static void every_known_method_is_read_from_its_request_line(void **state)
{
	assert_int_equal(of_line("GET / HTTP/1.1\r\n"), HS_METHOD_GET);
	assert_int_equal(of_line("HEAD /x HTTP/1.1\r\n"), HS_METHOD_HEAD);
	assert_int_equal(of_line("POST /x HTTP/1.1\r\n"), HS_METHOD_POST);
	assert_int_equal(of_line("PUT /x HTTP/1.1\r\n"), HS_METHOD_PUT);
	assert_int_equal(of_line("DELETE /x HTTP/1.1\r\n"), HS_METHOD_DELETE);
	assert_int_equal(of_line("CONNECT a:443 HTTP/1.1\r\n"), HS_METHOD_CONNECT);
	assert_int_equal(of_line("OPTIONS * HTTP/1.1\r\n"), HS_METHOD_OPTIONS);
	assert_int_equal(of_line("TRACE / HTTP/1.1\r\n"), HS_METHOD_TRACE);
	assert_int_equal(of_line("PATCH /x HTTP/1.1\r\n"), HS_METHOD_PATCH);
}

static void a_line_it_cannot_vouch_for_leaves_the_method_to_the_request(void **state)
{
	/* Methods are case-sensitive; others, and bytes that are no request line (a
	 * pipelined body, say), are left to http.Request.Method. */
	assert_int_equal(of_line("get / HTTP/1.1\r\n"), HS_METHOD_UNKNOWN);
	assert_int_equal(of_line("PROPFIND / HTTP/1.1\r\n"), HS_METHOD_UNKNOWN);
	assert_int_equal(of_line("PURGE / HTTP/1.1\r\n"), HS_METHOD_UNKNOWN);
	assert_int_equal(of_line("{\"a\":1}GET / HTTP/1.1\r\n"), HS_METHOD_UNKNOWN);
	assert_int_equal(of_line("GETX / HTTP/1.1\r\n"), HS_METHOD_UNKNOWN);
	assert_int_equal(of_line("GE T / HTTP/1.1\r\n"), HS_METHOD_UNKNOWN);
	/* The space must be the request's own byte, not the slack past its end. */
	assert_int_equal(of_line("GET"), HS_METHOD_UNKNOWN);
	assert_int_equal(of_line("GET "), HS_METHOD_GET);
	assert_int_equal(of_line(""), HS_METHOD_UNKNOWN);
}

static void strings_name_known_methods_and_the_rest_other(void **state)
{
	char m[16];

	memset(m, 0, sizeof(m));
	memcpy(m, "OPTIONS", 7);
	assert_int_equal(hs_method_of_string(m, 7), HS_METHOD_OPTIONS);
	assert_int_equal(hs_method_of_string(m, 3), HS_METHOD_OTHER); /* "OPT" */
	memcpy(m, "GET", 3);
	assert_int_equal(hs_method_of_string(m, 3), HS_METHOD_GET);
	assert_int_equal(hs_method_of_string(m, 0), HS_METHOD_OTHER);
	memcpy(m, "PROPFIND", 8);
	assert_int_equal(hs_method_of_string(m, 8), HS_METHOD_OTHER);
}

static void red_status_slots_are_distinct_and_invertible(void **state)
{
	static uint8_t used[HS_RED_STATUS_SLOTS];
	size_t slotted = 0;

	memset(used, 0, sizeof(used));
	for (uint32_t status = 0; status < 1000; status++) {
		int slot = hs_red_status_slot(status);

		if (slot < 0)
			continue;
		assert_true(slot < HS_RED_STATUS_SLOTS);
		assert_int_equal(used[slot], 0);
		used[slot] = 1;
		slotted++;
		assert_int_equal(hs_red_slot_status((uint32_t)slot), status);
	}
	assert_int_equal(slotted, HS_RED_STATUS_SLOTS);
	/* The common ones have slots; the rare ones go to the hash. */
	assert_true(hs_red_status_slot(200) >= 0 && hs_red_status_slot(404) >= 0 &&
		    hs_red_status_slot(429) >= 0 && hs_red_status_slot(503) >= 0);
	assert_true(hs_red_status_slot(0) < 0 && hs_red_status_slot(99) < 0 &&
		    hs_red_status_slot(451) < 0 && hs_red_status_slot(600) < 0 &&
		    hs_red_status_slot(999) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_known_method_is_read_from_its_request_line),
		cmocka_unit_test(a_line_it_cannot_vouch_for_leaves_the_method_to_the_request),
		cmocka_unit_test(strings_name_known_methods_and_the_rest_other),
		cmocka_unit_test(red_status_slots_are_distinct_and_invertible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
