/* The traceparent search the BPF start probe runs (bpf/traceparent_scan.h), run here
 * over crafted request bytes exactly as the kernel runs it, one step per byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/traceparent_scan.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"

/* Runs the scan over text as the read buffer's bytes [0:n), with the slack the kernel
 * side has (filled with junk that must not be taken for header bytes). */
static int scan(const char *text, struct tp_scan *s)
{
	static uint8_t buf[TP_SCAN_MAX + TP_SCAN_SLACK];
	size_t n = strlen(text);

	assert_true(n <= TP_SCAN_MAX);
	memset(buf, '\n', sizeof(buf));
	memcpy(buf, text, n);
	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->n = (uint32_t)n;
	return tp_scan_run(s);
}

static void expect_found(const char *text, uint8_t flags)
{
	static const uint8_t tid[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
	static const uint8_t sid[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
	struct tp_scan s;

	assert_int_equal(scan(text, &s), 0);
	assert_memory_equal(s.trace_id, tid, 16);
	assert_memory_equal(s.span_id, sid, 8);
	assert_int_equal(s.flags, flags);
}

static void expect_absent(const char *text)
{
	struct tp_scan s;

	assert_int_equal(scan(text, &s), -1);
}

static void a_valid_header_is_found_in_any_case_and_position(void **state)
{
	expect_found("GET / HTTP/1.1\r\ntraceparent: 00-" TID "-" SID "-01\r\n\r\n", 1);
	expect_found("GET / HTTP/1.1\r\nHost: a\r\nTraceParent: 00-" TID "-" SID "-00\r\nX: y\r\n\r\n",
		     0);
	expect_found("GET / HTTP/1.1\r\nTRACEPARENT:00-" TID "-" SID "-03\r\n\r\n", 3);
	expect_found("GET / HTTP/1.1\r\ntraceparent: \t 00-" TID "-" SID "-01 \r\n\r\n", 1);
	/* Bare line feeds, as Go's reader accepts them. */
	expect_found("GET / HTTP/1.1\ntraceparent: 00-" TID "-" SID "-01\n\n", 1);
	/* A later version may carry more fields after a dash. */
	expect_found("GET / HTTP/1.1\r\ntraceparent: 01-" TID "-" SID "-01-ab\r\n\r\n", 1);
}

static void malformed_values_are_ignored(void **state)
{
	expect_absent("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_absent("GET / HTTP/1.1\r\ntraceparent: 00-" TID "-" SID "-1\r\n\r\n");
	expect_absent("GET / HTTP/1.1\r\ntraceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID
		      "-01\r\n\r\n");
	expect_absent("GET / HTTP/1.1\r\ntraceparent: ff-" TID "-" SID "-01\r\n\r\n");
	expect_absent("GET / HTTP/1.1\r\ntraceparent: 00-00000000000000000000000000000000-" SID
		      "-01\r\n\r\n");
	expect_absent("GET / HTTP/1.1\r\ntraceparent: 00-" TID "-0000000000000000-01\r\n\r\n");
	expect_absent("GET / HTTP/1.1\r\ntraceparent: 00-" TID "-" SID "-01-ab\r\n\r\n");
	expect_absent("GET / HTTP/1.1\r\ntraceparent: 00_" TID "-" SID "-01\r\n\r\n");
	expect_absent("GET / HTTP/1.1\r\nx-traceparent: 00-" TID "-" SID "-01\r\n\r\n");
	expect_absent("GET / HTTP/1.1\r\ntraceparents: 00-" TID "-" SID "-01\r\n\r\n");
	/* Too much whitespace before the value (the search allows a few bytes). */
	expect_absent("GET / HTTP/1.1\r\ntraceparent:       00-" TID "-" SID "-01\r\n\r\n");
	/* The request line is not a header. */
	expect_absent("traceparent: 00-" TID "-" SID "-01\r\n\r\n");
}

static void a_value_cut_by_the_end_of_the_bytes_is_not_read(void **state)
{
	/* The buffer's slack holds a valid-looking rest of the value: it is not the
	 * request's, and must not complete it. */
	static uint8_t buf[TP_SCAN_MAX + TP_SCAN_SLACK];
	const char *head = "GET / HTTP/1.1\r\ntraceparent: 00-" TID "-" SID "-01\r\n\r\n";
	size_t n = strlen(head);
	struct tp_scan s;

	memcpy(buf, head, n);
	memset(&s, 0, sizeof(s));
	s.buf = buf;
	for (size_t cut = 0; cut < n - 4; cut++) {
		s.n = (uint32_t)cut;
		assert_int_equal(tp_scan_run(&s), -1);
	}
}

static void only_the_last_request_in_the_buffer_counts(void **state)
{
	/* Pipelined: the first request's header is not the second's. */
	expect_absent("GET /1 HTTP/1.1\r\ntraceparent: 00-" TID "-" SID "-01\r\n\r\n"
		      "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_found("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
		     "GET /2 HTTP/1.1\r\ntraceparent: 00-" TID "-" SID "-01\r\n\r\n", 1);
}

/* Where the scan says the request being served starts: the line after the last
 * blank line before the end (what the probe reads the method from). */
static void the_last_request_line_is_located(void **state)
{
	static const struct {
		const char *text;
		const char *line;
	} cases[] = {
		{ "GET /a HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a" },
		{ "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\n\r\n", "POST /2" },
		{ "GET /1 HTTP/1.1\n\nDELETE /2 HTTP/1.1\nHost: a\n\n", "DELETE /2" },
		{ "PUT /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\nPATCH /3 HTTP/1.1\r\n\r\n",
		  "PATCH /3" },
	};
	struct tp_scan s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		scan(cases[i].text, &s);
		assert_true(s.block_at < s.n);
		assert_memory_equal(s.buf + s.block_at, cases[i].line, strlen(cases[i].line));
	}
}

static void a_header_at_the_end_of_a_full_buffer_is_found(void **state)
{
	static char big[TP_SCAN_MAX + 1];
	const char *line = "\ntraceparent: 00-" TID "-" SID "-01\r\n\r\n";
	size_t n = strlen(line);
	struct tp_scan s;

	/* Many short lines (the most line starts to look at), then the header last. */
	memcpy(big, "GET / HTTP/1.1\r", 15);
	for (size_t i = 15; i < TP_SCAN_MAX; i += 2)
		memcpy(big + i, "\nx", 2);
	memcpy(big + TP_SCAN_MAX - n, line, n);
	big[TP_SCAN_MAX] = '\0';
	expect_found(big, 1);
	/* One byte short of the whole value: not found. */
	big[TP_SCAN_MAX - 8] = '\0';
	assert_int_equal(scan(big, &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_valid_header_is_found_in_any_case_and_position),
		cmocka_unit_test(malformed_values_are_ignored),
		cmocka_unit_test(a_value_cut_by_the_end_of_the_bytes_is_not_read),
		cmocka_unit_test(only_the_last_request_in_the_buffer_counts),
		cmocka_unit_test(the_last_request_line_is_located),
		cmocka_unit_test(a_header_at_the_end_of_a_full_buffer_is_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
