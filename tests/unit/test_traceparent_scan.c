/* The traceparent search the BPF start probe runs (bpf/traceparent_scan.h), run here
 * over crafted request bytes exactly as the kernel runs it, one step per byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/traceparent_scan.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"

/* The probe's search (line feeds first, then one at a time) over bytes[0:n) as the read
 * buffer's, with the slack the kernel side has (filled with junk that must not be taken
 * for header bytes), into s and lf; it must agree in everything with the word-a-step
 * search over the same bytes. Returns the search's result. */
static int scan_bytes(const uint8_t *bytes, size_t n, struct tp_scan *s, struct tp_lf *lf)
{
	static uint8_t buf[TP_SCAN_MAX + TP_SCAN_SLACK];
	static struct tp_lf words_lf;
	struct tp_scan words;
	int r, words_r;

	assert_true(n <= TP_SCAN_MAX);
	memset(buf, '\n', sizeof(buf));
	memcpy(buf, bytes, n);
	memset(s, 0, sizeof(*s));
	memset(lf, 0xa5, sizeof(*lf));
	s->buf = buf;
	s->n = (uint32_t)n;
	r = tp_scan_run_with(s, lf);

	memset(&words, 0, sizeof(words));
	memset(&words_lf, 0xa5, sizeof(words_lf));
	words.buf = buf;
	words.n = (uint32_t)n;
	words_r = tp_scan_run_words_with(&words, &words_lf);
	assert_int_equal(r, words_r);
	if (r == 0) {
		assert_memory_equal(s->trace_id, words.trace_id, 16);
		assert_memory_equal(s->span_id, words.span_id, 8);
		assert_int_equal(s->flags, words.flags);
	}
	assert_int_equal(s->block_at, words.block_at);
	assert_int_equal(s->candidate, words.candidate);
	if (s->candidate)
		assert_int_equal(s->value_at, words.value_at);
	assert_int_equal(lf->ended, words_lf.ended);
	assert_int_equal(lf->reqline_set, words_lf.reqline_set);
	assert_int_equal(lf->reqline_end, words_lf.reqline_end);
	assert_int_equal(lf->host_state, words_lf.host_state);
	assert_int_equal(lf->host_at, words_lf.host_at);
	assert_int_equal(lf->host_end, words_lf.host_end);
	return r;
}

/* The same over text, with line feeds of its own. */
static int scan(const char *text, struct tp_scan *s)
{
	static struct tp_lf lf;

	return scan_bytes((const uint8_t *)text, strlen(text), s, &lf);
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

/* What a search located of a request whose only Host value is host: the request line
 * ends at its first line feed, and the Host value's line with the line feed after it. */
static void expect_located(const char *text, const struct tp_scan *s, const char *host)
{
	const char *value = strstr(text, host);
	const char *value_end;

	assert_non_null(value);
	value_end = strchr(value, '\n');
	assert_true(s->lf->ended);
	assert_true(s->lf->reqline_set);
	assert_int_equal(s->lf->reqline_end, strchr(text + s->block_at, '\n') - text);
	assert_int_equal(s->lf->host_state, TP_HOST_FOUND);
	assert_true(s->lf->host_at <= (uint32_t)(value - text));
	assert_int_equal(s->lf->host_end, value_end - text);
}

static void a_line_feed_at_any_byte_of_a_word_is_taken(void **state)
{
	static const char *const eols[] = { "\r\n", "\n" };
	char text[512], pad[32];
	struct tp_scan s;

	/* The path's length moves every line feed after it through the 8 bytes of a word
	 * (and the pass's 64-bit masks through every byte); both line ends. */
	for (size_t e = 0; e < 2; e++) {
		for (size_t len = 0; len < 16; len++) {
			memset(pad, 'a', len);
			pad[len] = '\0';
			snprintf(text, sizeof(text),
				 "GET /%s HTTP/1.1%sHost: example.com%straceparent: 00-" TID "-" SID
				 "-01%s%s",
				 pad, eols[e], eols[e], eols[e], eols[e]);
			assert_int_equal(scan(text, &s), 0);
			assert_int_equal(s.flags, 1);
			assert_int_equal(s.block_at, 0);
			expect_located(text, &s, "example.com");
		}
	}
}

static void words_with_several_line_feeds_are_taken_whole(void **state)
{
	char text[512];
	struct tp_scan s;

	/* Lines of 2 to 4 bytes put up to four line feeds in a word, and the last lines
	 * (traceparent, Host, the blank line) anywhere among them. */
	for (size_t shift = 0; shift < 8; shift++) {
		snprintf(text, sizeof(text),
			 "GET /%.*s HTTP/1.1\na:\nb\nc:1\nHost: h\nd\ne\ntraceparent: 00-" TID "-" SID
			 "-01\nf\ng\n\n",
			 (int)shift, "xxxxxxxx");
		assert_int_equal(scan(text, &s), 0);
		expect_located(text, &s, "h\n");
		snprintf(text, sizeof(text),
			 "GET /%.*s HTTP/1.1\r\na:\r\nb\r\nHost: h\r\ntraceparent: 00-" TID "-" SID
			 "-01\r\n\r\n",
			 (int)shift, "xxxxxxxx");
		assert_int_equal(scan(text, &s), 0);
		expect_located(text, &s, "h\r");
	}
	/* Blank lines in a row: each starts a block of its own, the last one is served. */
	expect_absent("GET /1 HTTP/1.1\ntraceparent: 00-" TID "-" SID "-01\n\n\n\n\nGET /2 HTTP/1.1\n\n");
	expect_found("\n\n\n\nGET /2 HTTP/1.1\ntraceparent: 00-" TID "-" SID "-01\n\n", 1);
}

static void crlf_and_bare_line_feeds_are_found_alike(void **state)
{
	static const char *const texts[] = {
		"GET /a HTTP/1.1\r\nHost: h\r\nX: 1\r\ntraceparent: 00-" TID "-" SID "-01\r\n\r\n",
		"GET /a HTTP/1.1\nHost: h\nX: 1\ntraceparent: 00-" TID "-" SID "-01\n\n",
		/* Mixed, as Go's reader takes them. */
		"GET /a HTTP/1.1\r\nHost: h\nX: 1\r\ntraceparent: 00-" TID "-" SID "-01\n\r\n",
		"GET /a HTTP/1.1\nHost: h\r\nX: 1\ntraceparent: 00-" TID "-" SID "-01\r\n\n",
	};
	struct tp_scan s;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		expect_found(texts[i], 1);
		scan(texts[i], &s);
		expect_located(texts[i], &s, "h");
	}
}

/* A request with lines line feeds in all: the request line, filler lines "x", the
 * header and the blank line. */
static void fill_lines(char *text, size_t size, size_t lines)
{
	const char *head = "GET / HTTP/1.1\n";
	const char *tail = "traceparent: 00-" TID "-" SID "-01\n\n";
	size_t at = strlen(head);

	assert_true(lines >= 3);
	assert_true(at + 2 * (lines - 3) + strlen(tail) < size);
	memcpy(text, head, at);
	for (size_t i = 0; i < lines - 3; i++, at += 2)
		memcpy(text + at, "x\n", 2);
	memcpy(text + at, tail, strlen(tail) + 1);
}

static void any_number_of_line_feeds_is_searched(void **state)
{
	static char text[TP_SCAN_MAX + 1];
	static struct tp_lf lf;
	struct tp_scan s;
	/* From a few to about as many as the bytes searched can hold ("x\n" lines). */
	static const size_t counts[] = { 3, 1024, 1025, 2000 };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		fill_lines(text, sizeof(text), counts[i]);
		assert_int_equal(scan_bytes((const uint8_t *)text, strlen(text), &s, &lf), 0);
		assert_int_equal(lf.n, counts[i]);
		assert_int_equal(s.flags, 1);
		/* And without the header, not found. */
		memcpy(strstr(text, "traceparent"), "xraceparent", 11);
		assert_int_equal(scan_bytes((const uint8_t *)text, strlen(text), &s, &lf), -1);
	}
}

static void pipelined_requests_are_told_apart_at_any_alignment(void **state)
{
	char text[512];
	struct tp_scan s;

	for (size_t shift = 0; shift < 16; shift++) {
		int first = (int)shift;

		snprintf(text, sizeof(text),
			 "GET /%.*s HTTP/1.1\r\ntraceparent: 00-" TID "-" SID "-01\r\n\r\n"
			 "GET /2 HTTP/1.1\r\nHost: b\r\n\r\n",
			 first, "yyyyyyyyyyyyyyyy");
		assert_int_equal(scan(text, &s), -1);
		assert_memory_equal(text + s.block_at, "GET /2", 6);
		expect_located(text, &s, "b\r");
		snprintf(text, sizeof(text),
			 "GET /%.*s HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.1\nHost: b\n"
			 "traceparent: 00-" TID "-" SID "-01\n\n",
			 first, "yyyyyyyyyyyyyyyy");
		assert_int_equal(scan(text, &s), 0);
		assert_memory_equal(text + s.block_at, "GET /2", 6);
		expect_located(text, &s, "b\n");
		/* The first request's Host does not count for the second. */
		snprintf(text, sizeof(text),
			 "GET /%.*s HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.0\r\nX: y\r\n\r\n", first,
			 "yyyyyyyyyyyyyyyy");
		scan(text, &s);
		assert_int_equal(s.lf->host_state, TP_HOST_NONE);
	}
}

/* A request of exactly n bytes, whose traceparent header is its last: a filler header
 * makes up the length. */
static void fill_to(char *text, size_t n, const char *eol)
{
	char head[64], tail[128];
	size_t h, t;

	snprintf(head, sizeof(head), "GET / HTTP/1.1%sX-Pad: ", eol);
	snprintf(tail, sizeof(tail), "%straceparent: 00-" TID "-" SID "-01%s%s", eol, eol, eol);
	h = strlen(head);
	t = strlen(tail);
	assert_true(n >= h + t);
	memcpy(text, head, h);
	memset(text + h, 'p', n - h - t);
	memcpy(text + n - t, tail, t + 1);
}

static void headers_ending_at_a_step_or_word_boundary_are_found(void **state)
{
	static const size_t ends[] = {
		TP_LF_STEP_BYTES - 1,	  TP_LF_STEP_BYTES,	     TP_LF_STEP_BYTES + 1,
		2 * TP_LF_STEP_BYTES - 8, 2 * TP_LF_STEP_BYTES - 7, 2 * TP_LF_STEP_BYTES,
		TP_SCAN_MAX - 1,	  TP_SCAN_MAX,
	};
	static char text[TP_SCAN_MAX + 1];
	struct tp_scan s;

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		for (size_t back = 0; back < 8; back++) {
			fill_to(text, ends[i] - back, back % 2 ? "\n" : "\r\n");
			assert_int_equal(strlen(text), ends[i] - back);
			assert_int_equal(scan(text, &s), 0);
			assert_int_equal(s.flags, 1);
			assert_true(s.lf->ended);
			/* Cut after the value: the headers have not ended. */
			text[strlen(text) - 2 * strlen(back % 2 ? "\n" : "\r\n")] = '\0';
			scan(text, &s);
			assert_false(s.lf->ended);
		}
	}
}

/* head, then plain lines that cannot be Host or traceparent, then tail, into text. */
static void with_plain_lines(char *text, size_t size, const char *head, size_t plain,
			     const char *tail)
{
	char *at = text + snprintf(text, size, "%s", head);

	for (size_t i = 0; i < plain; i++)
		at += snprintf(at, (size_t)(text + size - at), "Accept-%zu: x\r\n", i);
	snprintf(at, (size_t)(text + size - at), "%s", tail);
}

static void headers_after_many_plain_lines_are_found(void **state)
{
	char text[2048];
	struct tp_scan s;

	/* Lines that cannot be Host or traceparent are passed over in runs; what follows
	 * a run of any length is still seen, and a Host line's end too. */
	for (size_t plain = 0; plain < 3 * TP_LF_PASS_OVER; plain++) {
		with_plain_lines(text, sizeof(text), "GET /p HTTP/1.1\r\nHost: h\r\n", plain,
				 "traceparent: 00-" TID "-" SID "-01\r\n\r\n");
		assert_int_equal(scan(text, &s), 0);
		expect_located(text, &s, "h\r");

		with_plain_lines(text, sizeof(text), "GET /p HTTP/1.1\r\n", plain,
				 "Host: h\r\nCookie: c\r\ntraceparent: 00-" TID "-" SID
				 "-01\r\nVia: v\r\n\r\n");
		assert_int_equal(scan(text, &s), 0);
		expect_located(text, &s, "h\r");
	}
}

/* xorshift64: the same requests on every run. */
static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void random_requests_agree_with_the_word_a_step_search(void **state)
{
	/* Pieces a search can trip on: line ends, blank lines, the names it looks for in
	 * both cases, folds, a value and its neighbours. */
	static const char *const pieces[] = {
		"\r\n", "\n", "\r", "\n\n", "\r\n\r\n", "GET / HTTP/1.1", "POST /x HTTP/1.0",
		"Host:", "host: a", "HOST:b", " ", "\t", "traceparent:", "TraceParent: ",
		"00-" TID "-" SID "-01", "x: y", "h", "t", ":", "hos", "tracepar",
	};
	static uint8_t bytes[TP_SCAN_MAX];
	static struct tp_lf lf;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct tp_scan s;

	for (int round = 0; round < 20000; round++) {
		size_t want = next_random(&x) % (round % 10 ? 200 : TP_SCAN_MAX), n = 0;

		while (n < want) {
			const char *p = pieces[next_random(&x) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t len = strlen(p);

			if (len > want - n)
				len = want - n;
			memcpy(bytes + n, p, len);
			n += len;
		}
		scan_bytes(bytes, n, &s, &lf);
	}
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
		cmocka_unit_test(a_line_feed_at_any_byte_of_a_word_is_taken),
		cmocka_unit_test(words_with_several_line_feeds_are_taken_whole),
		cmocka_unit_test(crlf_and_bare_line_feeds_are_found_alike),
		cmocka_unit_test(any_number_of_line_feeds_is_searched),
		cmocka_unit_test(pipelined_requests_are_told_apart_at_any_alignment),
		cmocka_unit_test(headers_ending_at_a_step_or_word_boundary_are_found),
		cmocka_unit_test(headers_after_many_plain_lines_are_found),
		cmocka_unit_test(random_requests_agree_with_the_word_a_step_search),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
