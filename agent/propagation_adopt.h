/* Connections a process opened before its outgoing trace context was tracked. The
 * sock_ops program sees a connection only as it is opened; a service traced after it
 * started (the agent started later, or a node agent attaching to a running pod) keeps
 * its pooled keep-alive connections for good (Go's Transport has no idle timeout by
 * default), and no trace context would ever go over them. Adoption puts them in the
 * sk_msg program's sockhash from user space: each socket descriptor of the process is
 * duplicated with pidfd_getfd(2) (CAP_SYS_PTRACE, which the agent has), and an
 * established TCP connection whose local port is none of the process's listening ports
 * (so one it opened, not one it accepted: its responses need no sk_msg) is added by its
 * socket cookie, the key the sock_ops program uses. Nothing in the process changes but
 * the kernel's send path of those sockets, as for every connection tracked from its
 * start.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_PROPAGATION_ADOPT_H
#define AUTOTRACE_AGENT_PROPAGATION_ADOPT_H

#include <stddef.h>
#include <sys/types.h>

/* Descriptors of one process looked at, at most. */
#define PROPAGATION_ADOPT_MAX_FDS 4096

/* Adds pid's open outgoing TCP connections to the sockhash socks_fd. proc_root is the
 * /proc of pid's PID namespace (pidfd_open takes pid as this process sees it). The
 * number added (already there not counted) goes in ret_added. */
int propagation_adopt(int socks_fd, const char *proc_root, pid_t pid, size_t *ret_added);

#endif
