/* The node agent (autotrace-agent --mode node): one agent per node, with hostPID,
 * traces the Go processes of every pod on its node that opts in to an Instrumentation
 * of spec.agent.mode "node", without a sidecar or a restart.
 *
 * It watches, through lib/kube informers, the pods of its node (field selector
 * spec.nodeName), the Namespaces and the Instrumentations; decides each pod with
 * agent/node_plan.c (the webhook's opt-in rule); maps each container ID of a traced
 * pod to its processes through their cgroups (agent/container_procs.c), and answers
 * the tracer's select callback with the pod's sampler slot (one per Instrumentation)
 * and a resource id (one per container: its k8s.* resource) under which its spans go
 * to its Instrumentation's exporter (one per Instrumentation, shared by its pods).
 * A pod that goes away or opts out is detached at the next scan; a restarted
 * container's new ID is picked up from the pod's status; an Instrumentation's change
 * (exporter, sampler, resource attributes) applies live.
 *
 * Runs on the agent's event loop. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_NODE_AGENT_H
#define AUTOTRACE_AGENT_NODE_AGENT_H

#include <event2/event.h>
#include <stdint.h>

#include "agent/tracer.h"
#include "lib/instrumentation/agent_config.h"
#include "lib/instrumentation/naming.h"
#include "lib/otlp/exporter.h"

struct node_agent;
struct kube_client;

struct node_agent_opts {
	struct event_base *base;
	struct kube_client *client; /* borrowed; outlives the node agent */
	const char *node;           /* this node's name ($NODE_NAME) */
	const char *own_namespace;  /* never traced, beside the system namespaces; may be NULL */
	const char *proc_root;      /* the host's /proc (hostPID); NULL: "/proc" */
	const char *scope_version;
	/* Each Instrumentation's exporter; zero fields take the exporter's defaults. */
	size_t queue_capacity;
	uint32_t max_delay_ms;
};

/* Builds the informers (nothing runs before node_agent_start). */
int node_agent_new(const struct node_agent_opts *opts, struct node_agent **ret);
int node_agent_start(struct node_agent *na);
/* The tracer whose sampler slots and scans the node agent drives (borrowed; NULL
 * before it exists or after it is freed). */
void node_agent_set_tracer(struct node_agent *na, struct tracer *t);
/* Flushes every exporter within timeout_ms in all, then stops them. */
void node_agent_shutdown(struct node_agent *na, uint32_t timeout_ms);
/* Accepts NULL; returns NULL. */
struct node_agent *node_agent_free(struct node_agent *na);

/* The tracer's callbacks (tracer_opts.select and .on_span, ud: the node agent). */
int node_agent_select(void *ud, const struct process_info *p, struct tracer_selection *ret);
int node_agent_on_span(void *ud, const struct otlp_span *span);
/* One poll of the tracer's ring buffer, at most max spans (tracer_poll_at_most, whose
 * result it returns; 0 without a tracer): each exporter's room is asked once for it
 * and the clock read once (agent/export_backpressure.h). */
int node_agent_poll(struct node_agent *na, size_t max);
/* Whether on_span held a span back in the ring (an exporter with no room) since the
 * last call: poll again soon. Clears it. */
int node_agent_take_held(struct node_agent *na);
/* Exports what every exporter queued, waiting up to timeout_ms in all. */
void node_agent_flush(struct node_agent *na, uint32_t timeout_ms);
/* From now on no span is held back: a full queue drops its oldest (at shutdown). */
void node_agent_stop_holding(struct node_agent *na);

struct node_agent_stats {
	uint64_t pods_traced;          /* pods on this node traced now */
	uint64_t containers_traced;    /* their started containers */
	uint64_t instrumentations;     /* Instrumentations with an exporter now */
	uint64_t spans_unrouted;       /* spans whose container had gone: dropped */
	int synced;                    /* every informer has listed once */
	/* Summed over the exporters, those stopped included, so counters never go back. */
	struct otlp_exporter_stats exporters;
};
void node_agent_get_stats(struct node_agent *na, struct node_agent_stats *ret);

/* One Instrumentation the node agent serves now, as its AgentReport tells it. */
struct node_agent_instr_health {
	char name[K8S_LABEL_MAX + K8S_SUBDOMAIN_MAX + 2]; /* "<ns>/<name>" */
	char revision[AGENT_CONFIG_REVISION_LEN + 1];     /* applied; "" before any */
	uint64_t pods;      /* its pods on this node traced now */
	uint64_t processes; /* their processes with probes attached now */
	int has_exporter;
	struct otlp_exporter_stats export; /* when has_exporter */
	char last_export_error[OTLP_EXPORT_ERROR_MAX]; /* "": none since its last success */
	int64_t last_export_error_time;                /* unix seconds */
};
/* Fills out[0..max) with the Instrumentations served now, and returns how many there
 * are (more than max when some did not fit). */
size_t node_agent_health(struct node_agent *na, struct node_agent_instr_health *out, size_t max);

#endif
