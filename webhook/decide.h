/* Whether and how to inject one pod: opt-in, exclusions, the Instrumentation it names,
 * and what to trace. Pure: everything outside the pod comes through a lookup that the
 * daemon backs with its informers' caches (never an API call per admission) and that
 * tests back with fixtures.
 *
 * Order of the checks (the first that applies decides):
 *   1. already injected (label autotrace.dev/injected="true" or a container named
 *      autotrace-agent)                                → unchanged, already_injected
 *   2. opt-in by the precedence rule of lib/instrumentation/optin.h:
 *      none → unchanged, not_opted_in; "false" → unchanged, opted_out
 *   3. namespace in the excluded list                   → skipped, no patch at all
 *   4. unreadable opt-in value                          → skipped, invalid_annotation
 *   5. the Instrumentation: "true" with none or several in the namespace, a name that
 *      does not exist, a spec that does not pass its checks → skipped
 *   6. mode "node": labelled only                        → injected, node_agent
 *   7. sidecar: hostPID, hostNetwork, shareProcessNamespace: false, no container left to
 *      trace, the agent's port already declared, a volume named autotrace-config,
 *      no agent image                                   → skipped
 *   8.                                                   → injected, sidecar
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_WEBHOOK_DECIDE_H
#define AUTOTRACE_WEBHOOK_DECIDE_H

#include <jansson.h>

#include "lib/instrumentation/optin.h"
#include "lib/instrumentation/spec.h"
#include "webhook/options.h"
#include "webhook/result.h"

#define LABEL_INJECTED		      "autotrace.dev/injected"
#define ANNOTATION_INSTRUMENTATION    "autotrace.dev/instrumentation"
#define ANNOTATION_STATUS	      "autotrace.dev/status"

/* Where the webhook reads Namespaces and Instrumentations: the informers' caches.
 * Each function returns 0 and a NEW reference the caller releases (the cache may drop
 * its own meanwhile; objects handed out must not be modified afterwards), -ENOENT when
 * the object is not in the cache (a namespace the cache does not know reads as one
 * without annotations), or another negative errno on failure (the pod is then
 * admitted unchanged with a warning). Called from the admitting thread, at most once
 * each per admission. */
struct webhook_lookup {
	void *userdata;
	/* The namespace's metadata.annotations object (an empty object or -ENOENT when it
	 * has none). */
	int (*namespace_annotations)(void *userdata, const char *ns, json_t **ret_annotations);
	/* A JSON array of the Instrumentation objects in ns (empty when none). */
	int (*list_instrumentations)(void *userdata, const char *ns, json_t **ret_items);
	/* Instrumentation ns/name. */
	int (*get_instrumentation)(void *userdata, const char *ns, const char *name,
				   json_t **ret_instrumentation);
};

#define DECISION_MAX_TARGETS INSTRUMENTATION_MAX_CONTAINERS

struct decision {
	enum admission_result result;
	enum admission_reason reason;
	char detail[384];		 /* one printable sentence for users */
	int patchable;			 /* may the pod carry a status annotation? */
	struct instrumentation_spec spec; /* INJECTED: the Instrumentation (owned) */
	const char *agent_image;	 /* INJECTED sidecar: borrowed */
	/* Containers to trace, borrowed from the pod; none = every container. */
	const char *targets[DECISION_MAX_TARGETS];
	size_t n_targets;
	char target_exe[4097];		  /* "" = detect Go binaries */
};

/* Decides for pod (the AdmissionRequest's object) in namespace pod_ns (the request's
 * namespace: a pod made from a template has none in its metadata yet). *ret is always
 * written; its result says what happened (ADMISSION_ERROR with REASON_LOOKUP_FAILED or
 * REASON_INTERNAL when the lookup or memory failed). Release with decision_clear. */
void decide_injection(const struct webhook_options *opts, const struct webhook_lookup *lookup,
		      const json_t *pod, const char *pod_ns, struct decision *ret);
void decision_clear(struct decision *d);

/* Does the pod already carry the agent (label or container)? */
int pod_is_injected(const json_t *pod);

#endif
