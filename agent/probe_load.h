/* Loading the probes, and what it costs: probe_loader_new timed, in the calling thread
 * or on a thread of its own. The kernel's verification of the programs takes tens of
 * milliseconds of CPU (seconds on a loaded machine, for programs it must go through
 * hundreds of thousands of instructions of), which the daemon spends serving its
 * health and metrics and reading the binaries it will probe instead of waiting.
 *
 * One load per object; probe_load_finish is called from the thread that started it.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_PROBE_LOAD_H
#define AUTOTRACE_AGENT_PROBE_LOAD_H

#include "agent/probe_loader.h"

struct probe_load_cost {
	long wall_ms;
	long cpu_ms; /* of the loading thread, the kernel's verification included */
};

/* probe_loader_new, timed: the new loader in ret_loader, what it took in ret_cost. */
int probe_load_now(const struct probe_loader_opts *opts, struct probe_loader **ret_loader,
		   struct probe_load_cost *ret_cost);

struct probe_load;

/* Starts loading on a thread with a copy of opts (its ud and on_record are handed to
 * the loader as they are). Returns a new load in ret_load. */
int probe_load_start(const struct probe_loader_opts *opts, struct probe_load **ret_load);
/* Readable once the load is over (success or not). */
int probe_load_fd(const struct probe_load *l);
/* Waits for the load to be over and frees l. On success, the new loader in ret_loader
 * (the caller owns it) and what it took in ret_cost (may be NULL); else the load's
 * error. */
int probe_load_finish(struct probe_load *l, struct probe_loader **ret_loader,
		      struct probe_load_cost *ret_cost);

#endif
