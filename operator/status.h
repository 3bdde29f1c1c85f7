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
};

/* The reason word of a problem: "Published", "InvalidSpec", "SecretNotFound",
 * "PublishFailed". */
const char *status_problem_reason(enum status_problem p);

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
