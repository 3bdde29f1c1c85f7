/* The tracing core against real Go services (two Go versions, plain and stripped), the
 * real kernel and the real OTLP receiver: every request is exactly one server span with
 * the semconv attributes a user looks for, timed as the handler ran, and every
 * request, sampled or not, is counted in the kernel's RED histograms; a handler that
 * panics costs no other request its span. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/tracer.h"
#include "tests/support/agent_tests_main.h"
#include "tests/support/go_fixtures.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

struct expected {
	const char *method, *path;
	long status;
	int seen;
	const char *url_path; /* the span's url.path when it is not path: Go's URL.Path */
};

/* The requests sent and what their spans must say. */
static struct expected requests[] = {
	{ "GET", "/hello", 200, 0, NULL },      { "GET", "/hello", 200, 0, NULL },
	{ "GET", "/hello", 200, 0, NULL },      { "GET", "/items/1", 200, 0, NULL },
	{ "GET", "/items/2", 200, 0, NULL },    { "GET", "/items/3", 200, 0, NULL },
	{ "POST", "/hello", 200, 0, NULL },     { "PUT", "/items/9", 200, 0, NULL },
	{ "DELETE", "/items/9", 200, 0, NULL }, { "HEAD", "/hello", 200, 0, NULL },
	{ "GET", "/status/201", 201, 0, NULL }, { "GET", "/status/404", 404, 0, NULL },
	{ "GET", "/status/404", 404, 0, NULL }, { "GET", "/status/500", 500, 0, NULL },
	{ "GET", "/status/503", 503, 0, NULL }, { "GET", "/hello", 200, 0, NULL },
	/* The query is not the path, and escapes are decoded as Go decodes them. */
	{ "GET", "/items/a%20b?q=1&r=%3F", 200, 0, "/items/a b" },
	{ "POST", "/caf%C3%A9/x%2By?", 200, 0, "/caf\xc3\xa9/x+y" },
};
#define N_REQUESTS (sizeof(requests) / sizeof(requests[0]))

static void check_span_attributes(json_t *span, const struct traced_service *svc)
{
	const char *tid = json_string_value(json_object_get(span, "trace_id"));
	const char *sid = json_string_value(json_object_get(span, "span_id"));
	json_t *res = json_object_get(span, "resource");
	long long status = span_attr_int(span, "http.response.status_code");

	assert_non_null(tid);
	assert_int_equal(strlen(tid), 32);
	assert_string_not_equal(tid, "00000000000000000000000000000000");
	assert_non_null(sid);
	assert_int_equal(strlen(sid), 16);
	assert_string_equal(json_string_value(json_object_get(span, "parent_span_id")), "");
	assert_int_equal(json_integer_value(json_object_get(span, "kind")), 2); /* SERVER */
	assert_int_equal(json_integer_value(json_object_get(span, "flags")) & 1, 1);
	assert_string_equal(json_string_value(json_object_get(span, "name")),
			    span_attr_string(span, "http.request.method"));
	assert_string_equal(span_attr_string(span, "server.address"), "127.0.0.1");
	assert_int_equal(span_attr_int(span, "server.port"), traced_service_port(svc));
	assert_string_equal(span_attr_string(span, "client.address"), "127.0.0.1");
	assert_true(span_attr_int(span, "client.port") > 0);
	assert_int_equal(span_attr_int(span, "process.pid"), traced_service_pid(svc));
	/* Server spans: 5xx is an error, 4xx is the client's. */
	assert_int_equal(json_integer_value(json_object_get(span, "status_code")),
			 status >= 500 ? 2 : 0);
	assert_string_equal(json_string_value(json_object_get(res, "service.name")),
			    "svc-under-test");
	assert_string_equal(json_string_value(json_object_get(res, "k8s.namespace.name")), "shop");
}

static void every_request_is_one_span(const char *binary)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct traced_service *svc;
	struct tracer_harness *h;
	struct tracer_stats st;
	json_t *spans, *span;
	uint64_t before, after;
	size_t i;
	long status;

	print_message("# %s\n", binary);
	assert_int_equal(traced_service_start(binary, &svc), 0);
	assert_int_equal(tracer_harness_start(&on, traced_service_binary(svc), &h), 0);
	assert_int_equal(tracer_scan(h->tracer), 0);
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.processes, 1);
	/* The server's two, its HTTP/2 server's two (when linked in), and the client
	 * probes of a service that makes HTTP calls (its /call handler): start, end, the
	 * HTTP/2 call's end, dial errors and, with propagation, the connection. */
	assert_true(st.probes_attached >= 2 && st.probes_attached <= 9);

	before = wall_ns();
	for (i = 0; i < N_REQUESTS; i++) {
		requests[i].seen = 0;
		assert_int_equal(traced_service_request(svc, requests[i].method, requests[i].path,
							NULL, &status), 0);
		assert_int_equal(status, requests[i].status);
	}
	after = wall_ns();
	assert_int_equal(tracer_harness_collect(h, N_REQUESTS, 5000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), N_REQUESTS);

	json_array_foreach(spans, i, span) {
		const char *method = span_attr_string(span, "http.request.method");
		const char *path = span_attr_string(span, "url.path");
		long long code = span_attr_int(span, "http.response.status_code");
		uint64_t start = (uint64_t)json_integer_value(json_object_get(span, "start"));
		uint64_t end = (uint64_t)json_integer_value(json_object_get(span, "end"));
		size_t k;

		assert_non_null(method);
		assert_non_null(path);
		check_span_attributes(span, svc);
		/* Timestamps on the wall clock, inside the time the requests took. */
		assert_true(start >= before - 2000000 && end <= after + 2000000);
		assert_true(end > start);
		for (k = 0; k < N_REQUESTS; k++) {
			const char *want = requests[k].url_path ? requests[k].url_path :
								  requests[k].path;

			if (!requests[k].seen && strcmp(requests[k].method, method) == 0 &&
			    strcmp(want, path) == 0 && requests[k].status == code) {
				requests[k].seen = 1;
				break;
			}
		}
		if (k == N_REQUESTS)
			fail_msg("unexpected span %s %s %lld", method, path, code);
	}
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.requests, N_REQUESTS);
	assert_int_equal(st.sampled, N_REQUESTS);
	assert_int_equal(st.spans_delivered, N_REQUESTS);
	assert_int_equal(st.ringbuf_drops + st.inflight_drops + st.records_invalid, 0);
	json_decref(spans);
	tracer_harness_free(h);
	traced_service_free(svc);
}

static void each_fixture_gives_one_span_per_request(void **state)
{
	struct go_fixture fx[GO_FIXTURES_MAX];
	size_t n, stripped = 0, versions = 0;
	char first_version[32] = "";

	(void)state;
	assert_int_equal(go_fixtures_load_from(TRACED_SERVICE_MANIFEST, fx, GO_FIXTURES_MAX, &n), 0);
	for (size_t i = 0; i < n; i++) {
		every_request_is_one_span(fx[i].path);
		stripped += fx[i].stripped;
		if (strcmp(first_version, fx[i].go_version)) {
			versions++;
			snprintf(first_version, sizeof(first_version), "%s", fx[i].go_version);
		}
	}
	/* What this test claims: stripped binaries and two Go versions were among them. */
	assert_true(stripped >= 1);
	assert_true(versions >= 2);
}

static void slow_handler_spans_last_at_least_the_sleep(void **state)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct traced_service *svc;
	struct tracer_harness *h;
	char binary[256];
	json_t *spans, *span;
	long status;
	size_t i;

	(void)state;
	assert_int_equal(traced_service_fixture("", 0, binary, sizeof(binary)), 0);
	assert_int_equal(traced_service_start(binary, &svc), 0);
	assert_int_equal(tracer_harness_start(&on, traced_service_binary(svc), &h), 0);
	assert_int_equal(tracer_scan(h->tracer), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(traced_service_get(svc, "/slow?ms=150", NULL, &status), 0);
		assert_int_equal(status, 200);
	}
	assert_int_equal(traced_service_get(svc, "/hello", NULL, &status), 0);
	assert_int_equal(tracer_harness_collect(h, 4, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 4);
	json_array_foreach(spans, i, span) {
		uint64_t d = (uint64_t)json_integer_value(json_object_get(span, "end")) -
			     (uint64_t)json_integer_value(json_object_get(span, "start"));

		if (strcmp(span_attr_string(span, "url.path"), "/slow") == 0) {
			assert_true(d >= 150000000ULL);
			assert_true(d < 1150000000ULL);
		} else {
			assert_true(d < 150000000ULL);
		}
	}
	json_decref(spans);
	tracer_harness_free(h);
	traced_service_free(svc);
}

struct red_seen {
	uint64_t get200, get404, slow_le_25ms, slow_le_50ms, bucket_mismatch;
	double get200_sum;
};

static void red_cb(void *ud, const char *method, unsigned status, const uint64_t *buckets,
		   uint64_t count, double sum)
{
	struct red_seen *s = ud;
	uint64_t total = 0;

	for (size_t i = 0; i < tracer_duration_bucket_count; i++)
		total += buckets[i];
	if (total != count)
		s->bucket_mismatch++;
	if (strcmp(method, "GET") == 0 && status == 404)
		s->get404 += count;
	if (strcmp(method, "GET") == 0 && status == 200) {
		s->get200 += count;
		s->get200_sum += sum;
		/* Buckets 0..2 end at 5, 10, 25 ms; bucket 3 at 50 ms. */
		s->slow_le_25ms = buckets[0] + buckets[1] + buckets[2];
		s->slow_le_50ms = buckets[3];
	}
}

static void red_histograms_count_every_request_sampled_or_not(void **state)
{
	struct tracer_sampler off = { .type = TRACER_SAMPLER_ALWAYS_OFF };
	struct traced_service *svc;
	struct tracer_harness *h;
	struct tracer_stats st;
	struct red_seen seen = { 0 };
	char binary[256];
	long status;

	(void)state;
	assert_int_equal(traced_service_fixture("", 1, binary, sizeof(binary)), 0);
	assert_int_equal(traced_service_start(binary, &svc), 0);
	assert_int_equal(tracer_harness_start(&off, traced_service_binary(svc), &h), 0);
	assert_int_equal(tracer_scan(h->tracer), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(traced_service_get(svc, "/hello", NULL, &status), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(traced_service_get(svc, "/slow?ms=30", NULL, &status), 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(traced_service_get(svc, "/status/404", NULL, &status), 0);
	tracer_harness_pump(h, 200);
	assert_int_equal(tracer_red_foreach(h->tracer, red_cb, &seen), 0);
	assert_int_equal(seen.get200, 43);
	assert_int_equal(seen.get404, 7);
	assert_int_equal(seen.bucket_mismatch, 0);
	/* The three 30 ms requests are in the (25, 50] ms bucket, the rest below. */
	assert_int_equal(seen.slow_le_50ms, 3);
	assert_int_equal(seen.slow_le_25ms, 40);
	assert_true(seen.get200_sum >= 0.090 && seen.get200_sum < 1.0);
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.requests, 50);
	assert_int_equal(st.sampled, 0);
	assert_int_equal(st.spans_delivered, 0);
	assert_int_equal(h->spans, 0);
	tracer_harness_free(h);
	traced_service_free(svc);
}

static void a_process_that_is_not_a_target_is_left_alone(void **state)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct traced_service *svc;
	struct tracer_harness *h;
	struct tracer_stats st;
	char binary[256];
	long status;

	(void)state;
	assert_int_equal(traced_service_fixture("", 0, binary, sizeof(binary)), 0);
	assert_int_equal(traced_service_start(binary, &svc), 0);
	assert_int_equal(tracer_harness_start(&on, "some-other-service", &h), 0);
	assert_int_equal(tracer_scan(h->tracer), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(traced_service_get(svc, "/hello", NULL, &status), 0);
	tracer_harness_pump(h, 200);
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.processes, 0);
	assert_int_equal(st.requests, 0);
	assert_int_equal(h->spans, 0);
	tracer_harness_free(h);
	traced_service_free(svc);
}

/* GET /panic on a connection of its own: the server recovers the handler's panic and
 * closes the connection without an answer. */
static void request_panic(const struct traced_service *svc)
{
	static const char req[] = "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)traced_service_port(svc)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[512];
	ssize_t n, total = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	assert_int_equal(total, 0);
}

static void a_panicking_handler_costs_no_other_request_its_span(void **state)
{
	/* A request whose handler panics never reaches finishRequest: its start stays in
	 * its slot. The requests after it (on other connections, some at the panicked
	 * ones' addresses once the server reuses them) are one span each, timed from their
	 * own start: each panic is followed by a pause longer than any of them may last. */
	enum { PANICS = 30, PAUSE_MS = 100 };
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct traced_world *w = NULL;
	struct tracer_stats st;
	json_t *spans, *span;
	long status;
	size_t i;

	(void)state;
	/* A server that collects garbage every few dozen kilobytes allocated, so that new
	 * connections soon take the memory of closed ones. */
	setenv("GOGC", "1", 1);
	assert_int_equal(traced_world_start("", 0, &on, &w), 0);
	unsetenv("GOGC");
	for (int k = 0; k < PANICS; k++) {
		struct timespec pause = { 0, PAUSE_MS * 1000000L };

		request_panic(w->svc);
		nanosleep(&pause, NULL);
		for (int j = 0; j < 2; j++) {
			assert_int_equal(traced_service_get(w->svc, "/hello", NULL, &status), 0);
			assert_int_equal(status, 200);
		}
	}
	assert_int_equal(tracer_harness_collect(w->h, 2 * PANICS, 5000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), 2 * PANICS);
	json_array_foreach(spans, i, span) {
		uint64_t d = (uint64_t)json_integer_value(json_object_get(span, "end")) -
			     (uint64_t)json_integer_value(json_object_get(span, "start"));

		assert_string_equal(span_attr_string(span, "url.path"), "/hello");
		assert_true(d < (uint64_t)PAUSE_MS * 1000000 / 2);
	}
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.requests, 2 * PANICS);
	assert_int_equal(st.inflight_drops, 0);
	json_decref(spans);
	traced_world_free(w);
}

/* A poll allowed only so many spans (the daemon's, while the exporter's queue is full)
 * leaves the other records in the kernel's ring, and a later poll delivers them: none
 * is lost, none comes twice. */
static void a_bounded_poll_leaves_the_rest_for_the_next(void **state)
{
	enum { REQUESTS = 30, AT_ONCE = 7 };
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct traced_world *w = NULL;
	struct tracer_stats st;
	long status;
	int n, total = 0;

	(void)state;
	assert_int_equal(traced_world_start("", 0, &on, &w), 0);
	for (int i = 0; i < REQUESTS; i++) {
		assert_int_equal(traced_service_get(w->svc, "/hello", NULL, &status), 0);
		assert_int_equal(status, 200);
	}
	/* The records are in the ring before each response is sent (finishRequest). */
	assert_int_equal(tracer_poll_at_most(w->h->tracer, AT_ONCE), AT_ONCE);
	total = AT_ONCE;
	assert_int_equal(tracer_poll_at_most(w->h->tracer, 0), 0);
	while ((n = tracer_poll_at_most(w->h->tracer, AT_ONCE)) > 0) {
		assert_true(n <= AT_ONCE);
		total += n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(total, REQUESTS);
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.spans_delivered, REQUESTS);
	assert_int_equal(st.ringbuf_drops, 0);
	assert_int_equal(w->h->spans, REQUESTS);
	traced_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_fixture_gives_one_span_per_request),
		cmocka_unit_test(slow_handler_spans_last_at_least_the_sleep),
		cmocka_unit_test(red_histograms_count_every_request_sampled_or_not),
		cmocka_unit_test(a_process_that_is_not_a_target_is_left_alone),
		cmocka_unit_test(a_panicking_handler_costs_no_other_request_its_span),
		cmocka_unit_test(a_bounded_poll_leaves_the_rest_for_the_next),
	};

	return AGENT_TESTS_RUN(tests);
}
