/* The agent's AgentReport (crds/agentreport.yaml) on the API server: created once,
 * then its status patched (JSON merge patch of the status subresource) when
 * health_report_due() says so: on change, at most every 15 s, a heartbeat every 60 s
 * (node) or 300 s (sidecar). A change that comes after a quiet spell waits a random
 * 0..jitter_s more, so that a fleet-wide change (a new config revision everywhere)
 * reaches the API server spread over that time, not as one burst (agent/README.md).
 *
 * Every call is asynchronous on the agent's event_base: the loop that drains the ring
 * buffer never waits on the API server. A failed write is logged (the first, and each
 * new kind of failure), counted, and retried with backoff; it never stops tracing.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_HEALTH_WRITER_H
#define AUTOTRACE_AGENT_HEALTH_WRITER_H

#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>

#include "agent/health_report.h"
#include "agent/prom_text.h"
#include "lib/kube/client.h"

struct health_writer;

/* Builds the report's status as of `now_unix` (health_report_build): a new reference
 * in *ret_status, or a negative errno (nothing is written this time). */
typedef int (*health_collect_fn)(void *ud, int64_t now_unix, json_t **ret_status);

struct health_writer_opts {
	enum health_mode mode;
	const char *ns;	  /* the report's namespace: the pod's, or the node agent's */
	const char *name; /* the pod's name, or the node's */
	/* Its owner, so that the garbage collector removes the report with it: the agent's
	 * Pod, in the report's namespace (a sidecar's pod, or the node agent's, which goes
	 * when its node goes); without a uid, no owner. The garbage collector deletes a
	 * report whose owner it cannot find, so the kind must be right. */
	const char *owner_name, *owner_uid;
	struct health_pacing pacing; /* zeros: 15 s, and 60 s (node) or 300 s (sidecar) */
	uint32_t jitter_s;	     /* 0: the pacing's min_interval */
	uint32_t tick_ms;	     /* how often it looks; 0: 1000 */
	health_collect_fn collect;
	void *ud;
};

struct health_writer_stats {
	uint64_t writes;   /* status patches that succeeded */
	uint64_t failures; /* creates and patches that failed */
	uint64_t creates;  /* reports created */
	int64_t last_success_unix;
};

/* Borrows c and base (they outlive the writer); copies opts' strings. Starts at once:
 * the first write goes out on the first tick. */
int health_writer_new(struct kube_client *c, struct event_base *base,
		      const struct health_writer_opts *opts, struct health_writer **ret_writer);
/* Cancels a call in flight; accepts NULL; returns NULL. */
struct health_writer *health_writer_free(struct health_writer *w);
struct health_writer_stats health_writer_stats(const struct health_writer *w);
/* Its counters in Prometheus text (autotrace_agent_report_*), appended to out. */
int health_writer_scrape(const struct health_writer *w, struct prom_text *out);

#endif
