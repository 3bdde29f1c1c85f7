/* One trace across three real Go services (tests/fixtures/go/chain3), all traced by one
 * tracer, checked on what the real OTLP receiver got:
 *
 *   A (HTTP) --net/http, HTTP/1.1--> B (HTTP) --gRPC, h2c--> C (gRPC) --SQL--> SQLite
 *
 * one request to A is one trace of six spans: A's server span, its HTTP client span, B's
 * server span, B's gRPC client span, C's gRPC server span and C's database span, each
 * the parent of the next, each from its own process; 200 concurrent requests with
 * distinct ids are 200 such trees, none lost and none mixed up (the id in A's url.full
 * and in C's query text belong to the same trace), with nothing dropped on the way; and
 * a request that comes to A with a traceparent continues that trace down to C.
 *
 * The link from B's gRPC client span to C's server span needs the agent to send trace
 * context over gRPC (h2c): each test checks everything else first and that link last,
 * saying which link is missing. */
#include <curl/curl.h>
#include <errno.h>
#include <glob.h>
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
#include "bpf/h2_frame_walk.h"
#include "tests/support/go_fixtures.h"
#include "tests/support/agent_tests_main.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

/* Built by mk/fixtures.mk with the local toolchain. */
#define FIXTURE_GLOB "build/fixtures/chain3-go*"
#define TID "0af7651916cd43dd8448eb211c80319c"
#define PSID "b7ad6b7169203331"
#define KIND_SERVER 2
#define KIND_CLIENT 3
#define GET_METHOD "demo.Store/Get"
#define SPANS_PER_TRACE 6
#define CONCURRENT 200

struct chain {
	struct traced_service *a, *b, *c;
	struct tracer_harness *h;
};

static int fixture(char *path, size_t size)
{
	return go_fixture_find(FIXTURE_GLOB, path, size);
}

/* C, then B calling it, then A calling B; one tracer for the three (they run the same
 * executable), every request sampled, with db.query.text on (the id is in it). */
static int setup(void **state)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct chain *c = calloc(1, sizeof(*c));
	struct tracer_probes probes;
	char path[256], grpc_addr[64], next[64];
	int r;

	if (!c)
		return -1;
	*state = c;
	r = fixture(path, sizeof(path));
	if (r == 0) {
		const char *args[] = { "-role", "store", NULL };

		r = traced_service_start_args(path, "-grpc", args, &c->c);
	}
	if (r == 0) {
		const char *args[] = { "-role", "middle", "-grpc", grpc_addr, NULL };

		snprintf(grpc_addr, sizeof(grpc_addr), "127.0.0.1:%d", traced_service_port(c->c));
		r = traced_service_start_args(path, "-addr", args, &c->b);
	}
	if (r == 0) {
		const char *args[] = { "-role", "front", "-next", next, NULL };

		snprintf(next, sizeof(next), "http://127.0.0.1:%d", traced_service_port(c->b));
		r = traced_service_start_args(path, "-addr", args, &c->a);
	}
	if (r == 0)
		r = tracer_harness_start(&on, traced_service_binary(c->a), &c->h);
	if (r == 0) {
		tracer_probes_default(&probes);
		probes.db_query_text = 1;
		r = tracer_set_probes(c->h->tracer, 0, &probes);
	}
	if (r == 0)
		r = tracer_scan(c->h->tracer);
	if (r) {
		print_error("setup: %s\n", strerror(-r));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct chain *c = *state;

	if (!c)
		return 0;
	tracer_harness_free(c->h);
	traced_service_free(c->a);
	traced_service_free(c->b);
	traced_service_free(c->c);
	free(c);
	return 0;
}

static const char *str(json_t *span, const char *key)
{
	const char *s = json_string_value(json_object_get(span, key));

	return s ? s : "";
}

static long long kind(json_t *span)
{
	return json_integer_value(json_object_get(span, "kind"));
}

/* The six spans of one request, as found in what the receiver got. */
struct trace6 {
	json_t *a_srv, *a_cli, *b_srv, *b_cli, *c_srv, *c_db;
};

static int ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The id a span of request id belongs to: A's client span's url.full ends with
 * "/stock?id=<id>", C's query text with "WHERE id = <id>". */
static int is_a_client_of(json_t *span, int id)
{
	char want[32];

	snprintf(want, sizeof(want), "/stock?id=%d", id);
	return kind(span) == KIND_CLIENT && ends_with(span_attr_string(span, "url.full"), want);
}

static int is_query_of(json_t *span, int id)
{
	char want[32];

	snprintf(want, sizeof(want), "WHERE id = %d", id);
	return kind(span) == KIND_CLIENT && span_attr_string(span, "db.system.name") &&
	       ends_with(span_attr_string(span, "db.query.text"), want);
}

/* The span with this span id; NULL when there is none or id is empty. */
static json_t *by_id(json_t *spans, const char *id)
{
	return id && *id ? otlp_receiver_find_span(spans, id) : NULL;
}

/* The one span of kind k whose parent is parent and that pass accepts; NULL. */
static json_t *child(json_t *spans, json_t *parent, long long k, int (*pass)(json_t *))
{
	size_t i;
	json_t *span;

	if (!parent)
		return NULL;
	json_array_foreach(spans, i, span) {
		if (kind(span) == k && strcmp(str(span, "parent_span_id"), str(parent, "span_id")) == 0 &&
		    pass(span))
			return span;
	}
	return NULL;
}

static int is_stock_server(json_t *span)
{
	return strcmp(span_attr_string(span, "url.path") ? span_attr_string(span, "url.path") : "",
		      "/stock") == 0;
}

static int is_get_call(json_t *span)
{
	return strcmp(str(span, "name"), GET_METHOD) == 0;
}

/* Request id's spans: found from both ends, A's client span (by the id in its URL) and
 * C's database span (by the id in its query), and by the parent links between. */
static void find_trace(json_t *spans, int id, struct trace6 *t)
{
	size_t i;
	json_t *span;

	memset(t, 0, sizeof(*t));
	json_array_foreach(spans, i, span) {
		if (is_a_client_of(span, id))
			t->a_cli = span;
		if (is_query_of(span, id))
			t->c_db = span;
	}
	if (t->a_cli)
		t->a_srv = by_id(spans, str(t->a_cli, "parent_span_id"));
	t->b_srv = child(spans, t->a_cli, KIND_SERVER, is_stock_server);
	t->b_cli = child(spans, t->b_srv, KIND_CLIENT, is_get_call);
	if (t->c_db)
		t->c_srv = by_id(spans, str(t->c_db, "parent_span_id"));
}

static void assert_pid(json_t *span, struct traced_service *svc)
{
	assert_int_equal(span_attr_int(span, "process.pid"), traced_service_pid(svc));
}

/* Everything but the link B's gRPC client span -> C's gRPC server span: the four spans
 * of A and B one chain in one trace, C's server span the parent of its query, each
 * span from its own process with its attributes. Returns A's trace id (borrowed). */
static const char *assert_all_but_the_grpc_link(struct chain *c, struct trace6 *t)
{
	assert_non_null(t->a_cli);
	assert_non_null(t->a_srv);
	assert_int_equal(kind(t->a_srv), KIND_SERVER);
	assert_string_equal(span_attr_string(t->a_srv, "url.path"), "/order");
	assert_int_equal(span_attr_int(t->a_srv, "http.response.status_code"), 200);
	assert_int_equal(span_attr_int(t->a_cli, "http.response.status_code"), 200);
	assert_non_null(t->b_srv);
	assert_int_equal(span_attr_int(t->b_srv, "http.response.status_code"), 200);
	assert_non_null(t->b_cli);
	assert_string_equal(span_attr_string(t->b_cli, "rpc.system"), "grpc");
	assert_string_equal(span_attr_string(t->b_cli, "rpc.service"), "demo.Store");
	assert_string_equal(span_attr_string(t->b_cli, "rpc.method"), "Get");
	assert_int_equal(span_attr_int(t->b_cli, "rpc.grpc.status_code"), 0);
	assert_non_null(t->c_db);
	assert_string_equal(span_attr_string(t->c_db, "db.system.name"), "sqlite");
	assert_string_equal(span_attr_string(t->c_db, "db.operation.name"), "SELECT");
	assert_non_null(t->c_srv);
	assert_int_equal(kind(t->c_srv), KIND_SERVER);
	assert_string_equal(str(t->c_srv, "name"), GET_METHOD);
	assert_string_equal(span_attr_string(t->c_srv, "rpc.system"), "grpc");
	assert_int_equal(span_attr_int(t->c_srv, "rpc.grpc.status_code"), 0);
	assert_pid(t->a_srv, c->a);
	assert_pid(t->a_cli, c->a);
	assert_pid(t->b_srv, c->b);
	assert_pid(t->b_cli, c->b);
	assert_pid(t->c_srv, c->c);
	assert_pid(t->c_db, c->c);
	assert_string_equal(str(t->a_cli, "trace_id"), str(t->a_srv, "trace_id"));
	assert_string_equal(str(t->b_srv, "trace_id"), str(t->a_srv, "trace_id"));
	assert_string_equal(str(t->b_cli, "trace_id"), str(t->a_srv, "trace_id"));
	assert_string_equal(str(t->c_db, "trace_id"), str(t->c_srv, "trace_id"));
	return str(t->a_srv, "trace_id");
}

/* The link across gRPC: does C's server span continue B's client span? */
static int grpc_link_ok(const struct trace6 *t)
{
	return strcmp(str(t->c_srv, "parent_span_id"), str(t->b_cli, "span_id")) == 0 &&
	       strcmp(str(t->c_srv, "trace_id"), str(t->b_cli, "trace_id")) == 0;
}

static void assert_grpc_link(const struct trace6 *t)
{
	if (!grpc_link_ok(t))
		fail_msg("C's gRPC server span %s (trace %s, parent \"%s\") does not continue B's "
			 "gRPC client span %s (trace %s): no trace context reached C over gRPC (h2c)",
			 str(t->c_srv, "span_id"), str(t->c_srv, "trace_id"),
			 str(t->c_srv, "parent_span_id"), str(t->b_cli, "span_id"),
			 str(t->b_cli, "trace_id"));
}

static void get_a(struct chain *c, int id, const char *const *headers)
{
	char path[64];
	long status = 0;

	snprintf(path, sizeof(path), "/order?id=%d", id);
	assert_int_equal(traced_service_get(c->a, path, headers, &status), 0);
	assert_int_equal(status, 200);
}

static void one_request_is_one_trace_across_the_three(void **state)
{
	struct chain *c = *state;
	struct trace6 t;
	json_t *spans;

	get_a(c, 7, NULL);
	assert_int_equal(tracer_harness_collect(c->h, SPANS_PER_TRACE, 5000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), SPANS_PER_TRACE);
	find_trace(spans, 7, &t);
	assert_all_but_the_grpc_link(c, &t);
	assert_string_equal(str(t.a_srv, "parent_span_id"), ""); /* the trace's root */
	assert_grpc_link(&t);
	/* And so all six in A's trace. */
	assert_string_equal(str(t.c_srv, "trace_id"), str(t.a_srv, "trace_id"));
	assert_string_equal(str(t.c_db, "trace_id"), str(t.a_srv, "trace_id"));
	json_decref(spans);
}

static void an_incoming_traceparent_is_continued_down_to_c(void **state)
{
	struct chain *c = *state;
	const char *hdr[] = { "traceparent: 00-" TID "-" PSID "-01", NULL };
	struct trace6 t;
	json_t *spans;

	get_a(c, 9, hdr);
	assert_int_equal(tracer_harness_collect(c->h, SPANS_PER_TRACE, 5000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), SPANS_PER_TRACE);
	find_trace(spans, 9, &t);
	assert_string_equal(assert_all_but_the_grpc_link(c, &t), TID);
	assert_string_equal(str(t.a_srv, "parent_span_id"), PSID);
	assert_grpc_link(&t);
	assert_string_equal(str(t.c_srv, "trace_id"), TID);
	assert_string_equal(str(t.c_db, "trace_id"), TID);
	json_decref(spans);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* 200 requests at once, ids 1..200: 200 trees of six, each with its own id at both
 * ends, and nothing dropped by the kernel side, the tracer or the exporter. */
static void concurrent_requests_are_each_their_own_tree(void **state)
{
	struct chain *c = *state;
	CURLM *m = curl_multi_init();
	CURL *e[CONCURRENT];
	struct tracer_stats st;
	struct otlp_exporter_stats es;
	static struct trace6 trees[CONCURRENT];
	char url[128];
	int running = 1, linked = 0;
	size_t i;
	json_t *spans;

	assert_non_null(m);
	for (i = 0; i < CONCURRENT; i++) {
		e[i] = curl_easy_init();
		assert_non_null(e[i]);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/order?id=%zu",
			 traced_service_port(c->a), i + 1);
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
	assert_int_equal(tracer_harness_collect(c->h, SPANS_PER_TRACE * CONCURRENT, 20000, 300,
						&spans), 0);
	print_message("# %zu spans\n", json_array_size(spans));
	tracer_get_stats(c->h->tracer, &st);
	otlp_exporter_get_stats(c->h->ex, &es);
	print_message("# requests %llu sampled %llu, ring drops %llu, in-flight drops %llu, client "
		      "ring drops %llu, missing starts %llu, db ring drops %llu, db missing starts "
		      "%llu, invalid records %llu; exported %llu\n",
		      (unsigned long long)st.requests, (unsigned long long)st.sampled,
		      (unsigned long long)st.ringbuf_drops, (unsigned long long)st.inflight_drops,
		      (unsigned long long)st.client_ringbuf_drops,
		      (unsigned long long)st.client_missing_start,
		      (unsigned long long)st.db_ringbuf_drops, (unsigned long long)st.db_missing_start,
		      (unsigned long long)st.records_invalid, (unsigned long long)es.spans_exported);
	print_message("# gRPC trace context: %llu calls filed for their HEADERS frame, %llu "
		      "appended on the wire, %llu missed (frame cut by a write or over a write's "
		      "%d), %llu refused by the kernel, %llu writes out of step\n",
		      (unsigned long long)st.grpc_tp_filed,
		      (unsigned long long)st.grpc_tp_injected, (unsigned long long)st.grpc_tp_missed,
		      H2W_HITS_MAX, (unsigned long long)st.tp_failed,
		      (unsigned long long)st.h2_out_of_step);

	assert_int_equal(json_array_size(spans), SPANS_PER_TRACE * CONCURRENT);
	/* Every call's context went out: none lost between the probes and the wire. */
	assert_int_equal(st.grpc_tp_filed, CONCURRENT);
	assert_int_equal(st.grpc_tp_injected, CONCURRENT);
	/* Counted by the probes: each request's two HTTP server requests (A's and B's), its
	 * HTTP call, its RPC on both sides and its query. */
	assert_int_equal(st.client_calls, CONCURRENT);
	assert_int_equal(st.grpc_server_rpcs, CONCURRENT);
	assert_int_equal(st.grpc_client_calls, CONCURRENT);
	assert_int_equal(st.db_calls, CONCURRENT);
	assert_int_equal(st.ringbuf_drops, 0);
	assert_int_equal(st.inflight_drops, 0);
	assert_int_equal(st.client_ringbuf_drops, 0);
	assert_int_equal(st.client_missing_start, 0);
	assert_int_equal(st.db_ringbuf_drops, 0);
	assert_int_equal(st.db_missing_start, 0);
	assert_int_equal(st.records_invalid, 0);
	assert_int_equal(st.spans_delivered, SPANS_PER_TRACE * CONCURRENT);
	for (int k = 0; k < OTLP_DROP__COUNT; k++)
		assert_int_equal(es.spans_dropped[k], 0);
	assert_int_equal(es.spans_exported, SPANS_PER_TRACE * CONCURRENT);
	for (int id = 1; id <= CONCURRENT; id++) {
		struct trace6 *t = &trees[id - 1];

		find_trace(spans, id, t);
		assert_all_but_the_grpc_link(c, t);
		assert_string_equal(str(t->a_srv, "parent_span_id"), "");
		/* Not some other request's: the trees share no span (the other four are
		 * each one span's only child or parent). */
		for (int k = 0; k < id - 1; k++) {
			assert_ptr_not_equal(trees[k].a_srv, t->a_srv);
			assert_ptr_not_equal(trees[k].c_srv, t->c_srv);
		}
		linked += grpc_link_ok(t);
	}
	print_message("# %d of %d requests: C's server span continues B's gRPC call\n", linked,
		      CONCURRENT);
	for (int id = 1; id <= CONCURRENT; id++)
		assert_grpc_link(&trees[id - 1]);
	json_decref(spans);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(one_request_is_one_trace_across_the_three, setup,
						teardown),
		cmocka_unit_test_setup_teardown(an_incoming_traceparent_is_continued_down_to_c, setup,
						teardown),
		cmocka_unit_test_setup_teardown(concurrent_requests_are_each_their_own_tree, setup,
						teardown),
	};

	return AGENT_TESTS_RUN(tests);
}
