/* The net/http client probes as a small library beside agent/probe_loader.c: loads
 * bpf/http_client.bpf.c on the maps the server probes made (ring buffer, sampler,
 * in-flight and context slots: one ring, one sampler, spans linked across the two),
 * with outgoing trace context (agent/propagation.h) when the kernel allows it, and
 * attaches its uprobes to one process. No policy here.
 *
 * Not thread-safe. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_CLIENT_LOADER_H
#define AUTOTRACE_AGENT_CLIENT_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/client_probes.h"
#include "agent/propagation.h"

/* What the server probes' object shares (fds borrowed from it). */
struct client_loader_shared {
	int spans_fd, inflight_fd, inflight_sampled_fd, sampler_fd, ctx_slots_fd;
	uint32_t inflight_mask;
	uint64_t wakeup_bytes;
	int multi; /* uprobe_multi links */
};

struct client_loader_opts {
	int no_propagation;       /* do not try to carry trace context */
	const char *cgroup2_root; /* NULL: the cgroup v2 mount PID 1 of proc_root has, else
				   * this process's (agent/propagation.h) */
	const char *proc_root;    /* NULL: /proc */
};

struct client_loader;
struct client_attachment;

/* Returns a new loader in ret; propagation is set up or says why not. */
int client_loader_new(const struct client_loader_shared *shared,
		      const struct client_loader_opts *opts, struct client_loader **ret);
struct client_loader *client_loader_free(struct client_loader *cl);

/* Borrowed: the propagation mechanism in force. */
const struct propagation *client_loader_propagation(const struct client_loader *cl);

int client_loader_set_offsets(struct client_loader *cl, uint32_t slot, const struct hc_offsets *off);

/* Where and with which cookie (bpf/http_server.h's HS_COOKIE) the probes go: the same
 * slots as the process's server probes (agent/probe_loader.h). */
struct client_attach_spec {
	pid_t pid;
	const char *binary_path;
	const struct client_probe_plan *plan;
	uint32_t offsets_slot; /* [0, HS_MAX_BINARIES) */
	uint32_t sampler_slot; /* [0, HS_MAX_SAMPLERS): samples calls with no server parent */
};
/* Attaches start, end (and conn with propagation, failed when planned) to spec->pid.
 * Returns a new attachment. */
int client_loader_attach(struct client_loader *cl, const struct client_attach_spec *spec,
			 struct client_attachment **ret);
struct client_attachment *client_attachment_free(struct client_attachment *a);
size_t client_attachment_probes(const struct client_attachment *a);

/* Statistics summed over the CPUs into ret[HC_STAT_COUNT]. */
int client_loader_read_stats(const struct client_loader *cl, uint64_t *ret);

/* Each RED series of client calls, summed over the CPUs. */
typedef void (*client_red_fn)(void *ud, const struct hc_red_key *key,
			      const struct hs_red_value *value);
int client_loader_red_foreach(const struct client_loader *cl, client_red_fn fn, void *ud);

/* The calls map (struct hc_call by owner tag), for agent/inflight_sweep.h. */
int client_loader_calls_fd(const struct client_loader *cl);

/* Run time of the client programs (BPF run-time statistics), for the benchmarks. */
int client_loader_run_stats(const struct client_loader *cl, uint64_t *ret_ns, uint64_t *ret_runs);

#endif
