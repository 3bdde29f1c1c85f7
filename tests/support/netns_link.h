/* A network namespace of its own joined to the caller's by a veth pair, addresses on a
 * private /30 (the caller's end .1, the namespace's .2), as two pods' network
 * namespaces are joined on a node: for the agent tests of trace context across
 * namespaces. Made and removed with ip(8); needs CAP_NET_ADMIN and CAP_SYS_ADMIN.
 * Names carry this process's pid (atest-<tag>-<pid>, veth atv<pid>a/b); what a run
 * killed before its teardown left behind is removed by the next one (netns_link_sweep).
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_TESTS_SUPPORT_NETNS_LINK_H
#define AUTOTRACE_TESTS_SUPPORT_NETNS_LINK_H

#include <sys/types.h>

struct netns_link {
	char name[64];      /* the namespace, as `ip netns` names it */
	char veth[2][16];   /* the caller's end, the namespace's end */
	char addr[2][16];   /* their IPv4 addresses, dotted */
	int made;           /* how far the setup got: removed that far */
};

/* Makes the namespace and the pair, both ends up, lo up in the namespace. On failure,
 * whatever was made is removed again. Returns a new link (free with netns_link_free). */
int netns_link_new(const char *tag, struct netns_link **ret_link);
/* Removes the pair and the namespace (after the processes in it are gone); accepts
 * NULL; returns NULL. */
struct netns_link *netns_link_free(struct netns_link *l);

/* Forks and execs argv[0] inside the namespace, stdout and stderr to log_path. The
 * child's pid, or a negative errno. */
pid_t netns_link_spawn(const struct netns_link *l, char *const argv[], const char *log_path);

/* Removes namespaces atest-*-<pid> whose process is gone. */
void netns_link_sweep(void);

#endif
