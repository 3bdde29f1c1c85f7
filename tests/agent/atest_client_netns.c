/* Trace context across network namespaces, under this kernel's lockdown (which refuses
 * bpf_probe_write_user): A (tests/fixtures/go/chain) in the test's namespace, B in a
 * namespace of its own joined to it by a veth pair on a private /30, as two pods on a
 * node are. One tracer traces both; the kernel carries A's client span to B on the wire
 * (sock_ops + sk_msg), so B's server span is the child of A's client span, checked on
 * what the real OTLP receiver got. The namespace and the pair are removed at the end,
 * pass or fail. */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/tracer.h"
#include "tests/support/go_fixtures.h"
#include "tests/support/agent_tests_main.h"
#include "tests/support/netns_link.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

#define CHAIN_FIXTURE_GLOB "build/fixtures/chain-go*"
/* B has its namespace to itself: any port is free there. */
#define B_PORT 8080
#define KIND_SERVER 2
#define KIND_CLIENT 3

struct world {
	struct netns_link *link;
	struct traced_service *a;
	pid_t b;
	struct tracer_harness *h;
};

static int chain_fixture(char *path, size_t size)
{
	return go_fixture_find(CHAIN_FIXTURE_GLOB, path, size);
}

/* Whether addr:port accepts a connection within timeout_ms (over the veth pair). */
static int wait_accepts(const char *addr, int port, int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return 0;
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

		if (fd < 0)
			return 0;
		ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return 1;
		usleep(50000);
	}
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	if (!w)
		return 0;
	tracer_harness_free(w->h);
	traced_service_free(w->a);
	if (w->b > 0) {
		kill(w->b, SIGKILL);
		waitpid(w->b, NULL, 0);
	}
	/* After B is gone: the namespace is freed with its last process. */
	netns_link_free(w->link);
	free(w);
	return 0;
}

static int setup(void **state)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct world *w = calloc(1, sizeof(*w));
	char fixture[256], next[64], listen[32], exe[256];
	int r;

	*state = w;
	if (!w)
		return -1;
	netns_link_sweep();
	r = chain_fixture(fixture, sizeof(fixture));
	if (r == 0)
		r = netns_link_new("b", &w->link);
	if (r == 0) {
		snprintf(next, sizeof(next), "http://%s:%d", w->link->addr[1], B_PORT);
		r = traced_service_start_next(fixture, NULL, next, &w->a);
	}
	if (r == 0) {
		/* B runs A's copy of the fixture: one target for the tracer. */
		char *argv[] = { exe, "-addr", listen, NULL };

		snprintf(exe, sizeof(exe), "%s", traced_service_binary(w->a));
		snprintf(listen, sizeof(listen), "%s:%d", w->link->addr[1], B_PORT);
		w->b = netns_link_spawn(w->link, argv, "build/atest-client-netns-b.log");
		r = w->b < 0 ? (int)w->b : 0;
	}
	if (r == 0 && !wait_accepts(w->link->addr[1], B_PORT, 10000))
		r = -ETIMEDOUT;
	if (r == 0)
		r = tracer_harness_start(&on, traced_service_binary(w->a), &w->h);
	if (r == 0)
		r = tracer_scan(w->h->tracer);
	if (r) {
		print_error("setup: %s\n", strerror(-r));
		teardown(state);
		*state = NULL;
		return -1;
	}
	return 0;
}

static const char *str(json_t *span, const char *key)
{
	return json_string_value(json_object_get(span, key));
}

/* The one span of kind k whose url.path (server) or url.full (client) ends with suffix. */
static json_t *find(json_t *spans, long long k, const char *suffix)
{
	size_t i;
	json_t *span;

	json_array_foreach(spans, i, span) {
		const char *u = span_attr_string(span, k == KIND_CLIENT ? "url.full" : "url.path");
		size_t ul = u ? strlen(u) : 0, sl = strlen(suffix);

		if (json_integer_value(json_object_get(span, "kind")) == k && ul >= sl &&
		    strcmp(u + ul - sl, suffix) == 0)
			return span;
	}
	return NULL;
}

/* The kernel's lockdown mode, as /sys/kernel/security/lockdown says it, into buf.
 * securityfs is often not mounted: a child mounts it in a mount namespace of its own,
 * gone with it, so the machine's mounts are left as they are. */
static void lockdown_mode(char *buf, size_t size)
{
	int fds[2];
	pid_t pid;
	ssize_t n;

	snprintf(buf, size, "unknown");
	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		char line[128];
		FILE *f;

		close(fds[0]);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    (mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL) && errno != EBUSY))
			_exit(1);
		f = fopen("/sys/kernel/security/lockdown", "re");
		if (!f || !fgets(line, sizeof(line), f))
			_exit(1);
		if (write(fds[1], line, strcspn(line, "\n")) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	n = pid > 0 ? read(fds[0], buf, size - 1) : -1;
	if (n > 0)
		buf[n] = '\0';
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void b_in_another_namespace_continues_as_child_of_the_client_span(void **state)
{
	struct world *w = *state;
	struct tracer_stats st;
	json_t *spans, *srv, *cli, *back;
	long status = 0;
	char lockdown[128];

	lockdown_mode(lockdown, sizeof(lockdown));
	print_message("# lockdown: %s\n", lockdown);
	assert_int_equal(traced_service_get(w->a, "/front-direct", NULL, &status), 0);
	assert_int_equal(status, 200);
	assert_int_equal(tracer_harness_collect(w->h, 3, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 3);
	srv = find(spans, KIND_SERVER, "/front-direct");
	cli = find(spans, KIND_CLIENT, "/back");
	back = find(spans, KIND_SERVER, "/back");
	assert_non_null(srv);
	assert_non_null(cli);
	assert_non_null(back);
	assert_string_equal(str(cli, "parent_span_id"), str(srv, "span_id"));
	assert_string_equal(str(back, "parent_span_id"), str(cli, "span_id"));
	assert_string_equal(str(back, "trace_id"), str(srv, "trace_id"));
	/* The call went over the veth pair: B saw A's end of it. */
	assert_string_equal(span_attr_string(cli, "server.address"), w->link->addr[1]);
	assert_string_equal(span_attr_string(back, "client.address"), w->link->addr[0]);
	tracer_get_stats(w->h->tracer, &st);
	assert_string_equal(st.propagation, "sk_msg");
	assert_true(st.tp_injected >= 1);
	json_decref(spans);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(b_in_another_namespace_continues_as_child_of_the_client_span,
						setup, teardown),
	};

	return AGENT_TESTS_RUN(tests);
}
