/* The node agent's decisions, pure (no I/O, no API calls): whether a pod on this node
 * is traced and by which Instrumentation, which of its containers and binaries, and
 * the resource its spans carry. Everything outside the pod comes through a lookup the
 * agent backs with its informers' caches and the tests with fixtures.
 *
 * The opt-in is lib/instrumentation/optin.c's, the webhook's rule; a pod is traced here
 * when it opts in, is running on this node, its namespace is not excluded, and the
 * Instrumentation it names (or the only one of its namespace, for "true") exists, is
 * valid, and has spec.agent.mode "node" (a sidecar-mode one is the webhook's).
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_NODE_PLAN_H
#define AUTOTRACE_AGENT_NODE_PLAN_H

#include <jansson.h>
#include <stddef.h>

#include "lib/instrumentation/naming.h"
#include "lib/instrumentation/spec.h"
#include "lib/otlp/span.h"

/* Where the plan reads namespaces and Instrumentations. Results are borrowed. */
struct node_plan_lookup {
	void *ud;
	/* A namespace's metadata.annotations; NULL when it has none or is unknown. */
	const json_t *(*namespace_annotations)(void *ud, const char *ns);
	/* Instrumentation ns/name parsed; NULL when missing or invalid. */
	const struct instrumentation_spec *(*instrumentation)(void *ud, const char *ns,
							      const char *name);
	/* How many Instrumentations ns has (valid or not), and the only one's name when
	 * exactly one (borrowed). */
	size_t (*instrumentations_in)(void *ud, const char *ns, const char **ret_only_name);
};

enum node_plan_verdict {
	NODE_PLAN_TRACE,
	NODE_PLAN_OTHER_NODE,         /* not scheduled here */
	NODE_PLAN_NOT_RUNNING,        /* phase is not Running (nothing to trace yet, or any more) */
	NODE_PLAN_NOT_OPTED_IN,
	NODE_PLAN_OPTED_OUT,
	NODE_PLAN_EXCLUDED_NAMESPACE, /* system namespaces and autotrace's own */
	NODE_PLAN_INVALID_ANNOTATION,
	NODE_PLAN_NO_INSTRUMENTATION, /* none, several for "true", or the one named is
				       * missing or invalid */
	NODE_PLAN_SIDECAR_MODE,       /* the webhook's: it injected a sidecar */
	NODE_PLAN_VERDICTS
};
const char *node_plan_verdict_name(enum node_plan_verdict v);

struct node_plan {
	enum node_plan_verdict verdict;
	char ns[K8S_LABEL_MAX + 1];       /* TRACE: the Instrumentation */
	char name[K8S_SUBDOMAIN_MAX + 1];
	char target_exe[256];             /* TRACE: the pod's otel-go-auto-target-exe, or "" */
};

struct node_plan_opts {
	const char *node;                    /* this node's name */
	const char *const *excluded_namespaces; /* NULL-terminated; NULL: the system ones */
};

/* Decides for pod (borrowed). *ret is always written. */
void node_plan_pod(const struct node_plan_opts *opts, const struct node_plan_lookup *lookup,
		   const json_t *pod, struct node_plan *ret);

/* Whether a process of container `container` running `exe` is traced, given the
 * Instrumentation's targets and the plan's target_exe (which wins over the spec's
 * executable, as the OpenTelemetry Operator's annotation does). */
int node_plan_traces_process(const struct instrumentation_spec *spec, const struct node_plan *plan,
			     const char *container, const char *exe);

/* The resource of a container's spans: the Instrumentation's resourceAttributes, then
 * what the pod tells (their keys win over none of the user's): k8s.namespace.name,
 * k8s.pod.name, k8s.pod.uid, k8s.node.name, the owning workloads (k8s.replicaset.name,
 * k8s.deployment.name, ...), k8s.container.name, and service.name (the webhook's rule:
 * lib/instrumentation/workload.h). -E2BIG when something was cut (the rest is set). */
int node_plan_resource(const struct instrumentation_spec *spec, const json_t *pod,
		       const char *container, const char *node, struct otlp_resource *ret);

#endif
