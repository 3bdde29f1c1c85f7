/* The judgement the sk_msg program makes on an outgoing message's first bytes
 * (bpf/http_request_head.h), run here a byte at a time exactly as its bpf_loop runs it:
 * where a traceparent goes, that a request carrying one is never given a second, that
 * what is not an HTTP/1.x request's start is left alone, and that a header block seen
 * only in part is never judged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/http_request_head.h"

/* As tp_sk_msg: at most HRH_SCAN_MAX - 1 bytes, a word a step where they cannot matter
 * (hrh_advance), stopping when a step says so; the same state as a byte at a time. */
static enum hrh_verdict judge_n(const char *bytes, size_t n, struct hrh_state *ret)
{
	static uint8_t buf[HRH_SCAN_MAX];
	struct hrh_state s, w;
	size_t steps = 0;

	memset(&s, 0, sizeof(s));
	if (n > HRH_SCAN_MAX - 1)
		n = HRH_SCAN_MAX - 1;
	for (size_t i = 0; i < n; i++) {
		if (hrh_step(&s, (uint8_t)bytes[i]))
			break;
	}
	/* Past the bytes: line feeds, which a word step must not take for the message's. */
	memset(buf, '\n', sizeof(buf));
	memcpy(buf, bytes, n);
	memset(&w, 0, sizeof(w));
	while (!hrh_advance(&w, buf, (uint32_t)n))
		assert_true(++steps <= n);
	assert_int_equal(w.pos, s.pos);
	assert_int_equal(w.phase, s.phase);
	assert_int_equal(w.line_end, s.line_end);
	assert_int_equal(w.has_tp, s.has_tp);
	assert_int_equal(hrh_verdict(&w), hrh_verdict(&s));
	if (ret)
		*ret = s;
	return hrh_verdict(&s);
}

static enum hrh_verdict judge(const char *bytes, struct hrh_state *ret)
{
	return judge_n(bytes, strlen(bytes), ret);
}

static void a_plain_request_gets_one_after_its_request_line(void **state)
{
	const char *req = "GET /back?x=1 HTTP/1.1\r\nHost: b:8081\r\nUser-Agent: Go-http-client/1.1\r\n"
			  "Accept-Encoding: gzip\r\n\r\n";
	struct hrh_state s;

	assert_int_equal(judge(req, &s), HRH_INSERT);
	assert_int_equal(s.line_end, strlen("GET /back?x=1 HTTP/1.1\r\n"));
	assert_memory_equal(req + s.line_end, "Host:", 5);
	/* It stops at the blank line: a body after it is never looked at. */
	assert_int_equal(s.pos, strlen(req));
}

static void a_body_in_the_same_message_changes_nothing(void **state)
{
	const char *req = "POST /p HTTP/1.0\r\nContent-Length: 26\r\n\r\ntraceparent: in the body\r\n";
	struct hrh_state s;

	assert_int_equal(judge(req, &s), HRH_INSERT);
	assert_int_equal(s.line_end, strlen("POST /p HTTP/1.0\r\n"));
}

static void a_request_with_its_own_is_left_alone(void **state)
{
	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: b\r\nTraceparent: 00-11111111111111111111111111111111-"
			       "2222222222222222-01\r\n\r\n", NULL),
			 HRH_HAS_TRACEPARENT);
	/* Any case, as the first header, with no space before the value. */
	assert_int_equal(judge("GET / HTTP/1.1\r\nTRACEPARENT:00-x\r\n\r\n", NULL), HRH_HAS_TRACEPARENT);
	/* Seen before the block ends: the verdict needs no more bytes. */
	assert_int_equal(judge("GET / HTTP/1.1\r\ntraceparent:", NULL), HRH_HAS_TRACEPARENT);
}

static void only_a_header_named_traceparent_counts(void **state)
{
	assert_int_equal(judge("GET / HTTP/1.1\r\nX-Traceparent: 1\r\n\r\n", NULL), HRH_INSERT);
	assert_int_equal(judge("GET / HTTP/1.1\r\nX-Note: traceparent: 1\r\n\r\n", NULL), HRH_INSERT);
	assert_int_equal(judge("GET / HTTP/1.1\r\ntraceparentx: 1\r\n\r\n", NULL), HRH_INSERT);
	assert_int_equal(judge("GET / HTTP/1.1\r\ntraceparent : 1\r\n\r\n", NULL), HRH_INSERT);
	assert_int_equal(judge("GET / HTTP/1.1\r\ntracestate: a=b\r\n\r\n", NULL), HRH_INSERT);
	/* In the request target, it is no header. */
	assert_int_equal(judge("GET /traceparent:x HTTP/1.1\r\n\r\n", NULL), HRH_INSERT);
}

static void a_block_seen_in_part_is_never_judged(void **state)
{
	char big[HRH_SCAN_MAX + 64];
	size_t n;

	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: b\r\n", NULL), HRH_UNSURE);
	assert_int_equal(judge("GET / HTTP/1.1\r\n", NULL), HRH_UNSURE);
	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: b\r\n\r", NULL), HRH_UNSURE);
	/* Headers past what the program copies: a traceparent may be further on. */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nCookie: ");
	memset(big + n, 'c', sizeof(big) - n - 5);
	memcpy(big + sizeof(big) - 5, "\r\n\r\n", 5);
	assert_int_equal(judge(big, NULL), HRH_UNSURE);
}

static void what_is_not_a_request_start_is_left_alone(void **state)
{
	/* A body or a continuation. */
	assert_int_equal(judge("{\"a\":1}", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge("", NULL), HRH_NOT_REQUEST);
	/* A response, h2's preface, TLS. */
	assert_int_equal(judge("HTTP/1.1 200 OK\r\n\r\n", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge_n("\x16\x03\x01\x02\x00\x01", 6, NULL), HRH_NOT_REQUEST);
	/* Request lines that are not HTTP/1.x's. */
	assert_int_equal(judge("get / HTTP/1.1\r\n\r\n", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge("GET  / HTTP/1.1\r\n\r\n", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge("GET / HTTP/1.1\n\n", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge("GET / HTTP/1.x\r\n\r\n", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge("GET / HTTP/2.0\r\n\r\n", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge("GET /a\tb HTTP/1.1\r\n\r\n", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge("GET /\x7f HTTP/1.1\r\n\r\n", NULL), HRH_NOT_REQUEST);
	assert_int_equal(judge("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n", NULL), HRH_NOT_REQUEST);
	/* A method of the longest length taken is one. */
	assert_int_equal(judge("ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n", NULL), HRH_INSERT);
}

static void a_bare_line_feed_ends_the_header_block(void **state)
{
	struct hrh_state s;

	/* Go never sends one, but a peer's parser takes it: judged as the end. */
	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: b\n\n", &s), HRH_INSERT);
	assert_int_equal(s.line_end, 16);
}

static void header_lines_are_taken_a_word_at_a_time(void **state)
{
	static uint8_t buf[HRH_SCAN_MAX];
	const char *req = "GET /back HTTP/1.1\r\nHost: 127.0.0.1:8081\r\nUser-Agent: Go-http-client/1.1\r\n"
			  "Accept-Encoding: gzip\r\n\r\n";
	size_t n = strlen(req), steps = 0;
	struct hrh_state s;

	memset(&s, 0, sizeof(s));
	memcpy(buf, req, n);
	while (!hrh_advance(&s, buf, (uint32_t)n))
		steps++;
	assert_int_equal(hrh_verdict(&s), HRH_INSERT);
	/* The request line and each line's first byte one at a time; the rest by words. */
	assert_true(steps < n / 2);
}

static void the_insertion_point_is_within_the_bytes(void **state)
{
	/* The sk_msg program refuses at >= n; the smallest request still has room. */
	const char *req = "A / HTTP/1.1\r\n\r\n";
	struct hrh_state s;

	assert_int_equal(judge(req, &s), HRH_INSERT);
	assert_int_equal(s.line_end, 14);
	assert_true(s.line_end < strlen(req));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_plain_request_gets_one_after_its_request_line),
		cmocka_unit_test(a_body_in_the_same_message_changes_nothing),
		cmocka_unit_test(a_request_with_its_own_is_left_alone),
		cmocka_unit_test(only_a_header_named_traceparent_counts),
		cmocka_unit_test(a_block_seen_in_part_is_never_judged),
		cmocka_unit_test(what_is_not_a_request_start_is_left_alone),
		cmocka_unit_test(a_bare_line_feed_ends_the_header_block),
		cmocka_unit_test(header_lines_are_taken_a_word_at_a_time),
		cmocka_unit_test(the_insertion_point_is_within_the_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
