/* The processes visible in a /proc tree (the node's, or a pod's shared PID namespace
 * for a sidecar): pid, start time (to tell a reused pid from the process that had it)
 * and executable (path and identity, to analyse each distinct binary once). Kernel
 * threads and processes whose executable cannot be read are left out.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_PROCESS_SCAN_H
#define AUTOTRACE_AGENT_PROCESS_SCAN_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/instrumentation/naming.h"

/* Identifies an executable file's content as far as stat can: the same file, not
 * rewritten since. */
struct exe_identity {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

struct process_info {
	pid_t pid;
	uint64_t start_time;  /* clock ticks after boot (/proc/<pid>/stat field 22) */
	char exe[PATH_MAX];   /* the link's target, " (deleted)" removed */
	char exe_link[64];    /* "<proc_root>/<pid>/exe", to open or attach by */
	struct exe_identity id;
};

/* Called for each process; a non-zero return stops the walk and is returned. */
typedef int (*process_scan_fn)(void *ud, const struct process_info *p);

/* A /proc entry's name as a pid: 0, or -EINVAL for "self", "sys", ... */
int process_pid_parse(const char *name, pid_t *ret_pid);
/* Every process under proc_root ("/proc" when NULL) but the caller. */
int process_scan_each(const char *proc_root, process_scan_fn fn, void *ud);
/* The start time of pid; -ESRCH when it is gone. */
int process_start_time(const char *proc_root, pid_t pid, uint64_t *ret_start_time);

/* Whether exe matches a target: a pattern with a '/' is a whole path, else a base
 * name; NULL or "" matches everything. */
int process_exe_matches(const char *pattern, const char *exe);

/* The variable the webhook sets on every application container of an injected pod:
 * /proc does not name containers, a process's environment can. */
#define PROCESS_CONTAINER_NAME_VAR INSTRUMENTATION_CONTAINER_NAME_ENV

/* The container name pid was started with (PROCESS_CONTAINER_NAME_VAR) into buf:
 * 0, -ENOENT when it has none, or the errno of reading its environment (bounded). */
int process_container_name(const char *proc_root, pid_t pid, char *buf, size_t size);
/* Whether a process in container `name` (NULL: unknown) is a target of `names`
 * (NULL-terminated; NULL: every container). An unknown container never matches a
 * list: it is not one of the named containers. */
int process_container_matches(const char *const *names, const char *name);

#endif
