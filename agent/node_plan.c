#include "agent/node_plan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/process_scan.h"
#include "lib/instrumentation/optin.h"
#include "lib/instrumentation/workload.h"

/* The webhook's defaults (webhook/options.c); the agent adds its own namespace. */
static const char *const system_namespaces[] = { "kube-system", "kube-public", "kube-node-lease",
						 NULL };

static const char *const verdict_names[NODE_PLAN_VERDICTS] = {
	[NODE_PLAN_TRACE] = "trace",
	[NODE_PLAN_OTHER_NODE] = "other_node",
	[NODE_PLAN_NOT_RUNNING] = "not_running",
	[NODE_PLAN_NOT_OPTED_IN] = "not_opted_in",
	[NODE_PLAN_OPTED_OUT] = "opted_out",
	[NODE_PLAN_EXCLUDED_NAMESPACE] = "excluded_namespace",
	[NODE_PLAN_INVALID_ANNOTATION] = "invalid_annotation",
	[NODE_PLAN_NO_INSTRUMENTATION] = "no_instrumentation",
	[NODE_PLAN_SIDECAR_MODE] = "sidecar_mode",
};

const char *node_plan_verdict_name(enum node_plan_verdict v)
{
	return (unsigned)v < NODE_PLAN_VERDICTS ? verdict_names[v] : "unknown";
}

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(obj, a), b));
}

static int excluded(const struct node_plan_opts *opts, const char *ns)
{
	const char *const *list = opts->excluded_namespaces ? opts->excluded_namespaces
							    : system_namespaces;

	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], ns) == 0)
			return 1;
	return 0;
}

void node_plan_pod(const struct node_plan_opts *opts, const struct node_plan_lookup *lookup,
		   const json_t *pod, struct node_plan *ret)
{
	struct node_plan p = { .verdict = NODE_PLAN_NOT_OPTED_IN };
	const char *ns = str_at(pod, "metadata", "namespace");
	const char *node = str_at(pod, "spec", "nodeName");
	const char *phase = str_at(pod, "status", "phase");
	const json_t *pod_ann = json_object_get(json_object_get(pod, "metadata"), "annotations");
	const struct instrumentation_spec *spec;
	const char *exe;
	struct optin in;

	if (!ns || !node || !opts->node || strcmp(node, opts->node) != 0) {
		p.verdict = NODE_PLAN_OTHER_NODE;
		goto done;
	}
	if (!phase || strcmp(phase, "Running") != 0) {
		p.verdict = NODE_PLAN_NOT_RUNNING;
		goto done;
	}
	optin_decide(pod_ann, lookup->namespace_annotations(lookup->ud, ns), ns, &in);
	switch (in.kind) {
	case OPTIN_UNSET:
		p.verdict = NODE_PLAN_NOT_OPTED_IN;
		goto done;
	case OPTIN_FALSE:
		p.verdict = NODE_PLAN_OPTED_OUT;
		goto done;
	default:
		break;
	}
	if (excluded(opts, ns)) {
		p.verdict = NODE_PLAN_EXCLUDED_NAMESPACE;
		goto done;
	}
	if (in.kind == OPTIN_INVALID) {
		p.verdict = NODE_PLAN_INVALID_ANNOTATION;
		goto done;
	}
	if (in.kind == OPTIN_SINGLE) {
		const char *only = NULL;

		if (lookup->instrumentations_in(lookup->ud, ns, &only) != 1 || !only) {
			p.verdict = NODE_PLAN_NO_INSTRUMENTATION;
			goto done;
		}
		snprintf(p.ns, sizeof(p.ns), "%s", ns);
		snprintf(p.name, sizeof(p.name), "%s", only);
	} else {
		snprintf(p.ns, sizeof(p.ns), "%s", in.ns);
		snprintf(p.name, sizeof(p.name), "%s", in.name);
	}
	spec = lookup->instrumentation(lookup->ud, p.ns, p.name);
	if (!spec) {
		p.verdict = NODE_PLAN_NO_INSTRUMENTATION;
		goto done;
	}
	if (spec->mode != AGENT_MODE_NODE) {
		p.verdict = NODE_PLAN_SIDECAR_MODE;
		goto done;
	}
	exe = json_string_value(json_object_get(pod_ann, ANNOTATION_OTEL_TARGET_EXE));
	if (exe)
		snprintf(p.target_exe, sizeof(p.target_exe), "%s", exe);
	p.verdict = NODE_PLAN_TRACE;
done:
	if (p.verdict != NODE_PLAN_TRACE)
		p.ns[0] = p.name[0] = '\0';
	*ret = p;
}

int node_plan_traces_process(const struct instrumentation_spec *spec, const struct node_plan *plan,
			     const char *container, const char *exe)
{
	if (spec->n_container_names) {
		size_t i;

		for (i = 0; i < spec->n_container_names; i++)
			if (container && strcmp(spec->container_names[i], container) == 0)
				break;
		if (i == spec->n_container_names)
			return 0;
	}
	return process_exe_matches(plan->target_exe[0] ? plan->target_exe : spec->executable, exe);
}

/* Adds key=value unless the Instrumentation sets key (its value is there already). */
static int put(struct otlp_resource *res, const json_t *user, const char *key, const char *value)
{
	if (!value || !value[0] || json_object_get(user, key))
		return 0;
	return otlp_resource_add_string(res, key, value);
}

int node_plan_resource(const struct instrumentation_spec *spec, const json_t *pod,
		       const char *container, const char *node, struct otlp_resource *ret)
{
	const json_t *user = spec ? spec->resource_attributes : NULL;
	struct otlp_resource res;
	struct workload w;
	const char *key;
	json_t *v;
	int r = 0;

	otlp_resource_init(&res);
	workload_from_pod(pod, &w);
	json_object_foreach((json_t *)user, key, v) {
		if (json_is_string(v))
			r |= otlp_resource_add_string(&res, key, json_string_value(v));
	}
	r |= put(&res, user, "k8s.namespace.name", str_at(pod, "metadata", "namespace"));
	r |= put(&res, user, "k8s.pod.name", str_at(pod, "metadata", "name"));
	r |= put(&res, user, "k8s.pod.uid", str_at(pod, "metadata", "uid"));
	r |= put(&res, user, "k8s.node.name", node);
	r |= put(&res, user, "k8s.replicaset.name", w.replicaset);
	r |= put(&res, user, "k8s.deployment.name", w.deployment);
	r |= put(&res, user, "k8s.statefulset.name", w.statefulset);
	r |= put(&res, user, "k8s.daemonset.name", w.daemonset);
	r |= put(&res, user, "k8s.job.name", w.job);
	r |= put(&res, user, "k8s.cronjob.name", w.cronjob);
	r |= put(&res, user, "k8s.container.name", container);
	r |= put(&res, user, "service.name", workload_service_name(pod, &w));
	*ret = res;
	return r ? -E2BIG : 0;
}
