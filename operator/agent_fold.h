/* The agents of one Instrumentation, counted from what the operator caches: its
 * injected pods (a sidecar's readiness as the kubelet reports it) and the AgentReports
 * that name it (operator/agent_report.h), at a given time. Both modes count alike: a
 * sidecar is one agent, as is a node agent serving the Instrumentation's pods on its
 * node.
 *
 *   - A node agent is known by its report only: ready when the report is fresh and
 *     says ready.
 *   - A sidecar is known by its pod (running, labelled injected, with the agent
 *     container): ready when its container is ready and, when it has written a report,
 *     that report is fresh and says ready. A sidecar's report whose pod is not one of
 *     those is ignored (the pod is gone, and the report goes with it).
 *   - A report is fresh while it is at most max(stale_s, 2.5 x its heartbeatSeconds)
 *     old: 150 s is 2.5 heartbeats of a node agent, so one lost write does not flip an
 *     agent; sidecars write every 300 s and get 750 s. A report with no readable
 *     lastUpdateTime is stale.
 *   - Only fresh reports count as reporting: for the nodes, the pods instrumented and
 *     the config revision applied.
 *
 * Pure: the caller passes the reports, the pods' state and the time. */
#ifndef AUTOTRACE_OPERATOR_AGENT_FOLD_H
#define AUTOTRACE_OPERATOR_AGENT_FOLD_H

#include <jansson.h>
#include <stdint.h>

/* Room for the names in a condition message; the rest is counted ("and 7 more"). */
#define AGENT_FOLD_NAMES_MAX 512

struct agent_fold_input {
	const char *key;      /* the Instrumentation, "<ns>/<name>" */
	const char *revision; /* its latest published config revision; NULL: none yet */
	long sidecars;	      /* running injected pods with the agent container */
	long sidecars_ready;  /* ... whose agent container is ready */
	int64_t now;	      /* unix seconds */
	int64_t stale_s;      /* 0: 150 */
	/* Node agents' reports count from this namespace only (NULL: any); a sidecar's
	 * only when it is named after its own pod, in its pod's namespace. Anyone who may
	 * write reports in a namespace (its ServiceAccounts, for sidecars) could otherwise
	 * pose as a node agent or as another namespace's sidecar. */
	const char *node_ns;
	/* A sidecar's pod "<ns>/<name>": 1 when it is one of `sidecars` and ready, 0 when
	 * one of them and not ready, -1 otherwise. */
	int (*sidecar_state)(void *ud, const char *pod);
	void *ud;
};

struct agent_fold {
	long agents;	     /* sidecars + node agents whose report names the Instrumentation */
	long ready;	     /* of those */
	long nodes;	     /* distinct nodes with a fresh report naming it */
	long reporting;	     /* fresh reports naming it */
	long on_latest;	     /* of those, applying `revision` */
	long pods;	     /* pods instrumented, as the fresh reports count them */
	int64_t next_change; /* unix seconds when a fresh report goes stale; 0: none */
	/* "node n1 (no report for 212 s), pod shop/a (NoProbes)": the agents not ready, and
	 * those on another revision, by name, cut with "and N more". */
	char not_ready[AGENT_FOLD_NAMES_MAX];
	char behind[AGENT_FOLD_NAMES_MAX];
	/* Fresh reports whose last request to the collector failed, with nothing exported
	 * since: "node n1 (connection refused)". */
	long export_failing;
	char export_failing_names[AGENT_FOLD_NAMES_MAX];
};

/* Folds `reports` (an array of AgentReport objects; those not naming in->key are
 * skipped) into *ret. 0, or -ENOMEM. */
int agent_fold(const json_t *reports, const struct agent_fold_input *in, struct agent_fold *ret);

#endif
