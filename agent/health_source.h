/* This agent's health report: what it says (from the tracer, the exporter and the
 * settings in force) and where it goes (agent/health_writer.h), set up from the
 * environment the webhook gives the sidecar (K8S_POD_NAME, K8S_NAMESPACE_NAME,
 * K8S_POD_UID, K8S_NODE_NAME; agent_env.c) and the pod's ServiceAccount token.
 *
 *   AUTOTRACE_REPORT=off            no report
 *   (a node agent: health_source.node set; the report is named after node_name, in
 *   namespace, owned by the agent's pod: POD_NAME and POD_UID from the downward API)
 *   AUTOTRACE_REPORT_KUBECONFIG=F   a kubeconfig instead of the in-cluster config
 *   AUTOTRACE_REPORT_HEARTBEAT_S=N  heartbeat (default 60 node, 300 sidecar)
 *   AUTOTRACE_REPORT_MIN_INTERVAL_S=N   floor between writes (default 15)
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_HEALTH_SOURCE_H
#define AUTOTRACE_AGENT_HEALTH_SOURCE_H

#include <event2/event.h>

#include "agent/health_writer.h"
#include "agent/node_agent.h"
#include "agent/settings.h"
#include "agent/tracer.h"
#include "lib/otlp/exporter.h"

/* Where the report reads from: the daemon's own pointers, read at every tick (the
 * settings object is replaced on a config change). */
struct health_source {
	struct tracer *const *tracer;
	struct otlp_exporter *const *exporter;
	struct agent_settings *const *settings;
	const char *version;
	/* A node agent's: its state, its node and namespace, and the client it watches
	 * with (borrowed; the report goes through it). NULL node: a sidecar, set up from
	 * the environment. */
	struct node_agent *const *node;
	const char *node_name, *namespace;
	struct kube_client *client;
};

struct health_agent;

/* Starts the report when the environment allows one: 0 with *ret NULL when it does
 * not (not in a cluster, AUTOTRACE_REPORT=off), and a log line saying why; 0 with a
 * new object otherwise. `src` is borrowed for the object's life. A failure here never
 * stops the agent: the caller logs it and traces on. */
int health_agent_start(struct event_base *base, const struct health_source *src,
		       struct health_agent **ret);
struct health_agent *health_agent_free(struct health_agent *h);
/* autotrace_agent_report_* into out; nothing when there is no report. */
int health_agent_scrape(const struct health_agent *h, struct prom_text *out);

#endif
