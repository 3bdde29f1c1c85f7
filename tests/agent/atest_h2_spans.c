/* HTTP/2 server spans and RED series of a real Go service (tests/fixtures/go/h2svc:
 * HTTP/2 over TLS and h2c on one port), driven by libcurl (nghttp2) and checked on what
 * the real OTLP receiver got: each request over TLS and over h2c is one server span with
 * its method, path, status and client address, and one count in its RED series; a
 * request that carries a traceparent continues that trace; 100 concurrent streams on
 * one connection each get a span of their own, none lost; and a call the service makes
 * with net/http's HTTP/2 client (TLS and h2c) is a client span, the child of the server
 * span that made it; on Go 1.22, the local toolchain and 1.27, and on
 * golang.org/x/net/http2's server (h2c.NewHandler) too. */
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
#include "tests/support/agent_tests_main.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

/* Built by mk/fixtures.mk with the local toolchain. */
#define H2SVC_FIXTURE_GLOB "build/fixtures/h2svc-go*"
#define TID "0af7651916cd43dd8448eb211c80319c"
#define PSID "b7ad6b7169203331"
#define KIND_SERVER 2
#define KIND_CLIENT 3
#define STREAMS 100

struct world {
	struct traced_service *svc;
	struct tracer_harness *h;
	CURL *tls, *h2c; /* one kept connection each */
};

/* The Go minor version of a fixture path (h2svc-go1.<minor>...), 0 when unknown. */
static int fixture_minor(const char *path)
{
	const char *v = strstr(path, "h2svc-go1.");

	return v ? atoi(v + strlen("h2svc-go1.")) : 0;
}

/* The fixtures, in ret_glob (free with globfree): one per Go version built, and the
 * stripped one (symbols from .gopclntab, offsets from the table). */
static int h2svc_fixtures(glob_t *ret_glob)
{
	if (glob(H2SVC_FIXTURE_GLOB "[0-9]", 0, NULL, ret_glob))
		return -ENOENT;
	glob(H2SVC_FIXTURE_GLOB "-stripped", GLOB_APPEND, NULL, ret_glob);
	return 0;
}

/* The first fixture built by a Go that serves h2c (1.24 on), into path[0..size). */
static int h2svc_fixture(char *path, size_t size)
{
	glob_t g;
	int r = -ENOENT;

	if (h2svc_fixtures(&g))
		return r;
	for (size_t i = 0; i < g.gl_pathc && r; i++) {
		if (fixture_minor(g.gl_pathv[i]) >= 24 &&
		    (size_t)snprintf(path, size, "%s", g.gl_pathv[i]) < size)
			r = 0;
	}
	globfree(&g);
	return r;
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

/* An easy handle for HTTP/2 over TLS (self-signed: not verified) or h2c. */
static CURL *h2_handle(int tls)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
			 tls ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (!tls) {
		/* libcurl 7.88 (Debian 12) sends nothing on a prior-knowledge connection it
		 * reuses: a connection per request. */
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	}
	return e;
}

static void set_url(struct world *w, CURL *e, int tls, const char *path)
{
	char url[256];

	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", tls ? "https" : "http",
		 traced_service_port(w->svc), path);
	curl_easy_setopt(e, CURLOPT_URL, url);
}

/* GETs path over HTTP/2 (the world's kept connection), with one extra header line
 * unless NULL; asserts the status and that HTTP/2 carried it. */
static void get(struct world *w, int tls, const char *path, const char *header, long want)
{
	CURL *e = tls ? w->tls : w->h2c;
	struct curl_slist *hl = header ? curl_slist_append(NULL, header) : NULL;
	long status = 0, version = 0;

	set_url(w, e, tls, path);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version);
	assert_int_equal(status, want);
	assert_int_equal(version, CURL_HTTP_VERSION_2_0);
}

/* The service built into fixture running, traced, and a client for each way. */
static int world_start(const char *fixture, struct world *w)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	int r = traced_service_start(fixture, &w->svc);

	if (r == 0)
		r = tracer_harness_start(&on, traced_service_binary(w->svc), &w->h);
	if (r == 0)
		r = tracer_scan(w->h->tracer);
	w->tls = h2_handle(1);
	w->h2c = h2_handle(0);
	if (r == 0 && (!w->tls || !w->h2c))
		r = -ENOMEM;
	return r;
}

static void world_stop(struct world *w)
{
	curl_easy_cleanup(w->tls);
	curl_easy_cleanup(w->h2c);
	tracer_harness_free(w->h);
	traced_service_free(w->svc);
	memset(w, 0, sizeof(*w));
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	char fixture[256];
	int r;

	if (!w)
		return -1;
	*state = w;
	r = h2svc_fixture(fixture, sizeof(fixture));
	if (r == 0)
		r = world_start(fixture, w);
	if (r) {
		print_error("setup: %s\n", strerror(-r));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	if (!w)
		return 0;
	world_stop(w);
	free(w);
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

/* Server spans of path, counted, the last one in *ret_span (may be NULL). */
static size_t count_server(json_t *spans, const char *path, json_t **ret_span)
{
	size_t i, n = 0;
	json_t *span;

	json_array_foreach(spans, i, span) {
		const char *p = span_attr_string(span, "url.path");

		if (kind(span) == KIND_SERVER && p && strcmp(p, path) == 0) {
			n++;
			if (ret_span)
				*ret_span = span;
		}
	}
	return n;
}

struct red_seen {
	uint64_t get200, get418;
};

static void red_cb(void *ud, const char *method, unsigned status, const uint64_t *buckets,
		   uint64_t count, double sum)
{
	struct red_seen *s = ud;

	(void)buckets;
	(void)sum;
	if (strcmp(method, "GET") == 0 && status == 200)
		s->get200 += count;
	if (strcmp(method, "GET") == 0 && status == 418)
		s->get418 += count;
}

/* n GETs of /hello and m of /teapot over tls or h2c: as many spans, with method, path,
 * status and client address, and as many counts in the RED series. */
static void spans_and_red(struct world *w, int tls, int n, int m)
{
	struct red_seen seen = { 0 };
	struct tracer_stats st;
	json_t *spans, *span = NULL;
	const char *client;

	for (int i = 0; i < n; i++)
		get(w, tls, "/hello", NULL, 200);
	for (int i = 0; i < m; i++)
		get(w, tls, "/teapot", NULL, 418);
	assert_int_equal(tracer_harness_collect(w->h, (size_t)(n + m), 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), (size_t)(n + m));
	assert_int_equal(count_server(spans, "/hello", &span), (size_t)n);
	assert_string_equal(span_attr_string(span, "http.request.method"), "GET");
	assert_int_equal(span_attr_int(span, "http.response.status_code"), 200);
	assert_string_equal(span_attr_string(span, "server.address"), "127.0.0.1");
	assert_int_equal(span_attr_int(span, "server.port"), traced_service_port(w->svc));
	client = span_attr_string(span, "client.address");
	assert_non_null(client);
	assert_string_equal(client, "127.0.0.1");
	assert_true(strlen(str(span, "parent_span_id")) == 0);
	assert_int_equal(count_server(spans, "/teapot", &span), (size_t)m);
	assert_int_equal(span_attr_int(span, "http.response.status_code"), 418);
	assert_int_equal(tracer_red_foreach(w->h->tracer, red_cb, &seen), 0);
	assert_int_equal(seen.get200, (uint64_t)n);
	assert_int_equal(seen.get418, (uint64_t)m);
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.requests, (uint64_t)(n + m));
	assert_int_equal(st.inflight_drops, 0);
	json_decref(spans);
}

static void h2_over_tls_requests_are_spans_and_red_counts(void **state)
{
	spans_and_red(*state, 1, 20, 5);
}

static void h2c_requests_are_spans_and_red_counts(void **state)
{
	spans_and_red(*state, 0, 20, 5);
}

static void continues(struct world *w, int tls)
{
	struct tracer_stats st;
	json_t *spans, *span = NULL;

	get(w, tls, "/tp", "traceparent: 00-" TID "-" PSID "-01", 200);
	assert_int_equal(tracer_harness_collect(w->h, 1, 5000, 200, &spans), 0);
	assert_int_equal(count_server(spans, "/tp", &span), 1);
	assert_string_equal(str(span, "trace_id"), TID);
	assert_string_equal(str(span, "parent_span_id"), PSID);
	assert_string_not_equal(str(span, "span_id"), PSID);
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.traceparent_found, 1);
	json_decref(spans);
}

static void an_incoming_traceparent_over_tls_is_continued(void **state)
{
	continues(*state, 1);
}

static void an_incoming_traceparent_over_h2c_is_continued(void **state)
{
	continues(*state, 0);
}

/* A request with more headers than one map group holds (a swiss table of its own, or
 * hmap buckets past the first) still has its traceparent found. */
static void a_traceparent_among_many_headers_is_found(void **state)
{
	struct world *w = *state;
	struct curl_slist *hl = NULL;
	json_t *spans, *span = NULL;
	char line[64];
	long status = 0;

	for (int i = 0; i < 20; i++) {
		snprintf(line, sizeof(line), "x-extra-%02d: v%d", i, i);
		hl = curl_slist_append(hl, line);
	}
	hl = curl_slist_append(hl, "traceparent: 00-" TID "-" PSID "-01");
	set_url(w, w->h2c, 0, "/tp");
	curl_easy_setopt(w->h2c, CURLOPT_HTTPHEADER, hl);
	assert_int_equal(curl_easy_perform(w->h2c), CURLE_OK);
	curl_easy_setopt(w->h2c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	curl_easy_getinfo(w->h2c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 200);
	assert_int_equal(tracer_harness_collect(w->h, 1, 5000, 200, &spans), 0);
	assert_int_equal(count_server(spans, "/tp", &span), 1);
	assert_string_equal(str(span, "trace_id"), TID);
	assert_string_equal(str(span, "parent_span_id"), PSID);
	json_decref(spans);
}

/* STREAMS requests at once on one HTTP/2 connection (TLS: libcurl 7.88 does not reuse
 * an h2c one), each with a traceparent of its own trace: STREAMS spans, each
 * continuing its own request's trace. */
static void concurrent_streams_on_one_connection_each_get_their_span(void **state)
{
	struct world *w = *state;
	CURLM *m = curl_multi_init();
	CURL *e[STREAMS];
	struct curl_slist *hl[STREAMS];
	char line[128], path[32], tid[33];
	int running = 0, seen[STREAMS] = { 0 };
	long conns = 0;
	json_t *spans, *span;
	size_t i;

	assert_non_null(m);
	curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
	for (int k = 0; k < STREAMS; k++) {
		e[k] = h2_handle(1);
		assert_non_null(e[k]);
		snprintf(path, sizeof(path), "/tp?k=%d", k);
		set_url(w, e[k], 1, path);
		curl_easy_setopt(e[k], CURLOPT_PIPEWAIT, 1L);
		snprintf(line, sizeof(line), "traceparent: 00-%024x%08x-" PSID "-01", 0xabcdefu, k + 1);
		hl[k] = curl_slist_append(NULL, line);
		curl_easy_setopt(e[k], CURLOPT_HTTPHEADER, hl[k]);
		curl_multi_add_handle(m, e[k]);
	}
	do {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	} while (running);
	for (int k = 0; k < STREAMS; k++) {
		long status = 0, n = 0;

		curl_easy_getinfo(e[k], CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 200);
		curl_easy_getinfo(e[k], CURLINFO_NUM_CONNECTS, &n);
		conns += n;
		curl_multi_remove_handle(m, e[k]);
		curl_easy_cleanup(e[k]);
		curl_slist_free_all(hl[k]);
	}
	curl_multi_cleanup(m);
	print_message("# %d streams on %ld new connection(s)\n", STREAMS, conns);
	assert_int_equal(conns, 1);
	assert_int_equal(tracer_harness_collect(w->h, STREAMS, 10000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), STREAMS);
	json_array_foreach(spans, i, span) {
		const char *t = str(span, "trace_id");
		unsigned k = 0;

		assert_int_equal(kind(span), KIND_SERVER);
		assert_string_equal(span_attr_string(span, "url.path"), "/tp");
		assert_string_equal(str(span, "parent_span_id"), PSID);
		assert_int_equal(strlen(t), 32);
		snprintf(tid, sizeof(tid), "%024x", 0xabcdefu);
		assert_memory_equal(t, tid, 24);
		assert_int_equal(sscanf(t + 24, "%8x", &k), 1);
		assert_true(k >= 1 && k <= STREAMS);
		seen[k - 1]++;
	}
	for (int k = 0; k < STREAMS; k++)
		assert_int_equal(seen[k], 1);
	json_decref(spans);
}

struct client_red_seen {
	int port;
	uint64_t get200;
};

static void client_red_cb(void *ud, const char *method, unsigned status, int failed,
			  const char *address, unsigned port, const uint64_t *buckets,
			  uint64_t count, double sum)
{
	struct client_red_seen *s = ud;

	(void)buckets;
	(void)sum;
	if (strcmp(method, "GET") == 0 && status == 200 && !failed && address &&
	    strcmp(address, "127.0.0.1") == 0 && (int)port == s->port)
		s->get200 += count;
}

/* path makes the service call its own /hello over HTTP/2 (TLS or h2c) with the
 * request's context: the call's client span is a child of path's server span. */
static void calls_are_children(struct world *w, const char *path)
{
	json_t *spans, *srv = NULL, *cli = NULL, *span;
	size_t i;

	get(w, 1, path, NULL, 200);
	assert_int_equal(tracer_harness_collect(w->h, 3, 5000, 300, &spans), 0);
	assert_int_equal(count_server(spans, path, &srv), 1);
	assert_int_equal(count_server(spans, "/hello", NULL), 1);
	json_array_foreach(spans, i, span) {
		if (kind(span) == KIND_CLIENT)
			cli = span;
	}
	assert_non_null(cli);
	assert_string_equal(str(cli, "parent_span_id"), str(srv, "span_id"));
	assert_string_equal(str(cli, "trace_id"), str(srv, "trace_id"));
	assert_string_equal(span_attr_string(cli, "http.request.method"), "GET");
	assert_int_equal(span_attr_int(cli, "http.response.status_code"), 200);
	assert_string_equal(span_attr_string(cli, "server.address"), "127.0.0.1");
	assert_int_equal(span_attr_int(cli, "server.port"), traced_service_port(w->svc));
	json_decref(spans);
	/* One count in http_client_request_duration_seconds, and one call that went out
	 * without trace context (HTTP/2: none can be added). */
	struct client_red_seen seen = { .port = traced_service_port(w->svc) };
	struct tracer_stats st;

	assert_int_equal(tracer_client_red_foreach(w->h->tracer, client_red_cb, &seen), 0);
	assert_int_equal(seen.get200, 1);
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.client_calls, 1);
	assert_int_equal(st.tp_http2, 1);
	assert_int_equal(st.tp_injected, 0);
}

static void an_h2_call_over_tls_is_a_child_of_its_server_span(void **state)
{
	calls_are_children(*state, "/call-tls");
}

static void an_h2c_call_is_a_child_of_its_server_span(void **state)
{
	calls_are_children(*state, "/call-h2c");
}

/* Every Go version the fixtures are built with (net/http's bundled server up to 1.26
 * and net/http/internal/http2 from 1.27; hmap header maps before 1.24, swiss tables
 * after), and a stripped build: spans over TLS with method, path and status, the
 * traceparent found among many headers, RED counts, and a call's client span the child
 * of its server span. */
static void every_go_version_gives_h2_spans(void **state)
{
	glob_t g;

	(void)state;
	assert_int_equal(h2svc_fixtures(&g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct world w = { 0 };
		struct red_seen seen = { 0 };
		struct curl_slist *hl = NULL;
		json_t *spans, *span = NULL;
		char line[64];

		print_message("# %s\n", g.gl_pathv[i]);
		assert_int_equal(world_start(g.gl_pathv[i], &w), 0);
		for (int k = 0; k < 12; k++) {
			snprintf(line, sizeof(line), "x-extra-%02d: v%d", k, k);
			hl = curl_slist_append(hl, line);
		}
		hl = curl_slist_append(hl, "traceparent: 00-" TID "-" PSID "-01");
		for (int k = 0; k < 4; k++) {
			long status = 0;

			set_url(&w, w.tls, 1, "/tp");
			curl_easy_setopt(w.tls, CURLOPT_HTTPHEADER, hl);
			assert_int_equal(curl_easy_perform(w.tls), CURLE_OK);
			curl_easy_getinfo(w.tls, CURLINFO_RESPONSE_CODE, &status);
			assert_int_equal(status, 200);
		}
		curl_easy_setopt(w.tls, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(hl);
		get(&w, 1, "/teapot", NULL, 418);
		assert_int_equal(tracer_harness_collect(w.h, 5, 5000, 200, &spans), 0);
		assert_int_equal(json_array_size(spans), 5);
		assert_int_equal(count_server(spans, "/tp", &span), 4);
		assert_string_equal(str(span, "trace_id"), TID);
		assert_string_equal(str(span, "parent_span_id"), PSID);
		assert_string_equal(span_attr_string(span, "http.request.method"), "GET");
		assert_int_equal(count_server(spans, "/teapot", &span), 1);
		assert_int_equal(span_attr_int(span, "http.response.status_code"), 418);
		assert_int_equal(tracer_red_foreach(w.h->tracer, red_cb, &seen), 0);
		assert_int_equal(seen.get200, 4);
		assert_int_equal(seen.get418, 1);
		json_decref(spans);
		calls_are_children(&w, "/call-tls");
		world_stop(&w);
	}
	globfree(&g);
}

/* golang.org/x/net/http2's server (h2c.NewHandler; tests/fixtures/go/h2cxnet), plain
 * and stripped (its offsets then from the table's rows for the module's version): h2c
 * requests are spans with method, path and status, counted in the RED series, and an
 * incoming traceparent is continued. */
static void the_x_net_h2c_server_gives_spans(void **state)
{
	glob_t g;

	(void)state;
	assert_int_equal(glob("build/fixtures/h2cxnet-go*", 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct world w = { 0 };
		struct red_seen seen = { 0 };
		json_t *spans, *span = NULL;

		if (strstr(g.gl_pathv[i], ".modinfo"))
			continue;
		print_message("# %s\n", g.gl_pathv[i]);
		assert_int_equal(world_start(g.gl_pathv[i], &w), 0);
		for (int k = 0; k < 10; k++)
			get(&w, 0, "/hello", NULL, 200);
		for (int k = 0; k < 3; k++)
			get(&w, 0, "/teapot", NULL, 418);
		get(&w, 0, "/tp", "traceparent: 00-" TID "-" PSID "-01", 200);
		assert_int_equal(tracer_harness_collect(w.h, 14, 5000, 300, &spans), 0);
		assert_int_equal(json_array_size(spans), 14);
		assert_int_equal(count_server(spans, "/hello", &span), 10);
		assert_string_equal(span_attr_string(span, "http.request.method"), "GET");
		assert_int_equal(span_attr_int(span, "http.response.status_code"), 200);
		assert_string_equal(span_attr_string(span, "client.address"), "127.0.0.1");
		assert_int_equal(count_server(spans, "/teapot", &span), 3);
		assert_int_equal(span_attr_int(span, "http.response.status_code"), 418);
		assert_int_equal(count_server(spans, "/tp", &span), 1);
		assert_string_equal(str(span, "trace_id"), TID);
		assert_string_equal(str(span, "parent_span_id"), PSID);
		assert_int_equal(tracer_red_foreach(w.h->tracer, red_cb, &seen), 0);
		assert_int_equal(seen.get200, 11);
		assert_int_equal(seen.get418, 3);
		json_decref(spans);
		world_stop(&w);
	}
	globfree(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(h2_over_tls_requests_are_spans_and_red_counts,
						setup, teardown),
		cmocka_unit_test_setup_teardown(h2c_requests_are_spans_and_red_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(an_incoming_traceparent_over_tls_is_continued,
						setup, teardown),
		cmocka_unit_test_setup_teardown(an_incoming_traceparent_over_h2c_is_continued,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_traceparent_among_many_headers_is_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			concurrent_streams_on_one_connection_each_get_their_span, setup, teardown),
		cmocka_unit_test_setup_teardown(an_h2_call_over_tls_is_a_child_of_its_server_span,
						setup, teardown),
		cmocka_unit_test_setup_teardown(an_h2c_call_is_a_child_of_its_server_span, setup,
						teardown),
		cmocka_unit_test(every_go_version_gives_h2_spans),
		cmocka_unit_test(the_x_net_h2c_server_gives_spans),
	};

	return AGENT_TESTS_RUN(tests);
}
