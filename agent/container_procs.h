/* The processes of a node's pod containers, found by walking /proc and reading each
 * process's cgroup file (agent/cgroup_container.h says which paths count). With
 * hostPID the node agent sees every process of the node, and a container's processes
 * are those whose cgroup is the container's: the link from a pod's containerID to its
 * PIDs that the API does not give.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_CONTAINER_PROCS_H
#define AUTOTRACE_AGENT_CONTAINER_PROCS_H

#include <stddef.h>
#include <sys/types.h>

#include "agent/cgroup_container.h"

/* A cgroup file is a line per hierarchy (a dozen in v1, of a few hundred bytes each);
 * more than this is not one the kubelet made. */
#define CONTAINER_PROCS_CGROUP_MAX (64 * 1024)

/* The container pid runs in, from <proc_root>/<pid>/cgroup ("/proc" when NULL):
 * 0; -ENOENT when it is in none (or gone); or the error of reading the file. */
int container_proc_read(const char *proc_root, pid_t pid, struct cgroup_container *ret);

/* Called for each process that runs in a pod's container; a non-zero return stops
 * the walk and is returned. c is borrowed for the call. */
typedef int (*container_proc_fn)(void *ud, pid_t pid, const struct cgroup_container *c);

/* Every process under proc_root in a pod's container, the caller included. Processes
 * that exit during the walk or whose file cannot be read are passed over. */
int container_procs_each(const char *proc_root, container_proc_fn fn, void *ud);

/* The PIDs of the container with this ID (64 hex digits), in /proc order, as a new
 * array the caller free()s (NULL when *ret_n is 0). */
int container_procs_find(const char *proc_root, const char *container_id, pid_t **ret_pids,
			 size_t *ret_n);

#endif
