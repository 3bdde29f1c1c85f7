/* Which processes the tracer follows: a restarted target is picked up again by the next
 * scan (a new pid, spans resume) and an exited one is released; two processes of one
 * binary are both traced, each span naming its own pid; and probes attach per process,
 * so a process that was not attached to is never traced even when it runs the same
 * executable; and a process killed in the middle of requests leaves nothing in the
 * kernel's maps. */
#include <curl/curl.h>
#include <errno.h>
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "agent/go_binary.h"
#include "agent/probe_loader.h"
#include "agent/server_probes.h"
#include "agent/tracer.h"
#include "tests/support/agent_tests_main.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t spans_of_pid(json_t *spans, pid_t pid)
{
	size_t i, n = 0;
	json_t *span;

	json_array_foreach(spans, i, span)
		n += span_attr_int(span, "process.pid") == pid;
	return n;
}

static void send_hellos(struct traced_service *svc, int n)
{
	long status;

	for (int i = 0; i < n; i++) {
		assert_int_equal(traced_service_get(svc, "/hello", NULL, &status), 0);
		assert_int_equal(status, 200);
	}
}

static void a_restarted_target_is_traced_again(void **state)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct traced_service *svc;
	struct tracer_harness *h;
	struct tracer_stats st;
	char binary[256];
	json_t *spans;
	pid_t old_pid, new_pid;
	uint64_t t0, took, attached;

	(void)state;
	assert_int_equal(traced_service_fixture("go1.22", 0, binary, sizeof(binary)), 0);
	assert_int_equal(traced_service_start(binary, &svc), 0);
	assert_int_equal(tracer_harness_start(&on, traced_service_binary(svc), &h), 0);
	assert_int_equal(tracer_scan(h->tracer), 0);
	old_pid = traced_service_pid(svc);
	/* The server's two, and the client probes of its /call handler's HTTP calls. */
	tracer_get_stats(h->tracer, &st);
	attached = st.probes_attached;
	assert_true(attached >= 2);
	send_hellos(svc, 5);
	tracer_harness_pump(h, 100);

	assert_int_equal(traced_service_restart(svc), 0);
	new_pid = traced_service_pid(svc);
	assert_int_not_equal(new_pid, old_pid);
	t0 = mono_ms();
	assert_int_equal(tracer_scan(h->tracer), 0);
	took = mono_ms() - t0;
	print_message("# a scan that re-attached took %llu ms\n", (unsigned long long)took);
	assert_true(took < 1000);
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.processes, 1);
	assert_int_equal(st.probes_attached, attached);
	send_hellos(svc, 7);

	assert_int_equal(tracer_harness_collect(h, 12, 3000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 12);
	assert_int_equal(spans_of_pid(spans, old_pid), 5);
	assert_int_equal(spans_of_pid(spans, new_pid), 7);
	json_decref(spans);

	/* Gone: the next scan releases it. */
	svc = traced_service_free(svc);
	assert_int_equal(tracer_scan(h->tracer), 0);
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.processes, 0);
	assert_int_equal(st.probes_attached, 0);
	tracer_harness_free(h);
}

/* Two processes of one fixture binary, both traced (always_on) by a new harness. */
static struct tracer_harness *trace_two(const char *go_prefix, int stripped,
					struct traced_service **a, struct traced_service **b)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct tracer_harness *h;
	struct tracer_stats st;
	char binary[256];

	assert_int_equal(traced_service_fixture(go_prefix, stripped, binary, sizeof(binary)), 0);
	assert_int_equal(traced_service_start(binary, a), 0);
	assert_int_equal(traced_service_start(binary, b), 0);
	assert_int_equal(tracer_harness_start(&on, traced_service_binary(*a), &h), 0);
	assert_int_equal(tracer_scan(h->tracer), 0);
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.processes, 2);
	return h;
}

static void two_processes_of_one_binary_are_both_traced(void **state)
{
	struct traced_service *a, *b;
	struct tracer_harness *h;
	json_t *spans;

	(void)state;
	h = trace_two("", 1, &a, &b);
	send_hellos(a, 4);
	send_hellos(b, 6);
	assert_int_equal(tracer_harness_collect(h, 10, 3000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 10);
	assert_int_equal(spans_of_pid(spans, traced_service_pid(a)), 4);
	assert_int_equal(spans_of_pid(spans, traced_service_pid(b)), 6);
	json_decref(spans);
	tracer_harness_free(h);
	traced_service_free(a);
	traced_service_free(b);
}

/* Opens a connection to port and sends a GET of path without reading the answer: a
 * request the server is still handling. Returns the socket (close it to drop it). */
static int request_in_flight(int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char req[512];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int n;

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
	assert_int_equal(write(fd, req, (size_t)n), n);
	return fd;
}

struct in_flight_want {
	struct tracer_harness *h;
	uint64_t server, client;
};

static int in_flight_is(struct in_flight_want *w, int timeout_ms)
{
	uint64_t server = 0, client = 0, deadline = mono_ms() + (uint64_t)timeout_ms;

	do {
		tracer_harness_pump(w->h, 50);
		assert_int_equal(tracer_in_flight(w->h->tracer, &server, &client), 0);
		if (server == w->server && client == w->client)
			return 1;
	} while (mono_ms() < deadline);
	print_message("# in flight: %llu requests, %llu calls; wanted %llu, %llu\n",
		      (unsigned long long)server, (unsigned long long)client,
		      (unsigned long long)w->server, (unsigned long long)w->client);
	return 0;
}

/* A process killed while it handles requests and makes calls (a pod deleted under
 * load) leaves nothing in the kernel's maps once the scan has released it: its
 * requests' slots and its calls' entries are freed, while another process's requests
 * in flight stay; the links go with its attachment. */
static void a_process_killed_mid_request_leaves_nothing_in_flight(void **state)
{
	struct traced_service *a, *b;
	struct tracer_harness *h;
	struct tracer_stats st;
	char path[256];
	int fds[5];

	(void)state;
	h = trace_two("go1.26", 0, &a, &b);
	struct in_flight_want w = { h, 0, 0 };
	assert_true(in_flight_is(&w, 1000));

	/* A: three requests, each calling B's /slow; B: those three and two of its own. */
	snprintf(path, sizeof(path), "/call?url=http://127.0.0.1:%d/slow%%3Fms%%3D30000",
		 traced_service_port(b));
	for (int i = 0; i < 3; i++)
		fds[i] = request_in_flight(traced_service_port(a), path);
	for (int i = 3; i < 5; i++)
		fds[i] = request_in_flight(traced_service_port(b), "/slow?ms=30000");
	w = (struct in_flight_want){ h, 3 + 5, 3 };
	assert_true(in_flight_is(&w, 5000));

	traced_service_free(a);
	assert_int_equal(tracer_scan(h->tracer), 0);
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.processes, 1);
	w = (struct in_flight_want){ h, 5, 0 };
	assert_true(in_flight_is(&w, 1000));

	traced_service_free(b);
	assert_int_equal(tracer_scan(h->tracer), 0);
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.processes, 0);
	assert_int_equal(st.probes_attached, 0);
	w = (struct in_flight_want){ h, 0, 0 };
	assert_true(in_flight_is(&w, 1000));
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	tracer_harness_free(h);
}

static int count_records(void *ud, const void *data, size_t size)
{
	struct hs_span_record rec;
	pid_t *pids = ud;

	assert_int_equal(size, sizeof(rec));
	memcpy(&rec, data, sizeof(rec));
	if ((pid_t)rec.pid == pids[0])
		pids[2]++;
	else
		pids[3]++;
	return 0;
}

static void probes_attach_to_one_process_only(void **state)
{
	pid_t seen[4] = { 0 }; /* attached pid, unused, its records, others' records */
	struct probe_loader_opts lo = { .on_record = count_records, .ud = seen };
	struct hs_sampler on = { .type = HS_SAMPLER_ALWAYS_ON };
	struct traced_service *a, *b;
	struct server_probe_plan plan;
	struct probe_attachment *att;
	struct probe_loader *pl;
	struct go_binary *gb;
	char binary[256], exe[64];
	uint64_t stats[HS_STAT_COUNT];

	(void)state;
	assert_int_equal(traced_service_fixture("", 0, binary, sizeof(binary)), 0);
	assert_int_equal(traced_service_start(binary, &a), 0);
	assert_int_equal(traced_service_start(binary, &b), 0);
	assert_int_equal(go_binary_open(traced_service_binary(a), NULL, &gb), 0);
	assert_int_equal(server_probes_plan(gb, &plan), 0);
	assert_int_equal(probe_loader_new(&lo, &pl), 0);
	assert_int_equal(probe_loader_set_offsets(pl, 0, &plan.offsets), 0);
	assert_int_equal(probe_loader_set_sampler(pl, &on), 0);
	seen[0] = traced_service_pid(a);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)seen[0]);
	struct probe_attach_spec spec = { .pid = seen[0], .binary_path = exe,
					  .start_offset = plan.start.file_offset,
					  .end_offset = plan.end.file_offset };
	assert_int_equal(probe_loader_attach(pl, &spec, &att), 0);
	send_hellos(a, 3);
	send_hellos(b, 5);
	assert_true(probe_loader_consume(pl) >= 0);
	assert_int_equal(seen[2], 3);
	assert_int_equal(seen[3], 0);
	assert_int_equal(probe_loader_read_stats(pl, stats), 0);
	assert_int_equal(stats[HS_STAT_REQUESTS], 3);
	probe_attachment_free(att);
	send_hellos(a, 2);
	assert_int_equal(probe_loader_read_stats(pl, stats), 0);
	assert_int_equal(stats[HS_STAT_REQUESTS], 3); /* detached: no more hits */
	probe_loader_free(pl);
	go_binary_free(gb);
	traced_service_free(a);
	traced_service_free(b);
}

/* containerNames targets: of two processes of one binary, only the one in a named
 * container is traced. */
static void only_processes_of_the_named_containers_are_traced(void **state)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct traced_service *app, *other;
	struct tracer_harness *h;
	struct tracer_stats st;
	char binary[256];
	json_t *spans, *span;
	size_t i;

	(void)state;
	assert_int_equal(traced_service_fixture("", 0, binary, sizeof(binary)), 0);
	assert_int_equal(traced_service_start_in(binary, "checkout", &app), 0);
	assert_int_equal(traced_service_start_in(binary, "istio-proxy", &other), 0);
	assert_int_equal(tracer_harness_start(&on, traced_service_binary(app), &h), 0);
	const char *const names[] = { "checkout", "worker", NULL };
	struct tracer_targets targets = { .executable = traced_service_binary(app),
					  .container_names = names };
	assert_int_equal(tracer_set_targets(h->tracer, &targets), 0);
	assert_int_equal(tracer_scan(h->tracer), 0);
	tracer_get_stats(h->tracer, &st);
	assert_int_equal(st.processes, 1);
	send_hellos(app, 3);
	send_hellos(other, 4);
	assert_int_equal(tracer_harness_collect(h, 3, 3000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), 3);
	json_array_foreach(spans, i, span) {
		json_int_t pid = json_integer_value(
			json_object_get(json_object_get(span, "attributes"), "process.pid"));
		assert_int_equal(pid, traced_service_pid(app));
	}
	json_decref(spans);
	tracer_harness_free(h);
	traced_service_free(app);
	traced_service_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(only_processes_of_the_named_containers_are_traced),
		cmocka_unit_test(a_restarted_target_is_traced_again),
		cmocka_unit_test(two_processes_of_one_binary_are_both_traced),
		cmocka_unit_test(a_process_killed_mid_request_leaves_nothing_in_flight),
		cmocka_unit_test(probes_attach_to_one_process_only),
	};

	return AGENT_TESTS_RUN(tests);
}
