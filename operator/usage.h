/* Which namespaces and pods use which Instrumentation: the rule the operator follows to
 * publish an agent config into every namespace that needs it and to count the agents
 * of an Instrumentation. Pure: objects in, answers out; the caches are the caller's.
 *
 * A namespace uses Instrumentation <ns>/<name> when
 *   - it is <ns> itself (the ConfigMap lives next to its Instrumentation), or
 *   - its annotation (autotrace.dev/inject, else the OpenTelemetry Operator's
 *     instrumentation.opentelemetry.io/inject-go, read by optin_decide) names it, or
 *   - an injected pod in it uses it.
 * An injected pod (label autotrace.dev/injected=true, set by the webhook) uses the
 * Instrumentation the webhook recorded in its annotation autotrace.dev/instrumentation;
 * a pod without that record is read by optin_decide on its own and its namespace's
 * annotations, as the webhook would have decided.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OPERATOR_USAGE_H
#define AUTOTRACE_OPERATOR_USAGE_H

#include <jansson.h>

#include "lib/instrumentation/naming.h"

/* What the webhook writes on a pod it injected (webhook/decide.h). */
#define POD_LABEL_INJECTED	      "autotrace.dev/injected"
#define POD_ANNOTATION_INSTRUMENTATION "autotrace.dev/instrumentation"
/* The agent container, a native sidecar (initContainers, restartPolicy Always). */
#define AGENT_CONTAINER_NAME "autotrace-agent"

/* "<ns>/<name>" of an Instrumentation: the work queue's key. */
#define USAGE_KEY_SIZE (K8S_LABEL_MAX + 1 + K8S_SUBDOMAIN_MAX + 1)

/* Answers "true" (the single Instrumentation of a namespace): the name of the one
 * Instrumentation in `ns`, or NULL when there is none or more than one. */
struct usage_lookup {
	const char *(*single_instrumentation)(void *ud, const char *ns);
	void *ud;
};

/* The Instrumentation a namespace's own annotation selects, as "<ns>/<name>" into
 * ret_key (USAGE_KEY_SIZE bytes). -ENOENT when it selects none (unset, "false", an
 * unreadable value, or "true" without a single Instrumentation). */
int usage_namespace_target(const json_t *ns_obj, const struct usage_lookup *lookup,
			   char *ret_key, size_t size);

/* A pod as the operator caches it: its packed summary (operator/pod_summary.h). An
 * informer summarize hook (ud unused). New reference, NULL when out of memory. */
json_t *usage_pod_summary(void *ud, const json_t *pod);
/* The summarised pod's namespace (borrowed from the summary), or NULL. */
const char *usage_pod_namespace(const json_t *summary);

/* The Instrumentation an injected pod (its summary) uses; `ns_obj` is its namespace
 * (may be NULL). -ENOENT when the pod is not injected or uses none. */
int usage_pod_target(const json_t *summary, const json_t *ns_obj,
		     const struct usage_lookup *lookup, char *ret_key, size_t size);

/* Is the pod's agent container ready? Looked for among the init container statuses (a
 * native sidecar) and then the container statuses. A pod that has ended (Succeeded,
 * Failed) or is being deleted counts as not running: usage_pod_running() is 0. Both
 * take a summary. */
int usage_pod_agent_ready(const json_t *summary);
/* Does the pod carry the agent container (sidecar mode)? A node-mode pod does not. */
int usage_pod_has_sidecar(const json_t *summary);
int usage_pod_running(const json_t *summary);

/* Splits "<ns>/<name>" into its parts (ns: K8S_LABEL_MAX + 1 bytes, name:
 * K8S_SUBDOMAIN_MAX + 1). -EINVAL when it is not such a key. */
int usage_key_split(const char *key, char *ret_ns, char *ret_name);

#endif
