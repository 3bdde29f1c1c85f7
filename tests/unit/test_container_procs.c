/* The /proc walk that finds a container's processes: on a made-up /proc tree with
 * processes of two containers, a host process and entries that are no process, and on
 * the real /proc with this test's own cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/container_procs.h"

#define UID_ "6f3b1c2a_4d5e_4f60_9a7b_8c9d0e1f2a3b"
#define CID_A "3f1e6c0b9d8a7f6e5d4c3b2a190817263544536271809a8b7c6d5e4f3a2b1c0d"
#define CID_B "00000000000000000000000000000000000000000000000000000000000000bb"
#define NOWHERE "00000000000000000000000000000000000000000000000000000000000000cc"

static void put(const char *root, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (text == NULL) {
		assert_int_equal(mkdir(path, 0755), 0);
		return;
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup_tree(void **state)
{
	char *root = strdup("/tmp/proc-fixture-XXXXXX");

	if (!root || !mkdtemp(root))
		return -1;
	put(root, "100", NULL);
	put(root, "100/cgroup", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
				".slice/cri-containerd-" CID_A ".scope\n");
	put(root, "2041", NULL);
	put(root, "2041/cgroup", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
				 ".slice/cri-containerd-" CID_A ".scope/worker\n");
	put(root, "7", NULL);
	put(root, "7/cgroup", "4:memory:/kubepods/besteffort/pod6f3b1c2a-4d5e-4f60-9a7b-8c9d0e1f2a3b/"
			      CID_B "\n0::/\n");
	put(root, "1", NULL);
	put(root, "1/cgroup", "0::/init.scope\n");
	put(root, "55", NULL); /* exited between readdir and open */
	put(root, "self", NULL);
	put(root, "self/cgroup", "0::/kubepods/pod6f3b1c2a-4d5e-4f60-9a7b-8c9d0e1f2a3b/" CID_A "\n");
	put(root, "uptime", "1.0 2.0\n");
	*state = root;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static int teardown_tree(void **state)
{
	nftw(*state, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	return *(const pid_t *)a - *(const pid_t *)b;
}

static void a_container_s_processes_are_found_in_a_proc_tree(void **state)
{
	const char *root = *state;
	pid_t *pids = NULL;
	size_t n = 99;

	assert_int_equal(container_procs_find(root, CID_A, &pids, &n), 0);
	assert_int_equal(n, 2);
	qsort(pids, n, sizeof(*pids), by_pid);
	assert_int_equal(pids[0], 100);
	assert_int_equal(pids[1], 2041);
	free(pids);

	assert_int_equal(container_procs_find(root, CID_B, &pids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], 7);
	free(pids);

	assert_int_equal(container_procs_find(root, NOWHERE, &pids, &n), 0);
	assert_int_equal(n, 0);
	assert_null(pids);
}

struct seen {
	int calls;
	pid_t last;
};

static int count(void *ud, pid_t pid, const struct cgroup_container *c)
{
	struct seen *s = ud;

	s->calls++;
	s->last = pid;
	assert_string_equal(c->pod_uid, "6f3b1c2a-4d5e-4f60-9a7b-8c9d0e1f2a3b");
	return s->calls == 2 ? -ECANCELED : 0;
}

static void the_walk_passes_each_container_process_and_stops_on_demand(void **state)
{
	struct seen s = { 0 };
	struct cgroup_container c;
	pid_t *pids = (pid_t *)&s;
	size_t n = 99;

	assert_int_equal(container_procs_each(*state, count, &s), -ECANCELED);
	assert_int_equal(s.calls, 2);
	assert_int_equal(container_proc_read(*state, 1, &c), -ENOENT);
	assert_int_equal(container_proc_read(*state, 55, &c), -ENOENT);
	assert_int_equal(container_proc_read(*state, 100, &c), 0);
	assert_int_equal(c.container.runtime, CONTAINER_RUNTIME_CONTAINERD);
	/* A bad ID or /proc: an error, and the out-parameters left alone. */
	assert_int_equal(container_procs_find(*state, "abc", &pids, &n), -EINVAL);
	assert_true(container_procs_find("/nonexistent", CID_A, &pids, &n) < 0);
	assert_ptr_equal(pids, (pid_t *)&s);
	assert_int_equal(n, 99);
}

/* On the real /proc: this process is found in its own container when it runs in one
 * (a pod), and is in none on a host. Either way the walk reads every process. */
static void the_real_proc_agrees_with_this_process_s_cgroup(void **state)
{
	struct cgroup_container self;
	pid_t *pids = NULL;
	size_t n = 0;
	int r = container_proc_read(NULL, getpid(), &self), found = 0;

	assert_true(r == 0 || r == -ENOENT);
	if (r == 0) {
		assert_int_equal(container_procs_find(NULL, self.container.id, &pids, &n), 0);
		for (size_t i = 0; i < n; i++)
			found |= pids[i] == getpid();
		assert_true(found);
		free(pids);
	}
	assert_int_equal(container_procs_find(NULL, NOWHERE, &pids, &n), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_container_s_processes_are_found_in_a_proc_tree,
						setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(the_walk_passes_each_container_process_and_stops_on_demand,
						setup_tree, teardown_tree),
		cmocka_unit_test(the_real_proc_agrees_with_this_process_s_cgroup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
