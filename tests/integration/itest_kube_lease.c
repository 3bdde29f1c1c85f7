/* Leader election between real processes on a real Lease: exactly one leads; after
 * kill -9 of the leader the other takes over within the lease duration; a leader
 * that is told to stop hands the Lease over at once.
 *
 * The test program runs itself as each candidate: `itest_kube_lease contend ID LEASE`
 * prints "LEADING ID" / "STOPPED ID" lines as leadership changes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/kube/leader.h"
#include "tests/support/kube_test.h"

#define LEASE_MS 3000
#define RENEW_MS 2000
#define RETRY_MS 500
#define LEASE_NS "default"

/* --- the candidate --------------------------------------------------------------- */

struct candidate {
	const char *id;
	struct leader *leader;
	struct event_base *base;
};

static void started(void *ud)
{
	printf("LEADING %s\n", ((struct candidate *)ud)->id);
}

static void stopped(void *ud)
{
	printf("STOPPED %s\n", ((struct candidate *)ud)->id);
}

static void on_term(evutil_socket_t sig, short what, void *ud)
{
	struct candidate *cand = ud;

	leader_release(cand->leader, NULL);
	event_base_loopbreak(cand->base);
}

static int contend(const char *id, const char *lease)
{
	struct candidate cand = { .id = id };
	struct kube_client *c = kt_client();
	struct leader_opts o = {
		.ns = LEASE_NS, .name = lease, .identity = id, .lease_duration_ms = LEASE_MS,
		.renew_deadline_ms = RENEW_MS, .retry_period_ms = RETRY_MS,
		.on_started_leading = started, .on_stopped_leading = stopped, .ud = &cand,
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	cand.base = event_base_new();
	if (leader_new(c, cand.base, &o, &cand.leader) < 0)
		return 1;
	struct event *term = evsignal_new(cand.base, SIGTERM, on_term, &cand);
	event_add(term, NULL);
	leader_start(cand.leader);
	event_base_dispatch(cand.base);
	event_free(term);
	leader_free(cand.leader);
	event_base_free(cand.base);
	kube_client_free(c);
	return 0;
}

/* --- the test -------------------------------------------------------------------- */

static char self[4096];

struct proc {
	pid_t pid;
	int out;      /* read end of its stdout */
	char buf[4096];
	size_t len;
	int leading;
};

static void spawn(struct proc *p, const char *id, const char *lease)
{
	int fds[2];

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(self, self, "contend", id, lease, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	p->out = fds[0];
	p->len = 0;
	p->leading = 0;
}

/* Reads what the candidates printed for up to `ms`; stops early when `until` holds. */
static void pump(struct proc *ps, int n, long ms, int (*until)(struct proc *, int))
{
	long deadline = kt_now_ms() + ms;

	while (kt_now_ms() < deadline && !(until && until(ps, n))) {
		struct pollfd pfd[4];
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = ps[i].out, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, 50) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP)) || ps[i].out < 0)
				continue;
			ssize_t r = read(ps[i].out, ps[i].buf + ps[i].len, sizeof(ps[i].buf) - ps[i].len - 1);
			if (r <= 0) {
				close(ps[i].out);
				ps[i].out = -1;
				continue;
			}
			ps[i].len += (size_t)r;
			ps[i].buf[ps[i].len] = '\0';
			/* The state is the last line printed. */
			char *last_l = NULL, *last_s = NULL, *q = ps[i].buf;
			while ((q = strstr(q, "LEADING"))) last_l = q++;
			q = ps[i].buf;
			while ((q = strstr(q, "STOPPED"))) last_s = q++;
			ps[i].leading = last_l && (!last_s || last_l > last_s);
		}
	}
}

static int leaders(struct proc *ps, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += ps[i].leading && ps[i].pid > 0;
	return k;
}

static int one_leads(struct proc *ps, int n)
{
	return leaders(ps, n) == 1;
}

static void reap(struct proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = -1;
	}
	if (p->out >= 0)
		close(p->out);
	p->out = -1;
}

static void holder_is(struct kube_client *c, const char *lease, const char *id)
{
	json_t *obj = NULL;
	struct kube_ref ref = { .res = &KUBE_LEASES, .ns = LEASE_NS, .name = lease };

	assert_int_equal(kube_get(c, &ref, &obj, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "spec"),
							      "holderIdentity")), id);
	json_decref(obj);
}

static void exactly_one_leads_and_the_other_takes_over_after_kill_9(void **state)
{
	struct kube_client *c = kt_client();
	char lease[64];
	struct proc ps[2];

	snprintf(lease, sizeof(lease), "itest-lease-%ld", kt_now_ms() % 100000);
	spawn(&ps[0], "cand-a", lease);
	spawn(&ps[1], "cand-b", lease);
	pump(ps, 2, 10000, one_leads);
	/* Stays exactly one over several renewals. */
	pump(ps, 2, 3 * RETRY_MS, NULL);
	assert_int_equal(leaders(ps, 2), 1);
	int l = ps[0].leading ? 0 : 1, f = 1 - l;
	holder_is(c, lease, l == 0 ? "cand-a" : "cand-b");

	kill(ps[l].pid, SIGKILL);
	waitpid(ps[l].pid, NULL, 0);
	ps[l].pid = -1;
	ps[l].leading = 0;
	long killed = kt_now_ms();
	pump(ps, 2, LEASE_MS + 4 * RETRY_MS + 2000, one_leads);
	long took = kt_now_ms() - killed;
	fprintf(stderr, "takeover after kill -9: %ld ms (lease %d ms)\n", took, LEASE_MS);
	assert_true(ps[f].leading);
	/* Within the lease duration plus one retry period of the candidate's clock. */
	assert_true(took <= LEASE_MS + 2 * RETRY_MS + 500);
	holder_is(c, lease, f == 0 ? "cand-a" : "cand-b");
	reap(&ps[0]);
	reap(&ps[1]);
	kube_client_free(c);
}

static void a_released_lease_is_taken_over_at_once(void **state)
{
	struct kube_client *c = kt_client();
	char lease[64];
	struct proc ps[2];

	snprintf(lease, sizeof(lease), "itest-release-%ld", kt_now_ms() % 100000);
	spawn(&ps[0], "rel-a", lease);
	pump(ps, 1, 10000, one_leads);
	assert_true(ps[0].leading);
	spawn(&ps[1], "rel-b", lease);
	pump(ps, 2, 2 * RETRY_MS, NULL);
	assert_false(ps[1].leading);

	kill(ps[0].pid, SIGTERM);
	long asked = kt_now_ms();
	waitpid(ps[0].pid, NULL, 0);
	ps[0].pid = -1;
	ps[0].leading = 0;
	pump(ps, 2, LEASE_MS + 2000, one_leads);
	long took = kt_now_ms() - asked;
	fprintf(stderr, "takeover after release: %ld ms\n", took);
	assert_true(ps[1].leading);
	/* No lease-duration wait: a retry period or so. */
	assert_true(took < LEASE_MS);
	reap(&ps[0]);
	reap(&ps[1]);
	kube_client_free(c);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "contend") == 0)
		return contend(argv[2], argv[3]);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exactly_one_leads_and_the_other_takes_over_after_kill_9),
		cmocka_unit_test(a_released_lease_is_taken_over_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
