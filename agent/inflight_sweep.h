/* What the kernel still holds for requests and calls that started and never ended:
 * the server probes' in-flight slots (bpf/http_server.h, struct hs_inflight) and the
 * client probes' calls map (bpf/http_client.h, struct hc_call). A process that exits,
 * or is detached, in the middle of a request leaves its entry behind: the server's
 * slots are reclaimed in time by the oldest-first eviction, but until then they crowd
 * the window, and a call's entry in the calls hash stays for good. So the tracer
 * sweeps them out of the processes it released, and counts what is held for
 * /metrics (autotrace_agent_requests_in_flight).
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_INFLIGHT_SWEEP_H
#define AUTOTRACE_AGENT_INFLIGHT_SWEEP_H

#include <stddef.h>
#include <stdint.h>

struct inflight_maps {
	int inflight_fd;   /* the server's slots; -1: none */
	uint32_t n_slots;  /* its max_entries */
	int calls_fd;      /* the client's calls; -1: none */
};

struct inflight_counts {
	uint64_t server; /* slots owned by a request */
	uint64_t client; /* calls */
};

/* Frees every entry whose pid is one of pids[0..n_pids) (as the agent's PID namespace
 * numbers them) and puts how many of each into *ret_freed. With n_pids 0 it only
 * counts the entries held, into *ret_held (NULL: not wanted). Either ret may be NULL.
 *
 * A slot is cleared only if a fresh read still shows the released pid: only that
 * process's own probes write it, and they are detached, so the one writer left is a
 * start of another process evicting it as the oldest within the same microseconds
 * (then that request loses its span, counted as a missing start). */
int inflight_sweep(const struct inflight_maps *m, const uint32_t *pids, size_t n_pids,
		   struct inflight_counts *ret_freed, struct inflight_counts *ret_held);

#endif
