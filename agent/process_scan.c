#include "agent/process_scan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs/read_file.h"

#define DELETED_SUFFIX " (deleted)"

int process_pid_parse(const char *name, pid_t *ret_pid)
{
	long v = 0;

	if (!*name)
		return -EINVAL;
	for (const char *c = name; *c; c++) {
		if (!isdigit((unsigned char)*c) || v > 4194304)
			return -EINVAL;
		v = v * 10 + (*c - '0');
	}
	if (v <= 0)
		return -EINVAL;
	*ret_pid = (pid_t)v;
	return 0;
}

int process_start_time(const char *proc_root, pid_t pid, uint64_t *ret_start_time)
{
	char path[96], buf[1024];
	const char *p;
	uint64_t v = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root ? proc_root : "/proc", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* ") S ppid ..." : field 3 is the state; start time is field 22. */
	p++;
	for (field = 2; field < 22 && *p; p++) {
		if (*p == ' ')
			field++;
	}
	if (field != 22 || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++)
		v = v * 10 + (uint64_t)(*p - '0');
	*ret_start_time = v;
	return 0;
}

static int read_process(const char *root, pid_t pid, struct process_info *p)
{
	struct stat st;
	ssize_t n;
	size_t len, sfx = strlen(DELETED_SUFFIX);
	int r;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(p->exe_link, sizeof(p->exe_link), "%s/%d/exe", root, (int)pid);
	n = readlink(p->exe_link, p->exe, sizeof(p->exe) - 1);
	if (n <= 0)
		return -ENOENT; /* a kernel thread, or not ours to read */
	p->exe[n] = '\0';
	len = (size_t)n;
	if (len > sfx && strcmp(p->exe + len - sfx, DELETED_SUFFIX) == 0)
		p->exe[len - sfx] = '\0';
	if (stat(p->exe_link, &st) < 0)
		return -errno;
	p->id = (struct exe_identity){
		.dev = (uint64_t)st.st_dev,
		.ino = (uint64_t)st.st_ino,
		.size = (uint64_t)st.st_size,
		.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
	};
	r = process_start_time(root, pid, &p->start_time);
	return r;
}

int process_scan_each(const char *proc_root, process_scan_fn fn, void *ud)
{
	const char *root = proc_root ? proc_root : "/proc";
	struct process_info *info;
	struct dirent *de;
	pid_t self = getpid(), pid;
	DIR *dir;
	int r = 0;

	info = malloc(sizeof(*info));
	if (!info)
		return -ENOMEM;
	dir = opendir(root);
	if (!dir) {
		r = -errno;
		goto cleanup;
	}
	while ((de = readdir(dir))) {
		if (process_pid_parse(de->d_name, &pid) || pid == self)
			continue;
		if (read_process(root, pid, info))
			continue; /* gone meanwhile, a kernel thread, or unreadable */
		r = fn(ud, info);
		if (r)
			break;
	}
	closedir(dir);
cleanup:
	free(info);
	return r;
}

int process_exe_matches(const char *pattern, const char *exe)
{
	const char *base;

	if (!pattern || !*pattern)
		return 1;
	if (strchr(pattern, '/'))
		return strcmp(pattern, exe) == 0;
	base = strrchr(exe, '/');
	return strcmp(pattern, base ? base + 1 : exe) == 0;
}

int process_container_name(const char *proc_root, pid_t pid, char *buf, size_t size)
{
	static const char var[] = PROCESS_CONTAINER_NAME_VAR "=";
	char path[PATH_MAX], *env = NULL;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%d/environ", proc_root ? proc_root : "/proc", (int)pid);
	/* An environment is a few KiB; a hostile one is cut at the bound. */
	r = read_file_bounded(path, 256 * 1024, &env, &len);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t off = 0; off < len; off += strlen(env + off) + 1) {
		if (strncmp(env + off, var, sizeof(var) - 1) == 0) {
			snprintf(buf, size, "%s", env + off + sizeof(var) - 1);
			r = 0;
			break;
		}
	}
	free(env);
	return r;
}

int process_container_matches(const char *const *names, const char *name)
{
	if (!names)
		return 1;
	if (!name)
		return 0;
	for (; *names; names++)
		if (strcmp(*names, name) == 0)
			return 1;
	return 0;
}
