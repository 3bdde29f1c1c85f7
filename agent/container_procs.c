#include "agent/container_procs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/process_scan.h"
#include "lib/fs/read_file.h"

int container_proc_read(const char *proc_root, pid_t pid, struct cgroup_container *ret)
{
	char path[96], *text = NULL;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root ? proc_root : "/proc", (int)pid);
	r = read_file_bounded(path, CONTAINER_PROCS_CGROUP_MAX, &text, &len);
	if (r < 0)
		return r == -ESRCH ? -ENOENT : r;
	r = cgroup_container_parse(text, len, ret);
	free(text);
	/* An empty or odd file (a zombie's, a kernel that words it otherwise) is no
	 * container's. */
	return r == -EINVAL ? -ENOENT : r;
}

int container_procs_each(const char *proc_root, container_proc_fn fn, void *ud)
{
	struct cgroup_container c;
	struct dirent *de;
	DIR *dir;
	pid_t pid;
	int r = 0;

	dir = opendir(proc_root ? proc_root : "/proc");
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (process_pid_parse(de->d_name, &pid))
			continue;
		if (container_proc_read(proc_root, pid, &c))
			continue; /* in no container, gone meanwhile, or unreadable */
		r = fn(ud, pid, &c);
		if (r)
			break;
	}
	closedir(dir);
	return r;
}

struct pid_list {
	const char *id;
	pid_t *pids;
	size_t n, cap;
};

static int collect(void *ud, pid_t pid, const struct cgroup_container *c)
{
	struct pid_list *l = ud;

	if (strcmp(c->container.id, l->id) != 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		pid_t *p = reallocarray(l->pids, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->pids = p;
		l->cap = cap;
	}
	l->pids[l->n++] = pid;
	return 0;
}

int container_procs_find(const char *proc_root, const char *container_id, pid_t **ret_pids,
			 size_t *ret_n)
{
	struct pid_list l = { .id = container_id };
	int r;

	if (!container_id_is_valid(container_id, strlen(container_id)))
		return -EINVAL;
	r = container_procs_each(proc_root, collect, &l);
	if (r) {
		free(l.pids);
		return r;
	}
	*ret_pids = l.pids;
	*ret_n = l.n;
	return 0;
}
