/* An incoming W3C traceparent, read by the kernel from the request's bytes in the Go
 * server's connection buffer: the server span continues the caller's trace (same trace
 * id, the caller's span as parent), whatever the header name's case; a malformed value
 * starts a new trace; a header does not leak into the next request on the same
 * kept-alive connection; and with connections opening and closing around kept-alive
 * ones (the server reusing freed connections' memory and pooled read buffers), every
 * request still gets its own parent. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/tracer.h"
#include "tests/support/agent_tests_main.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

#define TID "0af7651916cd43dd8448eb211c80319c"
#define PSID "b7ad6b7169203331"

static int setup(void **state)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct traced_world *w = NULL;
	int rc = traced_world_start("", 1, &on, &w);

	*state = w;
	return rc;
}

/* The same, with a server that collects garbage every few dozen kilobytes allocated
 * (GOGC=1), so that new connections soon take the memory of closed ones. */
static int setup_eager_gc(void **state)
{
	int rc;

	setenv("GOGC", "1", 1);
	rc = setup(state);
	unsetenv("GOGC");
	return rc;
}

static int teardown(void **state)
{
	traced_world_free(*state);
	return 0;
}

static json_t *span_with_path(json_t *spans, const char *path)
{
	size_t i;
	json_t *span;

	json_array_foreach(spans, i, span) {
		const char *p = span_attr_string(span, "url.path");

		if (p && strcmp(p, path) == 0)
			return span;
	}
	fail_msg("no span for %s", path);
	return NULL;
}

struct case_ {
	const char *path;
	const char *headers[4];
	int continues; /* 1: the span's parent is PSID in trace TID */
};

static const struct case_ cases[] = {
	{ "/lower", { "traceparent: 00-" TID "-" PSID "-01" }, 1 },
	{ "/capital", { "Traceparent: 00-" TID "-" PSID "-01" }, 1 },
	{ "/upper-name-extra-space", { "TRACEPARENT:   00-" TID "-" PSID "-01" }, 1 },
	{ "/among-others",
	  { "X-Request-Id: 42", "traceparent: 00-" TID "-" PSID "-01", "Tracestate: a=b" }, 1 },
	{ "/after-lookalike", { "X-traceparent: 00-ffffffffffffffffffffffffffffffff-" PSID "-01",
				"traceparent: 00-" TID "-" PSID "-01" }, 1 },
	{ "/none", { NULL }, 0 },
	{ "/upper-hex", { "traceparent: 00-0AF7651916CD43DD8448EB211C80319C-" PSID "-01" }, 0 },
	{ "/zero-trace", { "traceparent: 00-00000000000000000000000000000000-" PSID "-01" }, 0 },
	{ "/zero-span", { "traceparent: 00-" TID "-0000000000000000-01" }, 0 },
	{ "/version-ff", { "traceparent: ff-" TID "-" PSID "-01" }, 0 },
	{ "/short", { "traceparent: 00-" TID "-" PSID "-0" }, 0 },
	{ "/v00-trailing", { "traceparent: 00-" TID "-" PSID "-01-extra" }, 0 },
	{ "/lookalike-only", { "X-traceparent: 00-" TID "-" PSID "-01" }, 0 },
	/* After requests with headers on this connection: nothing carried over. */
	{ "/none-again", { NULL }, 0 },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static void incoming_traceparent_is_honoured_and_malformed_ones_ignored(void **state)
{
	struct traced_world *f = *state;
	struct tracer_stats st;
	json_t *spans;
	size_t continuing = 0;
	long status;

	for (size_t i = 0; i < N_CASES; i++) {
		assert_int_equal(traced_service_get(f->svc, cases[i].path, cases[i].headers, &status),
				 0);
		assert_int_equal(status, 200);
		continuing += (size_t)cases[i].continues;
	}
	assert_int_equal(tracer_harness_collect(f->h, N_CASES, 3000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), N_CASES);
	for (size_t i = 0; i < N_CASES; i++) {
		json_t *span = span_with_path(spans, cases[i].path);
		const char *tid = json_string_value(json_object_get(span, "trace_id"));
		const char *parent = json_string_value(json_object_get(span, "parent_span_id"));
		const char *sid = json_string_value(json_object_get(span, "span_id"));

		print_message("# %s: trace %s parent %s\n", cases[i].path, tid, parent);
		if (cases[i].continues) {
			assert_string_equal(tid, TID);
			assert_string_equal(parent, PSID);
			assert_string_not_equal(sid, PSID);
			assert_int_equal(json_integer_value(json_object_get(span, "flags")) & 1, 1);
		} else {
			assert_string_not_equal(tid, TID);
			assert_string_equal(parent, "");
		}
	}
	tracer_get_stats(f->h->tracer, &st);
	assert_int_equal(st.traceparent_found, continuing);
	json_decref(spans);
}

static void pipelined_requests_each_get_their_own_parent(void **state)
{
	/* Two requests written in one go: both sit in the connection's buffer when the
	 * first is served. The second's traceparent is not the first's. */
	struct traced_world *f = *state;
	char req[1024];
	json_t *spans, *first, *second;
	int fd, n;

	n = snprintf(req, sizeof(req),
		     "GET /pipe/1 HTTP/1.1\r\nHost: x\r\ntraceparent: 00-" TID "-" PSID "-01\r\n\r\n"
		     "GET /pipe/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	{
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)traced_service_port(f->svc)),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		char buf[4096];

		fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fd >= 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(write(fd, req, (size_t)n), n);
		/* Both answers, then the server closes (Connection: close on the second). */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	assert_int_equal(tracer_harness_collect(f->h, 2, 3000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 2);
	first = span_with_path(spans, "/pipe/1");
	second = span_with_path(spans, "/pipe/2");
	assert_string_equal(json_string_value(json_object_get(first, "trace_id")), TID);
	assert_string_equal(json_string_value(json_object_get(second, "parent_span_id")), "");
	assert_string_not_equal(json_string_value(json_object_get(second, "trace_id")), TID);
	json_decref(spans);
}

/* A connection to the service; asserts on failure. */
static int dial(const struct traced_world *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)traced_service_port(f->svc)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Sends GET path with the traceparent of request i on fd and reads its whole answer
 * (headers, then Content-Length bytes of body). */
static void request_on(int fd, int i, int close_after)
{
	char req[512], buf[4096];
	size_t have = 0;
	char *end = NULL, *cl;
	long body;
	int n = snprintf(req, sizeof(req),
			 "GET /churn/%d HTTP/1.1\r\nHost: x\r\nUser-Agent: churn\r\n"
			 "traceparent: 00-0af76519%024x-%016x-01\r\n%s\r\n",
			 i, i + 1, i + 1, close_after ? "Connection: close\r\n" : "");

	assert_int_equal(write(fd, req, (size_t)n), n);
	while (!end) {
		ssize_t got = read(fd, buf + have, sizeof(buf) - 1 - have);

		assert_true(got > 0);
		have += (size_t)got;
		buf[have] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	cl = strstr(buf, "Content-Length: ");
	assert_non_null(cl);
	body = strtol(cl + 16, NULL, 10);
	while ((long)(have - (size_t)(end + 4 - buf)) < body) {
		ssize_t got = read(fd, buf + have, sizeof(buf) - 1 - have);

		assert_true(got > 0);
		have += (size_t)got;
	}
}

static void connections_that_come_and_go_each_get_their_own_parent(void **state)
{
	/* Rounds of BATCH connections open at once, two requests on each, closed in the
	 * order they opened (so that the server's reader pool hands their buffers out in
	 * the reverse order to the next round), and a request on a kept-alive connection
	 * per round. The server collects garbage all along (setup_eager_gc) and puts new
	 * connections where freed ones were. */
	enum { ROUNDS = 400, BATCH = 6, N = ROUNDS * (2 * BATCH + 1) };
	struct traced_world *f = *state;
	int kept = dial(f), fds[BATCH], wrong = 0, sent = 0;
	json_t *spans, *span;
	size_t k;

	for (int round = 0; round < ROUNDS; round++) {
		for (int c = 0; c < BATCH; c++)
			fds[c] = dial(f);
		for (int c = 0; c < BATCH; c++)
			request_on(fds[c], sent++, 0);
		for (int c = 0; c < BATCH; c++)
			request_on(fds[c], sent++, 1);
		for (int c = 0; c < BATCH; c++)
			close(fds[c]);
		request_on(kept, sent++, 0);
	}
	close(kept);
	assert_int_equal(tracer_harness_collect(f->h, N, 20000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), N);
	json_array_foreach(spans, k, span) {
		const char *path = span_attr_string(span, "url.path");
		const char *tid = json_string_value(json_object_get(span, "trace_id"));
		const char *parent = json_string_value(json_object_get(span, "parent_span_id"));
		char want_tid[33], want_parent[17];
		int i;

		assert_non_null(path);
		assert_int_equal(sscanf(path, "/churn/%d", &i), 1);
		snprintf(want_tid, sizeof(want_tid), "0af76519%024x", i + 1);
		snprintf(want_parent, sizeof(want_parent), "%016x", i + 1);
		if (strcmp(tid, want_tid) != 0 || strcmp(parent, want_parent) != 0) {
			print_message("# %s: trace %s parent %s\n", path, tid, parent);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
	json_decref(spans);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			incoming_traceparent_is_honoured_and_malformed_ones_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(pipelined_requests_each_get_their_own_parent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(connections_that_come_and_go_each_get_their_own_parent,
						setup_eager_gc, teardown),
	};

	return AGENT_TESTS_RUN(tests);
}
