#include "tests/support/netns_link.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* ip(8) with the arguments fmt makes, its output dropped. 0, or -EIO when it failed. */
static int run_ip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_ip(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 32)
		return -ENAMETOOLONG;
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, " >/dev/null 2>&1");
	return system(cmd) == 0 ? 0 : -EIO;
}

/* The steps of the setup, in order: each one's undo removes it. */
enum { MADE_NONE, MADE_NETNS, MADE_VETH };

static void undo(struct netns_link *l)
{
	/* Deleting either end deletes the pair; the namespace goes once nothing is in it. */
	if (l->made >= MADE_VETH)
		run_ip("ip link del %s", l->veth[0]);
	if (l->made >= MADE_NETNS)
		run_ip("ip netns del %s", l->name);
	l->made = MADE_NONE;
}

/* Allocates the link (owned by the caller through *ret_link). */
int netns_link_new(const char *tag, struct netns_link **ret_link)
{
	struct netns_link *l = calloc(1, sizeof(*l));
	unsigned pid = (unsigned)getpid(), block = (pid & 0x3fff) << 2;
	int r;

	if (!l)
		return -ENOMEM;
	/* A /30 of 10.231.0.0/16 chosen by pid: two runs at once do not collide. */
	snprintf(l->name, sizeof(l->name), "atest-%s-%u", tag, pid);
	snprintf(l->veth[0], sizeof(l->veth[0]), "atv%ua", pid % 10000000);
	snprintf(l->veth[1], sizeof(l->veth[1]), "atv%ub", pid % 10000000);
	snprintf(l->addr[0], sizeof(l->addr[0]), "10.231.%u.%u", (block >> 8) & 0xff,
		 (block & 0xfc) + 1);
	snprintf(l->addr[1], sizeof(l->addr[1]), "10.231.%u.%u", (block >> 8) & 0xff,
		 (block & 0xfc) + 2);
	r = run_ip("ip netns add %s", l->name);
	if (r)
		goto fail;
	l->made = MADE_NETNS;
	r = run_ip("ip link add %s type veth peer name %s netns %s", l->veth[0], l->veth[1], l->name);
	if (r)
		goto fail;
	l->made = MADE_VETH;
	if ((r = run_ip("ip addr add %s/30 dev %s", l->addr[0], l->veth[0])) ||
	    (r = run_ip("ip link set %s up", l->veth[0])) ||
	    (r = run_ip("ip -n %s addr add %s/30 dev %s", l->name, l->addr[1], l->veth[1])) ||
	    (r = run_ip("ip -n %s link set %s up", l->name, l->veth[1])) ||
	    (r = run_ip("ip -n %s link set lo up", l->name)))
		goto fail;
	*ret_link = l;
	return 0;
fail:
	netns_link_free(l);
	return r;
}

struct netns_link *netns_link_free(struct netns_link *l)
{
	if (!l)
		return NULL;
	undo(l);
	free(l);
	return NULL;
}

pid_t netns_link_spawn(const struct netns_link *l, char *const argv[], const char *log_path)
{
	char path[128];
	pid_t pid;

	snprintf(path, sizeof(path), "/run/netns/%s", l->name);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int ns = open(path, O_RDONLY | O_CLOEXEC), log;

		/* Dies with the test: a namespace with a process in it outlives its name. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
			_exit(126);
		log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (log >= 0) {
			dup2(log, STDOUT_FILENO);
			dup2(log, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

void netns_link_sweep(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		const char *dash = strrchr(e->d_name, '-');
		char *end;
		long pid;

		if (strncmp(e->d_name, "atest-", 6) != 0 || !dash)
			continue;
		pid = strtol(dash + 1, &end, 10);
		if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* not ours, or its process still runs */
		run_ip("ip link del atv%lda", pid % 10000000);
		run_ip("ip netns del %s", e->d_name);
	}
	if (d)
		closedir(d);
}
