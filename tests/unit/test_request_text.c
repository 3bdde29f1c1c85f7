/* A sampled span's path and host as the start probe takes them from the request's
 * bytes (bpf/request_text.h after bpf/traceparent_scan.h), run here over crafted
 * request bytes exactly as the kernel runs them: what is taken must be what Go puts in
 * http.Request (before the agent cuts the query and decodes the target), and what Go
 * would parse otherwise must not be taken at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/request_text.h"

struct taken {
	uint8_t have;
	char target[TP_SCAN_MAX + 1];
	char host[TP_SCAN_MAX + 1];
};

/* The search and the text over text as the read buffer's bytes [0:n), with the slack
 * the kernel side has (filled with junk that must not be taken for request bytes). */
static void take(const char *text, struct taken *ret)
{
	static uint8_t buf[TP_SCAN_MAX + TP_SCAN_SLACK];
	static struct tp_lf lf;
	size_t n = strlen(text);
	struct tp_scan s;
	struct rt_text t;
	uint8_t method = HS_METHOD_UNKNOWN;

	assert_true(n <= TP_SCAN_MAX);
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, text, n);
	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	memset(ret, 0, sizeof(*ret));
	s.buf = buf;
	s.n = (uint32_t)n;
	tp_scan_run_with(&s, &lf);
	if (s.block_at < s.n)
		method = hs_method_of_line(buf + s.block_at, s.n - s.block_at);
	ret->have = method < HS_METHOD_COUNT ? rt_locate(&s, method, &t) : 0;
	if (ret->have & HS_TEXT_PATH) {
		assert_true(t.target_at + t.target_len <= n);
		memcpy(ret->target, buf + t.target_at, t.target_len);
	}
	if (ret->have & HS_TEXT_HOST) {
		assert_true(t.host_at + t.host_len <= n);
		memcpy(ret->host, buf + t.host_at, t.host_len);
	}
}

static void expect(const char *text, const char *target, const char *host)
{
	struct taken t;

	take(text, &t);
	assert_int_equal(t.have, HS_TEXT_PATH | HS_TEXT_HOST);
	assert_string_equal(t.target, target);
	assert_string_equal(t.host, host);
}

static void the_target_keeps_its_query_and_escapes_and_the_host_is_the_header(void **state)
{
	(void)state;
	expect("GET /a%20b?x=1&y=%3F HTTP/1.1\r\nHost: shop.example:8080\r\nAccept: */*\r\n\r\n",
	       "/a%20b?x=1&y=%3F", "shop.example:8080");
	expect("POST /items HTTP/1.1\r\nContent-Length: 0\r\nhOsT: 127.0.0.1:9\r\n\r\n", "/items",
	       "127.0.0.1:9");
	/* Whitespace around the value is not Go's Host. */
	expect("GET / HTTP/1.1\r\nHost:  \t[::1]:80 \t\r\n\r\n", "/", "[::1]:80");
	expect("GET / HTTP/1.1\r\nHost:a\r\n\r\n", "/", "a");
	/* Bare line feeds, as Go's reader accepts them. */
	expect("DELETE /x/y HTTP/1.1\nHost: h\n\n", "/x/y", "h");
	/* HTTP/1.0 without a Host line: Go's Host is empty. */
	expect("GET /old HTTP/1.0\r\nUser-Agent: x\r\n\r\n", "/old", "");
	/* A header whose name only starts like Host's is another header. */
	expect("GET /h HTTP/1.1\r\nHost-Alias: no\r\nHost: yes\r\n\r\n", "/h", "yes");
	/* Pipelined requests: the last block is the request being served. */
	expect("GET /first HTTP/1.1\r\nHost: a\r\n\r\nPUT /second?q HTTP/1.1\r\nHost: b\r\n\r\n",
	       "/second?q", "b");
	expect("GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.0\r\n\r\n", "/second", "");
}

static void what_go_parses_otherwise_is_not_taken(void **state)
{
	static const char *const none[] = {
		/* Absolute form: Go's Host is the target's, and its path is inside it. */
		"GET http://other.example/x HTTP/1.1\r\nHost: shop.example\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
		/* Not a request line this can vouch for. */
		"GET /x HTTP/2.0x\r\nHost: a\r\n\r\n",
		"GET /x FTP/1.1\r\nHost: a\r\n\r\n",
		"GET  HTTP/1.1\r\nHost: a\r\n\r\n",
		"PROPFIND /x HTTP/1.1\r\nHost: a\r\n\r\n",
		/* The headers' end is not in the bytes (cut short). */
		"GET /x HTTP/1.1\r\nHost: a\r\n",
		/* What a read buffer holds when its start was dropped: no request line. */
		"X-Long: yyyy\r\nHost: a\r\n\r\n",
	};
	struct taken t;

	(void)state;
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		take(none[i], &t);
		assert_int_equal(t.have, 0);
	}
}

static void a_doubtful_host_leaves_the_path(void **state)
{
	struct taken t;

	(void)state;
	/* Two Host lines (Go refuses the request), and a value folded onto the next line. */
	take("GET /p HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &t);
	assert_int_equal(t.have, HS_TEXT_PATH);
	assert_string_equal(t.target, "/p");
	take("GET /p HTTP/1.1\r\nHost: a\r\n b\r\nX: y\r\n\r\n", &t);
	assert_int_equal(t.have, HS_TEXT_PATH);
	/* More whitespace than the probe trims. */
	take("GET /p HTTP/1.1\r\nHost:      a\r\n\r\n", &t);
	assert_int_equal(t.have, HS_TEXT_PATH);
}

static void a_long_target_is_located_whole(void **state)
{
	char req[1024], target[600];
	struct taken t;

	(void)state;
	target[0] = '/';
	for (size_t i = 1; i < 500; i++)
		target[i] = (char)('a' + i % 26);
	target[500] = '\0';
	snprintf(req, sizeof(req), "GET %s?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", target);
	take(req, &t);
	assert_int_equal(t.have, HS_TEXT_PATH | HS_TEXT_HOST);
	assert_int_equal(strlen(t.target), 504);
	assert_memory_equal(t.target, target, 500);
}

static void the_path_and_host_are_taken_at_any_alignment_and_past_many_lines(void **state)
{
	char req[2048], target[32], host[16], *at;

	(void)state;
	/* The target's length moves every line feed through the bytes of a word; the
	 * lines before and after Host are passed over in runs of any length. */
	for (size_t len = 1; len < 17; len++) {
		for (size_t before = 0; before < 20; before += 3) {
			memset(target, 'q', len);
			target[0] = '/';
			target[len] = '\0';
			at = req + snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n", target);
			for (size_t i = 0; i < before; i++)
				at += snprintf(at, (size_t)(req + sizeof(req) - at), "Sec-%zu: v\r\n", i);
			at += snprintf(at, (size_t)(req + sizeof(req) - at), "Host: h%zu\r\n", len);
			for (size_t i = 0; i < 20 - before; i++)
				at += snprintf(at, (size_t)(req + sizeof(req) - at), "Via-%zu: v\n", i);
			snprintf(at, (size_t)(req + sizeof(req) - at), "\r\n");
			snprintf(host, sizeof(host), "h%zu", len);
			expect(req, target, host);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_target_keeps_its_query_and_escapes_and_the_host_is_the_header),
		cmocka_unit_test(what_go_parses_otherwise_is_not_taken),
		cmocka_unit_test(a_doubtful_host_leaves_the_path),
		cmocka_unit_test(a_long_target_is_located_whole),
		cmocka_unit_test(the_path_and_host_are_taken_at_any_alignment_and_past_many_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
