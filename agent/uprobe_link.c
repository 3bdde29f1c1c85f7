#include "agent/uprobe_link.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

/* BPF_LINK_CREATE's attributes with the uprobe_multi member, as the kernel lays them out
 * (include/uapi/linux/bpf.h since 6.6); the system's headers are older. */
struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags;
	uint32_t pid;
	uint32_t pad;
};
_Static_assert(sizeof(struct link_create_uprobe_multi) == 64, "uprobe_multi link_create layout");

static int sys_bpf(int cmd, void *attr, size_t size)
{
	long r = syscall(SYS_bpf, cmd, attr, size);

	return r < 0 ? -errno : (int)r;
}

int uprobe_link_multi_create(int prog_fd, const char *path, uint64_t offset, uint64_t cookie,
			     pid_t pid)
{
	/* The kernel reads the union whole: the rest of bpf_attr stays zero. */
	union {
		struct link_create_uprobe_multi lc;
		union bpf_attr whole;
	} attr;

	if (prog_fd < 0 || !path || pid < 0)
		return -EINVAL;
	memset(&attr, 0, sizeof(attr));
	attr.lc.prog_fd = (uint32_t)prog_fd;
	attr.lc.attach_type = UPROBE_LINK_MULTI_ATTACH_TYPE;
	attr.lc.path = (uint64_t)(uintptr_t)path;
	attr.lc.offsets = (uint64_t)(uintptr_t)&offset;
	attr.lc.cookies = (uint64_t)(uintptr_t)&cookie;
	attr.lc.cnt = 1;
	attr.lc.pid = (uint32_t)pid;
	return sys_bpf(BPF_LINK_CREATE, &attr, sizeof(attr));
}

/* A two-instruction program (r0 = 0; exit) of the uprobe_multi attach type. */
static int load_probe_program(void)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_KPROBE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	attr.expected_attach_type = UPROBE_LINK_MULTI_ATTACH_TYPE;
	return sys_bpf(BPF_PROG_LOAD, &attr, sizeof(attr));
}

int uprobe_link_multi_supported(void)
{
	static int answer = -1; /* not asked yet */
	int prog, link;

	if (answer >= 0)
		return answer;
	prog = load_probe_program();
	if (prog < 0)
		return prog;
	/* libbpf's own probe: a kernel with these links refuses "/" as not a regular file
	 * (EBADF); one without them refuses the attach type (EINVAL). */
	link = uprobe_link_multi_create(prog, "/", 0, 0, 0);
	if (link >= 0)
		close(link);
	close(prog);
	answer = link == -EBADF || link >= 0;
	return answer;
}

int uprobe_link_attach(struct bpf_program *prog, int multi, const char *path, uint64_t offset,
		       uint64_t cookie, pid_t pid, struct uprobe_link *ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = cookie);
	struct bpf_link *link;
	int fd;

	if (multi) {
		fd = uprobe_link_multi_create(bpf_program__fd(prog), path, offset, cookie, pid);
		if (fd < 0)
			return fd;
		*ret = (struct uprobe_link){ .perf = NULL, .fd = fd };
		return 0;
	}
	link = bpf_program__attach_uprobe_opts(prog, pid, path, (size_t)offset, &uo);
	if (!link)
		return -errno ? -errno : -EINVAL;
	*ret = (struct uprobe_link){ .perf = link, .fd = -1 };
	return 0;
}

void uprobe_link_detach(struct uprobe_link *l)
{
	if (l->perf)
		bpf_link__destroy(l->perf);
	else if (l->fd >= 0)
		close(l->fd);
	*l = (struct uprobe_link){ .perf = NULL, .fd = -1 };
}
