/* gRPC server and client spans of a real Go service (tests/fixtures/go/grpcweb: an HTTP
 * handler that calls grpc-go's health service in the same process), checked on what
 * the real OTLP receiver got: the HTTP server span, its gRPC client call as its child,
 * and the gRPC server span, with the RPC semantic conventions' attributes and status
 * codes (OK, NOT_FOUND, UNIMPLEMENTED); the calls a gRPC handler makes, on its own
 * goroutine and on another with its context, as children of its server span; a
 * traceparent sent in the call's metadata is
 * continued by the server span; the RED histograms on /metrics count every RPC; and a
 * build against a grpc release the offsets table has no row for (stripped: no DWARF)
 * has its gRPC probes skipped, with the reason counted, while its HTTP spans arrive;
 * a gRPC server with no net/http server in it (tests/fixtures/go/grpcserver,
 * stripped: its offsets from the table) is traced for its RPCs alone; and a stripped
 * build against grpc v1.62.2 (the layout before transport.ServerStream, WriteStatus
 * rather than writeStatus) gets the same spans from the offsets table. */
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

#include "agent/prom_text.h"
#include "agent/rpc_red_metrics.h"
#include "agent/tracer.h"
#include "tests/support/agent_tests_main.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

/* Built by mk/fixtures.mk with the local toolchain. */
#define FIXTURE_GLOB "build/fixtures/grpcweb-go*"
#define GRPC_ONLY_GLOB "build/fixtures/grpcserver-go*-stripped"
#define TID "0af7651916cd43dd8448eb211c80319c"
#define PSID "b7ad6b7169203331"
#define KIND_SERVER 2
#define KIND_CLIENT 3
#define STATUS_ERROR 2
#define CHECK "grpc.health.v1.Health/Check"

struct world {
	struct traced_service *svc;
	struct tracer_harness *h;
};

/* Which build of the fixtures a test runs. */
enum build {
	B_PINNED,    /* grpcweb against the grpc its go.mod pins, with DWARF */
	B_OLD,       /* grpcweb, stripped, against grpc v1.60.1: no offsets */
	B_GRPC_ONLY, /* grpcserver, stripped: no net/http server */
	B_V162,      /* grpcweb, stripped, against grpc v1.62.2: the table's oldest row */
};
static const char *const build_suffix[] = { "", "-old", NULL, "-v162" };

static int fixture(enum build which, char *path, size_t size)
{
	glob_t g;
	int r = -ENOENT;

	if (which == B_GRPC_ONLY) {
		if (glob(GRPC_ONLY_GLOB, 0, NULL, &g) == 0) {
			if (g.gl_pathc && (size_t)snprintf(path, size, "%s", g.gl_pathv[0]) < size)
				r = 0;
			globfree(&g);
		}
		return r;
	}
	if (glob(FIXTURE_GLOB, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && r; i++) {
			/* build/fixtures/grpcweb-go1.26.8<suffix> */
			const char *p = g.gl_pathv[i], *v = strstr(p, "grpcweb-go");
			const char *suffix = v ? strchr(v + strlen("grpcweb-go"), '-') : NULL;

			if (v && !strstr(p, ".modinfo") &&
			    strcmp(suffix ? suffix : "", build_suffix[which]) == 0 &&
			    (size_t)snprintf(path, size, "%s", p) < size)
				r = 0;
		}
		globfree(&g);
	}
	return r;
}

static int start(void **state, enum build which)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct world *w = calloc(1, sizeof(*w));
	char path[256];
	int r;

	if (!w)
		return -1;
	*state = w;
	r = fixture(which, path, sizeof(path));
	if (r == 0)
		r = traced_service_start(path, &w->svc);
	if (r == 0)
		r = tracer_harness_start(&on, traced_service_binary(w->svc), &w->h);
	if (r == 0)
		r = tracer_scan(w->h->tracer);
	if (r) {
		print_error("setup: %s\n", strerror(-r));
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	return start(state, B_PINNED);
}

static int setup_old(void **state)
{
	return start(state, B_OLD);
}

static int setup_v162(void **state)
{
	return start(state, B_V162);
}

static int setup_grpc_only(void **state)
{
	return start(state, B_GRPC_ONLY);
}

static int teardown(void **state)
{
	struct world *w = *state;

	if (!w)
		return 0;
	tracer_harness_free(w->h);
	traced_service_free(w->svc);
	free(w);
	return 0;
}

static const char *str(json_t *span, const char *key)
{
	return json_string_value(json_object_get(span, key));
}

static long long num(json_t *span, const char *key)
{
	return json_integer_value(json_object_get(span, key));
}

/* The one span of kind k named name (and whose parent is parent, unless NULL). */
static json_t *find(json_t *spans, long long k, const char *name, const char *parent)
{
	size_t i;
	json_t *span;

	json_array_foreach(spans, i, span) {
		if (num(span, "kind") != k || strcmp(str(span, "name"), name) != 0)
			continue;
		if (parent && strcmp(str(span, "parent_span_id"), parent) != 0)
			continue;
		return span;
	}
	return NULL;
}

/* The HTTP server span of url.path path. */
static json_t *find_http(json_t *spans, const char *path)
{
	size_t i;
	json_t *span;

	json_array_foreach(spans, i, span) {
		const char *u = span_attr_string(span, "url.path");

		if (num(span, "kind") == KIND_SERVER && u && strcmp(u, path) == 0)
			return span;
	}
	return NULL;
}

static void get(struct world *w, const char *path)
{
	long status = 0;

	assert_int_equal(traced_service_get(w->svc, path, NULL, &status), 0);
	assert_int_equal(status, 200);
}

static void assert_rpc(json_t *span, const char *method, long long code)
{
	assert_non_null(span);
	assert_string_equal(span_attr_string(span, "rpc.system"), "grpc");
	assert_string_equal(span_attr_string(span, "rpc.service"), "grpc.health.v1.Health");
	assert_string_equal(span_attr_string(span, "rpc.method"), method);
	assert_int_equal(span_attr_int(span, "rpc.grpc.status_code"), code);
}

/* HTTP server -> gRPC client (its child, found on the handler's goroutine) ; the gRPC
 * server span, OK. */
static void a_call_from_a_handler_is_its_child_and_the_server_span_has_the_method(void **state)
{
	struct world *w = *state;
	struct tracer_stats st;
	json_t *spans, *http, *cli, *srv;

	get(w, "/call?service=");
	assert_int_equal(tracer_harness_collect(w->h, 3, 5000, 200, &spans), 0);
	http = find_http(spans, "/call");
	assert_non_null(http);
	cli = find(spans, KIND_CLIENT, CHECK, str(http, "span_id"));
	assert_rpc(cli, "Check", 0);
	assert_string_equal(str(cli, "trace_id"), str(http, "trace_id"));
	assert_int_not_equal(num(cli, "status_code"), STATUS_ERROR);
	srv = find(spans, KIND_SERVER, CHECK, NULL);
	assert_rpc(srv, "Check", 0);
	assert_int_not_equal(num(srv, "status_code"), STATUS_ERROR);
	/* Not the same span, and within the client call's time. */
	assert_string_not_equal(str(srv, "span_id"), str(cli, "span_id"));
	assert_true(num(srv, "start") >= num(cli, "start"));
	assert_true(num(srv, "end") <= num(cli, "end"));
	tracer_get_stats(w->h->tracer, &st);
	print_message("# gRPC server RPCs %llu, client calls %llu, propagation %s: %llu of "
		      "%llu calls' context appended to their HEADERS frame, writes out of step "
		      "%llu\n",
		      (unsigned long long)st.grpc_server_rpcs,
		      (unsigned long long)st.grpc_client_calls, st.grpc_propagation,
		      (unsigned long long)st.grpc_tp_injected,
		      (unsigned long long)st.grpc_tp_filed,
		      (unsigned long long)st.h2_out_of_step);
	/* The call's context went with it over h2c: the server span is the client span's
	 * child, in the same trace. */
	assert_string_equal(str(srv, "trace_id"), str(cli, "trace_id"));
	assert_string_equal(str(srv, "parent_span_id"), str(cli, "span_id"));
	assert_int_equal(st.grpc_server_rpcs, 1);
	assert_int_equal(st.grpc_client_calls, 1);
	assert_string_equal(st.grpc_propagation, "sk_msg");
	assert_int_equal(st.grpc_tp_filed, 1);
	assert_int_equal(st.grpc_tp_injected, 1);
	json_decref(spans);
}

/* A status error on both sides: NOT_FOUND (5) from the handler, UNIMPLEMENTED (12) for
 * a method the server lacks. */
static void error_codes_are_on_both_sides(void **state)
{
	struct world *w = *state;
	json_t *spans, *cli, *srv;

	get(w, "/call?service=nope");
	get(w, "/watch");
	assert_int_equal(tracer_harness_collect(w->h, 6, 5000, 200, &spans), 0);
	cli = find(spans, KIND_CLIENT, CHECK, NULL);
	assert_rpc(cli, "Check", 5);
	assert_int_equal(num(cli, "status_code"), STATUS_ERROR);
	assert_string_equal(span_attr_string(cli, "error.type"), "NOT_FOUND");
	srv = find(spans, KIND_SERVER, CHECK, NULL);
	assert_rpc(srv, "Check", 5);
	/* NOT_FOUND is the server's answer, not its failure (semconv). */
	assert_int_not_equal(num(srv, "status_code"), STATUS_ERROR);
	cli = find(spans, KIND_CLIENT, "grpc.health.v1.Health/Missing", NULL);
	assert_rpc(cli, "Missing", 12);
	assert_int_equal(num(cli, "status_code"), STATUS_ERROR);
	srv = find(spans, KIND_SERVER, "grpc.health.v1.Health/Missing", NULL);
	assert_rpc(srv, "Missing", 12);
	assert_int_equal(num(srv, "status_code"), STATUS_ERROR);
	json_decref(spans);
}

/* The calls a gRPC handler makes are its children: on its goroutine, and on a goroutine
 * of its own with the handler's context (found through the stream's context). */
static void a_grpc_handlers_calls_are_its_children(void **state)
{
	struct world *w = *state;
	json_t *spans, *http, *cli, *srv, *on_goroutine, *through_context;

	get(w, "/fanout");
	assert_int_equal(tracer_harness_collect(w->h, 7, 5000, 300, &spans), 0);
	http = find_http(spans, "/fanout");
	assert_non_null(http);
	cli = find(spans, KIND_CLIENT, "demo.Fanout/Call", str(http, "span_id"));
	assert_non_null(cli);
	srv = find(spans, KIND_SERVER, "demo.Fanout/Call", NULL);
	assert_non_null(srv);
	assert_string_equal(span_attr_string(srv, "rpc.service"), "demo.Fanout");
	on_goroutine = find(spans, KIND_CLIENT, CHECK, str(srv, "span_id"));
	assert_non_null(on_goroutine);
	assert_int_equal(span_attr_int(on_goroutine, "rpc.grpc.status_code"), 0);
	assert_string_equal(str(on_goroutine, "trace_id"), str(srv, "trace_id"));
	/* The second call: NOT_FOUND, made on the handler's goroutine of its own. */
	through_context = NULL;
	{
		size_t i;
		json_t *span;

		json_array_foreach(spans, i, span) {
			if (num(span, "kind") == KIND_CLIENT && strcmp(str(span, "name"), CHECK) == 0 &&
			    span_attr_int(span, "rpc.grpc.status_code") == 5)
				through_context = span;
		}
	}
	assert_non_null(through_context);
	assert_string_equal(str(through_context, "parent_span_id"), str(srv, "span_id"));
	assert_string_equal(str(through_context, "trace_id"), str(srv, "trace_id"));
	json_decref(spans);
}

/* A traceparent in the call's metadata: the server span continues that trace. */
static void a_traceparent_in_the_metadata_is_continued(void **state)
{
	struct world *w = *state;
	struct tracer_stats st;
	json_t *spans, *srv;

	get(w, "/call?service=&tp=00-" TID "-" PSID "-01");
	assert_int_equal(tracer_harness_collect(w->h, 3, 5000, 200, &spans), 0);
	srv = find(spans, KIND_SERVER, CHECK, NULL);
	assert_rpc(srv, "Check", 0);
	assert_string_equal(str(srv, "trace_id"), TID);
	assert_string_equal(str(srv, "parent_span_id"), PSID);
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.traceparent_found, 1);
	/* The call's own traceparent went as it was: none appended beside it. */
	assert_int_equal(st.grpc_tp_left_alone, 1);
	assert_int_equal(st.grpc_tp_injected, 0);
	json_decref(spans);
}

struct red_count {
	int client;
	const char *method;
	unsigned code;
	uint64_t count;
};

static void count_red(void *ud, int client, const char *full, size_t len, unsigned code,
		      const uint64_t *buckets, uint64_t count, double sum)
{
	struct red_count *c = ud;

	if (client == c->client && code == c->code && strlen(c->method) == len &&
	    memcmp(full, c->method, len) == 0)
		c->count += count;
}

/* Every RPC, sampled or not, in the RED histograms, and on /metrics under the RPC
 * semantic conventions' names. */
static void the_red_histograms_count_every_rpc(void **state)
{
	struct world *w = *state;
	struct red_count srv_ok = { 0, "/" CHECK, 0, 0 }, cli_nf = { 1, "/" CHECK, 5, 0 };
	struct prom_text out = { 0 };
	const char *want = "rpc_server_duration_seconds_count{rpc_system=\"grpc\","
			   "rpc_service=\"grpc.health.v1.Health\",rpc_method=\"Check\","
			   "rpc_grpc_status_code=\"0\"} 3";
	json_t *spans;

	for (int i = 0; i < 3; i++)
		get(w, "/call?service=");
	get(w, "/call?service=nope");
	assert_int_equal(tracer_harness_collect(w->h, 12, 5000, 200, &spans), 0);
	json_decref(spans);
	assert_int_equal(tracer_grpc_red_foreach(w->h->tracer, count_red, &srv_ok), 0);
	assert_int_equal(tracer_grpc_red_foreach(w->h->tracer, count_red, &cli_nf), 0);
	assert_int_equal(srv_ok.count, 3);
	assert_int_equal(cli_nf.count, 1);
	assert_int_equal(rpc_red_metrics_scrape(w->h->tracer, &out), 0);
	assert_non_null(out.data);
	if (!strstr(out.data, want))
		print_error("%s\n", out.data);
	assert_non_null(strstr(out.data, want));
	assert_non_null(strstr(out.data, "rpc_client_duration_seconds_count{rpc_system=\"grpc\","
					"rpc_service=\"grpc.health.v1.Health\",rpc_method=\"Check\","
					"rpc_grpc_status_code=\"5\"} 1"));
	assert_non_null(strstr(out.data, "autotrace_agent_grpc_propagation_info{mechanism=\"sk_msg\"} 1"));
	free(out.data);
}

/* grpc v1.60.1, stripped: no offsets, the gRPC probes skipped with the reason counted;
 * its net/http server spans arrive all the same. */
static void a_grpc_release_without_offsets_is_skipped_and_http_goes_on(void **state)
{
	struct world *w = *state;
	struct tracer_stats st;
	json_t *spans;

	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.skipped[TRACER_SKIP_GRPC_UNSUPPORTED], 1);
	assert_string_equal(tracer_skip_reason_name(TRACER_SKIP_GRPC_UNSUPPORTED),
			    "grpc_unsupported");
	assert_int_equal(st.processes, 1);
	{
		struct tracer_failure f[TRACER_MAX_FAILURES];

		/* What the health report's failures list says. */
		assert_int_equal(tracer_failures(w->h->tracer, f, TRACER_MAX_FAILURES), 1);
		assert_string_equal(f[0].reason, "GrpcUnsupported");
		assert_non_null(strstr(f[0].exe, "grpcweb"));
		assert_non_null(strstr(f[0].message, "no offsets for google.golang.org/grpc v1.60.1"));
	}
	get(w, "/hello");
	get(w, "/call?service=");
	assert_int_equal(tracer_harness_collect(w->h, 2, 5000, 300, &spans), 0);
	assert_non_null(find_http(spans, "/hello"));
	assert_non_null(find_http(spans, "/call"));
	/* No gRPC span: the HTTP spans, and the handler's spans only. */
	assert_null(find(spans, KIND_SERVER, CHECK, NULL));
	assert_null(find(spans, KIND_CLIENT, CHECK, NULL));
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.grpc_server_rpcs, 0);
	json_decref(spans);
}

/* A gRPC server alone: its RPCs are traced, from the offsets table (no DWARF). */
static void a_grpc_server_without_net_http_is_traced(void **state)
{
	struct world *w = *state;
	struct tracer_stats st;
	char path[256], cmd[512];
	json_t *spans, *srv;

	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.processes, 1);
	assert_int_equal(fixture(B_GRPC_ONLY, path, sizeof(path)), 0);
	/* Its own client, untraced (another executable than the one traced). */
	snprintf(cmd, sizeof(cmd), "%s -check 127.0.0.1:%d >/dev/null", path,
		 traced_service_port(w->svc));
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tracer_harness_collect(w->h, 1, 5000, 200, &spans), 0);
	srv = find(spans, KIND_SERVER, CHECK, NULL);
	assert_rpc(srv, "Check", 0);
	assert_string_equal(str(srv, "parent_span_id"), "");
	json_decref(spans);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			a_call_from_a_handler_is_its_child_and_the_server_span_has_the_method, setup,
			teardown),
		cmocka_unit_test_setup_teardown(error_codes_are_on_both_sides, setup, teardown),
		/* grpc v1.62.2 from the offsets table: *Stream, WriteStatus */
		{ "grpc_v1.62.2_stripped: a_call_from_a_handler_is_its_child",
		  a_call_from_a_handler_is_its_child_and_the_server_span_has_the_method, setup_v162,
		  teardown, NULL },
		{ "grpc_v1.62.2_stripped: error_codes_are_on_both_sides", error_codes_are_on_both_sides,
		  setup_v162, teardown, NULL },
		{ "grpc_v1.62.2_stripped: a_traceparent_in_the_metadata_is_continued",
		  a_traceparent_in_the_metadata_is_continued, setup_v162, teardown, NULL },
		cmocka_unit_test_setup_teardown(a_traceparent_in_the_metadata_is_continued, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_grpc_handlers_calls_are_its_children, setup,
						teardown),
		cmocka_unit_test_setup_teardown(the_red_histograms_count_every_rpc, setup, teardown),
		cmocka_unit_test_setup_teardown(a_grpc_release_without_offsets_is_skipped_and_http_goes_on,
						setup_old, teardown),
		cmocka_unit_test_setup_teardown(a_grpc_server_without_net_http_is_traced,
						setup_grpc_only, teardown),
	};

	return AGENT_TESTS_RUN(tests);
}
