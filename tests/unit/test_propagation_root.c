/* Where the sock_ops program attaches (agent/propagation.h): the host's cgroup v2
 * mount, reached through PID 1's root directory in the host's /proc (a node agent's
 * container has only the cgroup v1 hierarchies on a v1 or hybrid node, or a cgroup2
 * mount rooted at its own cgroup); else this process's; none when neither has one. */
#include <errno.h>
#include <limits.h>
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

#include "agent/propagation.h"

#define V1_ONLY \
	"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" \
	"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
#define HYBRID V1_ONLY "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"

struct dir {
	char root[64];
	char own[PATH_MAX];
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A /proc of its own: <root>/proc/1/mountinfo as the host has it, PID 1's root with
 * the mount point in it, and the container's mountinfo. */
static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	char p[PATH_MAX];

	if (!d)
		return -1;
	snprintf(d->root, sizeof(d->root), "/tmp/propagation-root-XXXXXX");
	if (!mkdtemp(d->root))
		return -1;
	snprintf(p, sizeof(p), "%s/proc", d->root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/proc/1", d->root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "mkdir -p '%s/proc/1/root/sys/fs/cgroup/unified'", d->root);
	if (system(p) != 0)
		return -1;
	snprintf(d->own, sizeof(d->own), "%s/own-mountinfo", d->root);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->root);
	if (system(cmd) != 0)
		return -1;
	free(d);
	return 0;
}

static void pid_1s_mount_before_its_own(void **state)
{
	struct dir *d = *state;
	char proc[PATH_MAX], host[PATH_MAX], path[1024], want[PATH_MAX + 64];

	snprintf(proc, sizeof(proc), "%s/proc", d->root);
	snprintf(host, sizeof(host), "%s/proc/1/mountinfo", d->root);
	/* The container's cgroup2 mount is its own cgroup (a private cgroup namespace). */
	write_file(d->own, "50 40 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
	write_file(host, HYBRID);
	assert_int_equal(propagation_find_root(d->own, proc, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/1/root/sys/fs/cgroup/unified", proc);
	assert_string_equal(path, want);
	/* PID 1's mount point missing from its root (not ours to enter): its own. */
	snprintf(want, sizeof(want), "rm -rf '%s/1/root/sys'", proc);
	assert_int_equal(system(want), 0);
	assert_int_equal(propagation_find_root(d->own, proc, path, sizeof(path)), 0);
	assert_string_equal(path, "/sys/fs/cgroup");
	/* No PID 1 to read (another PID namespace's /proc): its own. */
	unlink(host);
	assert_int_equal(propagation_find_root(d->own, proc, path, sizeof(path)), 0);
	assert_string_equal(path, "/sys/fs/cgroup");
}

static void the_hosts_through_pid_1_when_the_container_has_only_v1(void **state)
{
	struct dir *d = *state;
	char proc[PATH_MAX], host[PATH_MAX], path[1024], want[PATH_MAX + 64];

	snprintf(proc, sizeof(proc), "%s/proc", d->root);
	snprintf(host, sizeof(host), "%s/proc/1/mountinfo", d->root);
	write_file(d->own, V1_ONLY);
	write_file(host, HYBRID);
	assert_int_equal(propagation_find_root(d->own, proc, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/1/root/sys/fs/cgroup/unified", proc);
	assert_string_equal(path, want);
}

static void none_when_neither_has_one(void **state)
{
	struct dir *d = *state;
	char proc[PATH_MAX], host[PATH_MAX], path[1024];

	snprintf(proc, sizeof(proc), "%s/proc", d->root);
	snprintf(host, sizeof(host), "%s/proc/1/mountinfo", d->root);
	write_file(d->own, V1_ONLY);
	write_file(host, V1_ONLY);
	assert_int_equal(propagation_find_root(d->own, proc, path, sizeof(path)), -ENOENT);
	/* No /proc/1 to read at all. */
	unlink(host);
	assert_int_equal(propagation_find_root(d->own, proc, path, sizeof(path)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pid_1s_mount_before_its_own, setup, teardown),
		cmocka_unit_test_setup_teardown(the_hosts_through_pid_1_when_the_container_has_only_v1,
						setup, teardown),
		cmocka_unit_test_setup_teardown(none_when_neither_has_one, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
