#include "tests/support/bpf_prog_time.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The program id behind descriptor fd, from its fdinfo; 0 when it is not a program. */
static uint32_t prog_id_of_fd(const char *fd)
{
	char path[300], line[128];
	unsigned id = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", fd);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "prog_id: %u", &id) == 1)
			break;
	}
	if (f)
		fclose(f);
	return id;
}

static int add(struct bpf_prog_time *t, const char *name, uint64_t ns, uint64_t runs)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->prog[i].name, name) == 0) {
			t->prog[i].run_ns += ns;
			t->prog[i].runs += runs;
			return 0;
		}
	}
	if (t->n >= BPF_PROG_TIME_MAX)
		return -E2BIG;
	snprintf(t->prog[t->n].name, sizeof(t->prog[t->n].name), "%s", name);
	t->prog[t->n].run_ns = ns;
	t->prog[t->n].runs = runs;
	t->n++;
	return 0;
}

int bpf_prog_time_read(struct bpf_prog_time *ret)
{
	uint32_t seen[256];
	size_t n_seen = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	memset(ret, 0, sizeof(*ret));
	while (r == 0 && (e = readdir(d))) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info), id = e->d_name[0] != '.' ? prog_id_of_fd(e->d_name) : 0;
		int dup = 0, fd;

		for (size_t i = 0; i < n_seen && !dup; i++)
			dup = seen[i] == id;
		if (!id || dup || n_seen >= sizeof(seen) / sizeof(seen[0]))
			continue;
		seen[n_seen++] = id;
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			r = add(ret, info.name, info.run_time_ns, info.run_cnt);
		close(fd);
	}
	closedir(d);
	return r;
}

void bpf_prog_time_delta(const struct bpf_prog_time *before, const struct bpf_prog_time *after,
			 const char *name, uint64_t *ret_ns, uint64_t *ret_runs)
{
	uint64_t ns = 0, runs = 0;

	for (size_t i = 0; i < after->n; i++) {
		if (strcmp(after->prog[i].name, name) == 0) {
			ns += after->prog[i].run_ns;
			runs += after->prog[i].runs;
		}
	}
	for (size_t i = 0; i < before->n; i++) {
		if (strcmp(before->prog[i].name, name) == 0) {
			ns -= before->prog[i].run_ns;
			runs -= before->prog[i].runs;
		}
	}
	*ret_ns = ns;
	*ret_runs = runs;
}
