/* Uprobes attached as BPF links of the uprobe_multi kind (BPF_TRACE_UPROBE_MULTI,
 * Linux 6.6), the way that needs no CAP_SYS_ADMIN: a perf-event uprobe does
 * (perf_uprobe_event_init checks CAP_SYS_ADMIN again since the fix that took
 * CAP_PERFMON's access to it back), while a uprobe_multi link needs only what loading
 * the program took (CAP_BPF, CAP_PERFMON) and the right to open the binary. The
 * system's libbpf (1.1) predates these links, so they are made with the bpf syscall.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_UPROBE_LINK_H
#define AUTOTRACE_AGENT_UPROBE_LINK_H

#include <stdint.h>
#include <sys/types.h>

struct bpf_link;
struct bpf_program;

/* The attach type a program must be loaded with to go into such a link. */
#define UPROBE_LINK_MULTI_ATTACH_TYPE 48 /* BPF_TRACE_UPROBE_MULTI */

/* 1 when this kernel makes uprobe_multi links, 0 when not, or a negative errno when
 * the probe program cannot be loaded at all (no CAP_BPF). Asked once, then cached. */
int uprobe_link_multi_supported(void);

/* A link of the program prog_fd (loaded with UPROBE_LINK_MULTI_ATTACH_TYPE) on the file
 * at path, at offset, firing for pid only (as the caller's PID namespace numbers it),
 * with cookie for bpf_get_attach_cookie. Returns the link's new fd (close it to detach)
 * or a negative errno. */
int uprobe_link_multi_create(int prog_fd, const char *path, uint64_t offset, uint64_t cookie,
			     pid_t pid);

/* One attached uprobe, whichever way it was made: a uprobe_multi link's fd, or libbpf's
 * perf-event link where the kernel has no such links. */
struct uprobe_link {
	struct bpf_link *perf; /* NULL for a uprobe_multi link */
	int fd;
};

/* Attaches prog at offset in the file at path for pid, with cookie, as a uprobe_multi
 * link when multi is set, else as a perf-event uprobe. On success *ret owns the link:
 * uprobe_link_detach releases it. */
int uprobe_link_attach(struct bpf_program *prog, int multi, const char *path, uint64_t offset,
		       uint64_t cookie, pid_t pid, struct uprobe_link *ret);

/* Detaches l (made by uprobe_link_attach). */
void uprobe_link_detach(struct uprobe_link *l);

#endif
