/* Instrumentation.status from what one reconcile observed: observedGeneration, the
 * counts, the config revision and the conditions Ready, ConfigPublished and Degraded
 * (Kubernetes conventions: type, status, reason, message, lastTransitionTime,
 * observedGeneration). Pure, so that every replica computes the same status from the
 * same caches and a change of leader writes nothing new: a condition keeps its
 * lastTransitionTime while its status stays the same.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OPERATOR_STATUS_H
#define AUTOTRACE_OPERATOR_STATUS_H

#include <jansson.h>
#include <stddef.h>

#include "operator/agent_fold.h"

enum status_problem {
	STATUS_OK,
	STATUS_INVALID_SPEC,	 /* the spec does not parse (the schema let it through) */
	STATUS_SECRET_NOT_FOUND, /* a Secret it references is missing */
	STATUS_PUBLISH_FAILED,	 /* writing a ConfigMap failed */
};

struct status_observation {
	long long generation;
	enum status_problem problem;
	const char *problem_message; /* one sentence, for the conditions */
	const char *revision;	     /* the config in place (published now, or the last
				      * good one kept); NULL: none yet */
	size_t namespaces;	     /* namespaces it is published in */
	long injected;		     /* running injected pods */
	long ready;		     /* ... whose agent container is ready */
	/* The agents of both modes, from the pods and the AgentReports
	 * (operator/agent_fold.h); NULL: the pods' counts above alone (no reports
	 * served). When set, readyAgents and Degraded follow it, and the status gains
	 * agents, nodesReporting, agentsReporting, agentsOnLatestRevision,
	 * podsInstrumented and the condition ConfigApplied. */
	const struct agent_fold *agents;
};

/* The reason word of a problem: "Published", "InvalidSpec", "SecretNotFound",
 * "PublishFailed". */
const char *status_problem_reason(enum status_problem p);

/* Conditions, as status_build writes them:
 *   Ready            the config is published (or why not);
 *   ConfigPublished  the same, with the number of namespaces;
 *   Degraded         True when the config cannot be used or an agent is not ready
 *                    (AgentsNotReady, naming them: "node n1 (no report for 212 s)");
 *   ConfigApplied    (with agents) True when every reporting agent applies the
 *                    published revision, False naming those that do not
 *                    (AgentsBehind), Unknown when none reports (NoReports) or nothing
 *                    is published yet (NotPublished). */

/* A new status object (new reference, NULL on allocation failure). `old_status` (may
 * be NULL) gives the lastTransitionTime of conditions whose status is unchanged; `now`
 * is an RFC 3339 time for the others. */
json_t *status_build(const json_t *old_status, const struct status_observation *obs,
		     const char *now);

/* The condition of that type in a status (borrowed), or NULL. */
const json_t *status_condition(const json_t *status, const char *type);

/* "2026-01-02T03:04:05Z" for the current time into buf (21 bytes at least). */
int status_now(char *buf, size_t size);

#endif
