/* net/http client spans and trace context across two real Go services
 * (tests/fixtures/go/chain: A's handlers call B over HTTP), both traced by one tracer,
 * checked on what the real OTLP receiver got: one request to A is one trace, A server
 * -> A client -> B server; the call's parent is found on the handler's goroutine and,
 * for a call made on a goroutine of the handler's own, through the request's context;
 * B continues the trace because the kernel put A's client span in a traceparent on the
 * wire; an incoming traceparent is continued; a request that carries its own
 * traceparent is left alone; a dial error is an error span; and 200 concurrent
 * requests each get the right parents, none lost. */
#include <curl/curl.h>
#include <glob.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/tracer.h"
#include "tests/support/go_fixtures.h"
#include "tests/support/agent_tests_main.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

/* Built by mk/fixtures.mk with the local toolchain. */
#define CHAIN_FIXTURE_GLOB "build/fixtures/chain-go*"
#define TID "0af7651916cd43dd8448eb211c80319c"
#define PSID "b7ad6b7169203331"
#define OWN_TID "11111111111111111111111111111111"
#define OWN_PSID "2222222222222222"
#define KIND_SERVER 2
#define KIND_CLIENT 3
#define CONCURRENT 200

struct chain {
	struct traced_service *a, *b;
	struct tracer_harness *h;
};

/* The chain fixture's path into path[0..size). */
static int chain_fixture(char *path, size_t size)
{
	return go_fixture_find(CHAIN_FIXTURE_GLOB, path, size);
}

static int start_tracing(struct chain *c)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	int r = tracer_harness_start(&on, traced_service_binary(c->a), &c->h);

	return r ? r : tracer_scan(c->h->tracer);
}

/* A and B running, traced when traced is set (the tracer scanned once). */
static int start_chain(void **state, int traced)
{
	char fixture[256];
	struct chain *c = calloc(1, sizeof(*c));
	char next[64];
	int r;

	if (!c)
		return -1;
	r = chain_fixture(fixture, sizeof(fixture));
	if (r == 0)
		r = traced_service_start(fixture, &c->b);
	if (r == 0) {
		snprintf(next, sizeof(next), "http://127.0.0.1:%d", traced_service_port(c->b));
		r = traced_service_start_next(fixture, NULL, next, &c->a);
	}
	if (r == 0 && traced)
		r = start_tracing(c);
	*state = c;
	if (r) {
		print_error("setup: %s\n", strerror(-r));
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	return start_chain(state, 1);
}

static int setup_untraced(void **state)
{
	return start_chain(state, 0);
}

static int teardown(void **state)
{
	struct chain *c = *state;

	if (!c)
		return 0;
	tracer_harness_free(c->h);
	traced_service_free(c->a);
	traced_service_free(c->b);
	free(c);
	return 0;
}

static const char *str(json_t *span, const char *key)
{
	return json_string_value(json_object_get(span, key));
}

static long long kind(json_t *span)
{
	return json_integer_value(json_object_get(span, "kind"));
}

/* The one span of kind k whose url.path (server) or url.full (client) ends with
 * suffix and whose parent is parent (NULL: any); NULL when there is none. */
static json_t *find(json_t *spans, long long k, const char *suffix, const char *parent)
{
	size_t i;
	json_t *span;

	json_array_foreach(spans, i, span) {
		const char *u = span_attr_string(span, k == KIND_CLIENT ? "url.full" : "url.path");
		size_t ul = u ? strlen(u) : 0, sl = strlen(suffix);

		if (kind(span) != k || ul < sl || strcmp(u + ul - sl, suffix) != 0)
			continue;
		if (parent && strcmp(str(span, "parent_span_id"), parent) != 0)
			continue;
		return span;
	}
	return NULL;
}

/* Sends path to A with the extra headers; its status must be want. */
static void get_a(struct chain *c, const char *path, const char *const *headers, long want)
{
	long status = 0;

	assert_int_equal(traced_service_get(c->a, path, headers, &status), 0);
	assert_int_equal(status, want);
}

/* A server span for path, its client span child, and B's server span its child: the
 * three in one trace. Returns the trace id (borrowed from spans). */
static const char *assert_chain(json_t *spans, const char *path, json_t **ret_client)
{
	json_t *srv = find(spans, KIND_SERVER, path, NULL), *cli, *back;

	assert_non_null(srv);
	cli = find(spans, KIND_CLIENT, "/back", str(srv, "span_id"));
	assert_non_null(cli);
	back = find(spans, KIND_SERVER, "/back", str(cli, "span_id"));
	assert_non_null(back);
	assert_string_equal(str(cli, "trace_id"), str(srv, "trace_id"));
	assert_string_equal(str(back, "trace_id"), str(srv, "trace_id"));
	assert_string_equal(span_attr_string(cli, "http.request.method"), "GET");
	assert_string_equal(span_attr_string(cli, "server.address"), "127.0.0.1");
	assert_true(span_attr_int(cli, "server.port") > 0);
	assert_int_equal(span_attr_int(cli, "http.response.status_code"), 200);
	if (ret_client)
		*ret_client = cli;
	return str(srv, "trace_id");
}

static void a_call_on_another_goroutine_is_linked_through_the_context(void **state)
{
	struct chain *c = *state;
	struct tracer_stats st;
	json_t *spans;

	get_a(c, "/front", NULL, 200);
	assert_int_equal(tracer_harness_collect(c->h, 3, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 3);
	assert_chain(spans, "/front", NULL);
	tracer_get_stats(c->h->tracer, &st);
	print_message("# propagation %s, injected %llu\n", st.propagation,
		      (unsigned long long)st.tp_injected);
	assert_string_equal(st.propagation, "sk_msg");
	assert_true(st.client_parent_context >= 1);
	json_decref(spans);
}

static void a_call_on_the_handler_goroutine_is_its_child(void **state)
{
	struct chain *c = *state;
	json_t *spans;

	get_a(c, "/front-direct", NULL, 200);
	assert_int_equal(tracer_harness_collect(c->h, 3, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 3);
	assert_chain(spans, "/front-direct", NULL);
	json_decref(spans);
}

static void an_incoming_traceparent_is_continued_across_both(void **state)
{
	struct chain *c = *state;
	const char *hdr[] = { "traceparent: 00-" TID "-" PSID "-01", NULL };
	json_t *spans, *srv;

	get_a(c, "/front", hdr, 200);
	assert_int_equal(tracer_harness_collect(c->h, 3, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 3);
	assert_string_equal(assert_chain(spans, "/front", NULL), TID);
	srv = find(spans, KIND_SERVER, "/front", PSID);
	assert_non_null(srv);
	json_decref(spans);
}

static void a_request_with_its_own_traceparent_is_left_alone(void **state)
{
	struct chain *c = *state;
	struct tracer_stats before, after;
	json_t *spans, *back;

	tracer_get_stats(c->h->tracer, &before);
	get_a(c, "/front-own-tp", NULL, 200);
	assert_int_equal(tracer_harness_collect(c->h, 3, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 3);
	/* B continues the application's context, not ours: one traceparent on the wire. */
	back = find(spans, KIND_SERVER, "/back", OWN_PSID);
	assert_non_null(back);
	assert_string_equal(str(back, "trace_id"), OWN_TID);
	tracer_get_stats(c->h->tracer, &after);
	assert_int_equal(after.tp_left_alone, before.tp_left_alone + 1);
	assert_int_equal(after.tp_injected, before.tp_injected);
	json_decref(spans);
}

static void a_dial_error_is_an_error_span(void **state)
{
	struct chain *c = *state;
	json_t *spans, *srv, *cli;

	get_a(c, "/front-fail", NULL, 502);
	assert_int_equal(tracer_harness_collect(c->h, 2, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 2);
	srv = find(spans, KIND_SERVER, "/front-fail", NULL);
	assert_non_null(srv);
	cli = find(spans, KIND_CLIENT, "/nothing", str(srv, "span_id"));
	assert_non_null(cli);
	assert_string_equal(span_attr_string(cli, "error.type"), "_OTHER");
	assert_int_equal(json_integer_value(json_object_get(cli, "status_code")), 2);
	assert_int_equal(span_attr_int(cli, "http.response.status_code"), -1);
	json_decref(spans);
}

/* A service traced after it opened its connections (the agent started later, or a node
 * agent attaching to a running pod): its kept-alive connection to B carries the trace
 * context as well as a new one would. */
static void a_connection_opened_before_tracing_carries_context_too(void **state)
{
	struct chain *c = *state;
	struct tracer_stats st;
	json_t *spans;

	/* Untraced: A opens its connection to B, and keeps it. */
	get_a(c, "/front-direct", NULL, 200);
	assert_int_equal(start_tracing(c), 0);
	get_a(c, "/front-direct", NULL, 200);
	assert_int_equal(tracer_harness_collect(c->h, 3, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 3);
	assert_chain(spans, "/front-direct", NULL);
	tracer_get_stats(c->h->tracer, &st);
	assert_int_equal(st.tp_injected, 1);
	json_decref(spans);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* What became of the context a client span should have carried: the B spans of its
 * trace, and the sk_msg program's counts, so that a failure says where it was lost. */
static void explain_lost_link(struct chain *c, json_t *spans, json_t *cli)
{
	struct tracer_stats st;
	size_t i;
	json_t *span;

	print_message("# client span %s (trace %s) has no child in B\n", str(cli, "span_id"),
		      str(cli, "trace_id"));
	json_array_foreach(spans, i, span) {
		const char *tid = str(span, "trace_id"), *p = str(span, "parent_span_id");

		if (kind(span) == KIND_SERVER && strstr(span_attr_string(span, "url.path"), "/back") &&
		    (strcmp(tid, str(cli, "trace_id")) == 0 || !p || !*p))
			print_message("#   B span %s trace %s parent %s\n", str(span, "span_id"), tid,
				      p ? p : "-");
	}
	tracer_get_stats(c->h->tracer, &st);
	print_message("#   injected %llu, left alone %llu, failed %llu, calls %llu\n",
		      (unsigned long long)st.tp_injected, (unsigned long long)st.tp_left_alone,
		      (unsigned long long)st.tp_failed, (unsigned long long)st.client_calls);
}

static void concurrent_requests_each_get_their_own_parents(void **state)
{
	struct chain *c = *state;
	CURLM *m = curl_multi_init();
	CURL *e[CONCURRENT];
	char url[128];
	int running = 1;
	size_t i, servers = 0;
	json_t *spans, *span;

	assert_non_null(m);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/front", traced_service_port(c->a));
	for (i = 0; i < CONCURRENT; i++) {
		e[i] = curl_easy_init();
		assert_non_null(e[i]);
		curl_easy_setopt(e[i], CURLOPT_URL, url);
		curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(e[i], CURLOPT_TIMEOUT, 30L);
		curl_multi_add_handle(m, e[i]);
	}
	while (running) {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
		tracer_harness_pump(c->h, 0);
	}
	for (i = 0; i < CONCURRENT; i++) {
		long status = 0;

		curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 200);
		curl_multi_remove_handle(m, e[i]);
		curl_easy_cleanup(e[i]);
	}
	curl_multi_cleanup(m);
	assert_int_equal(tracer_harness_collect(c->h, 3 * CONCURRENT, 15000, 300, &spans), 0);
	print_message("# %zu spans\n", json_array_size(spans));
	assert_int_equal(json_array_size(spans), 3 * CONCURRENT);
	json_array_foreach(spans, i, span) {
		if (kind(span) == KIND_SERVER && find(spans, KIND_SERVER, "/front", NULL) &&
		    strstr(span_attr_string(span, "url.path"), "/front")) {
			/* Exactly this server span's client, and B's span under it. */
			json_t *cli = find(spans, KIND_CLIENT, "/back", str(span, "span_id")), *back;

			assert_non_null(cli);
			back = find(spans, KIND_SERVER, "/back", str(cli, "span_id"));
			if (!back)
				explain_lost_link(c, spans, cli);
			assert_non_null(back);
			assert_string_equal(str(cli, "trace_id"), str(span, "trace_id"));
			assert_string_equal(str(back, "trace_id"), str(span, "trace_id"));
			servers++;
		}
	}
	assert_int_equal(servers, CONCURRENT);
	json_decref(spans);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_call_on_another_goroutine_is_linked_through_the_context, setup, teardown),
		cmocka_unit_test_setup_teardown(a_call_on_the_handler_goroutine_is_its_child, setup, teardown),
		cmocka_unit_test_setup_teardown(an_incoming_traceparent_is_continued_across_both, setup, teardown),
		cmocka_unit_test_setup_teardown(a_request_with_its_own_traceparent_is_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(a_dial_error_is_an_error_span, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_requests_each_get_their_own_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(a_connection_opened_before_tracing_carries_context_too,
						setup_untraced, teardown),
	};

	return AGENT_TESTS_RUN(tests);
}
