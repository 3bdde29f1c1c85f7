/* Outgoing W3C trace context under kernel lockdown: loads bpf/tp_inject.bpf.c and
 * attaches its sock_ops program to the cgroup v2 hierarchy's root as this process sees
 * it (found in /proc/self/mountinfo) and its sk_msg program to the sockhash the former
 * fills. Which mechanism is active is one of:
 *   "sk_msg"  traceparent inserted into outgoing plaintext HTTP/1.x requests, and
 *             appended to the HEADERS frames of gRPC calls over h2c;
 *   "none"    no mechanism could work here; why() says why (tracing goes on).
 * bpf_probe_write_user, which the kernel's lockdown refuses, is never used.
 *
 * Not thread-safe. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_PROPAGATION_H
#define AUTOTRACE_AGENT_PROPAGATION_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/http_client.h"

struct propagation;

/* Tries to set the mechanism up; never fails for want of one (then "none" and a
 * reason). cgroup2_root NULL: the cgroup v2 mount PID 1 of proc_root (NULL: /proc) has,
 * else this process's (propagation_find_root). Returns a new propagation in ret, or
 * -ENOMEM. */
int propagation_new(const char *cgroup2_root, const char *proc_root, struct propagation **ret);
/* Detaches; accepts NULL; returns NULL. */
struct propagation *propagation_free(struct propagation *p);

/* "sk_msg" or "none" (static strings), and why "none" (borrowed; "" otherwise). */
const char *propagation_mechanism(const struct propagation *p);
const char *propagation_why(const struct propagation *p);
int propagation_active(const struct propagation *p);
/* The maps bpf/http_client.bpf.c shares (fds owned by p); -1 when not active. */
int propagation_conn_tp_fd(const struct propagation *p);
int propagation_traced_tgids_fd(const struct propagation *p);
/* The maps bpf/grpc.bpf.c shares for gRPC over h2c (fds owned by p); -1 when not
 * active. */
int propagation_h2_streams_fd(const struct propagation *p);
int propagation_h2_conns_fd(const struct propagation *p);
/* The sockhash the sk_msg program runs on (agent/propagation_adopt.h adds to it). */
int propagation_socks_fd(const struct propagation *p);
/* What the sk_msg program counted, into ret[HC_INJ_COUNT] (zeros when not active). */
int propagation_read_stats(const struct propagation *p, uint64_t *ret);

/* The cgroup v2 hierarchy's root, into path: <proc_root>/1/root followed by the mount
 * point in <proc_root>/1/mountinfo (proc_root NULL: /proc) when this process may enter
 * it, else the one in own_mountinfo (e.g. /proc/self/mountinfo). -ENOENT when neither
 * has one. */
int propagation_find_root(const char *own_mountinfo, const char *proc_root, char *path,
			  size_t size);
/* The cgroup v2 mount point in mountinfo (e.g. /proc/self/mountinfo), into path. */
int propagation_find_cgroup2(const char *mountinfo, char *path, size_t size);

#endif
