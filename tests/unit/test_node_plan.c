/* The node agent's decisions on fixtures: which pods of which namespaces it traces
 * under which Instrumentation (the webhook's opt-in rule, node-mode Instrumentations
 * only, its own node, running pods), which processes of a traced pod, and the resource
 * their spans carry. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/node_plan.h"

#define NODE "node-a"

/* A cluster: namespaces (name → annotations) and Instrumentations. */
struct fixture {
	json_t *namespaces;      /* object: name → annotations object */
	json_t *instrumentations; /* array of CRs */
	struct instrumentation_spec spec;
};

static const json_t *fx_ns(void *ud, const char *ns)
{
	struct fixture *f = ud;

	return json_object_get(f->namespaces, ns);
}

static const struct instrumentation_spec *fx_instr(void *ud, const char *ns, const char *name)
{
	struct fixture *f = ud;
	size_t i;
	json_t *cr;
	char err[256];

	instrumentation_spec_clear(&f->spec);
	json_array_foreach(f->instrumentations, i, cr) {
		json_t *meta = json_object_get(cr, "metadata");

		if (strcmp(json_string_value(json_object_get(meta, "namespace")), ns) == 0 &&
		    strcmp(json_string_value(json_object_get(meta, "name")), name) == 0)
			return instrumentation_spec_parse(cr, &f->spec, err, sizeof(err)) == 0 ? &f->spec
											      : NULL;
	}
	return NULL;
}

static size_t fx_count(void *ud, const char *ns, const char **ret_only)
{
	struct fixture *f = ud;
	size_t i, n = 0;
	json_t *cr;

	*ret_only = NULL;
	json_array_foreach(f->instrumentations, i, cr) {
		json_t *meta = json_object_get(cr, "metadata");

		if (strcmp(json_string_value(json_object_get(meta, "namespace")), ns) == 0) {
			n++;
			*ret_only = json_string_value(json_object_get(meta, "name"));
		}
	}
	if (n != 1)
		*ret_only = NULL;
	return n;
}

static json_t *instr(const char *ns, const char *name, const char *mode)
{
	json_t *cr = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:s}, s:{s:s}}}", "apiVersion",
			       "autotrace.dev/v1alpha1", "kind", "Instrumentation", "metadata",
			       "namespace", ns, "name", name, "spec", "agent", "mode", mode,
			       "resourceAttributes", "team", "payments");

	assert_non_null(cr);
	return cr;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->namespaces = json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{}, s:{s:s}, s:{s:s}, s:{s:s}}",
				  "shop", "autotrace.dev/inject", "true",
				  "legacy", "autotrace.dev/inject", "true",
				  "two", "autotrace.dev/inject", "true",
				  "quiet",
				  "kube-system", "autotrace.dev/inject", "true",
				  "odd", "autotrace.dev/inject", "a/b/c",
				  "otel", "instrumentation.opentelemetry.io/inject-go", "obs/traces");
	f->instrumentations = json_array();
	json_array_append_new(f->instrumentations, instr("shop", "traces", "node"));
	json_array_append_new(f->instrumentations, instr("legacy", "traces", "sidecar"));
	json_array_append_new(f->instrumentations, instr("two", "a", "node"));
	json_array_append_new(f->instrumentations, instr("two", "b", "node"));
	json_array_append_new(f->instrumentations, instr("obs", "traces", "node"));
	json_array_append_new(f->instrumentations, instr("quiet", "traces", "node"));
	json_array_append_new(f->instrumentations, instr("kube-system", "traces", "node"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	instrumentation_spec_clear(&f->spec);
	json_decref(f->namespaces);
	json_decref(f->instrumentations);
	free(f);
	return 0;
}

/* A running pod of namespace ns on node, with optional annotation value. */
static json_t *pod(const char *ns, const char *node, const char *phase, const char *inject)
{
	json_t *p = json_pack("{s:{s:s, s:s, s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:b}], s:{}}, "
			      "s:{s:s}, s:{s:s}}",
			      "metadata", "namespace", ns, "name", "checkout-7d9f8b6c5d-x2x9q", "uid",
			      "6f3b1c2a-4d5e-4f60-9a7b-8c9d0e1f2a3b", "labels", "pod-template-hash",
			      "7d9f8b6c5d", "app.kubernetes.io/name", "checkout", "ownerReferences",
			      "kind", "ReplicaSet", "name", "checkout-7d9f8b6c5d", "controller", 1,
			      "annotations", "spec", "nodeName", node, "status", "phase", phase);

	assert_non_null(p);
	if (inject)
		json_object_set_new(json_object_get(json_object_get(p, "metadata"), "annotations"),
				    "autotrace.dev/inject", json_string(inject));
	return p;
}

static enum node_plan_verdict verdict(struct fixture *f, json_t *p, struct node_plan *ret)
{
	struct node_plan_opts o = { .node = NODE };
	struct node_plan_lookup l = { .ud = f, .namespace_annotations = fx_ns,
				      .instrumentation = fx_instr, .instrumentations_in = fx_count };

	node_plan_pod(&o, &l, p, ret);
	json_decref(p);
	return ret->verdict;
}

static void namespace_opt_in_traces_running_pods_of_this_node(void **state)
{
	struct fixture *f = *state;
	struct node_plan p;

	assert_int_equal(verdict(f, pod("shop", NODE, "Running", NULL), &p), NODE_PLAN_TRACE);
	assert_string_equal(p.ns, "shop");
	assert_string_equal(p.name, "traces");
	assert_int_equal(verdict(f, pod("shop", "node-b", "Running", NULL), &p), NODE_PLAN_OTHER_NODE);
	assert_string_equal(p.name, "");
	assert_int_equal(verdict(f, pod("shop", NODE, "Pending", NULL), &p), NODE_PLAN_NOT_RUNNING);
	assert_int_equal(verdict(f, pod("shop", NODE, "Succeeded", NULL), &p), NODE_PLAN_NOT_RUNNING);
}

static void the_pods_annotation_wins(void **state)
{
	struct fixture *f = *state;
	struct node_plan p;

	assert_int_equal(verdict(f, pod("shop", NODE, "Running", "false"), &p), NODE_PLAN_OPTED_OUT);
	assert_int_equal(verdict(f, pod("quiet", NODE, "Running", NULL), &p), NODE_PLAN_NOT_OPTED_IN);
	assert_int_equal(verdict(f, pod("quiet", NODE, "Running", "true"), &p), NODE_PLAN_TRACE);
	assert_string_equal(p.ns, "quiet");
	assert_int_equal(verdict(f, pod("quiet", NODE, "Running", "obs/traces"), &p), NODE_PLAN_TRACE);
	assert_string_equal(p.ns, "obs");
	/* The OpenTelemetry Operator's annotation, on the namespace. */
	assert_int_equal(verdict(f, pod("otel", NODE, "Running", NULL), &p), NODE_PLAN_TRACE);
	assert_string_equal(p.ns, "obs");
	assert_string_equal(p.name, "traces");
}

static void only_node_mode_instrumentations_are_the_node_agents(void **state)
{
	struct fixture *f = *state;
	struct node_plan p;

	assert_int_equal(verdict(f, pod("legacy", NODE, "Running", NULL), &p), NODE_PLAN_SIDECAR_MODE);
	assert_int_equal(verdict(f, pod("two", NODE, "Running", NULL), &p),
			 NODE_PLAN_NO_INSTRUMENTATION);
	assert_int_equal(verdict(f, pod("two", NODE, "Running", "b"), &p), NODE_PLAN_TRACE);
	assert_string_equal(p.name, "b");
	assert_int_equal(verdict(f, pod("quiet", NODE, "Running", "missing"), &p),
			 NODE_PLAN_NO_INSTRUMENTATION);
	assert_int_equal(verdict(f, pod("kube-system", NODE, "Running", NULL), &p),
			 NODE_PLAN_EXCLUDED_NAMESPACE);
	assert_int_equal(verdict(f, pod("odd", NODE, "Running", NULL), &p),
			 NODE_PLAN_INVALID_ANNOTATION);
	assert_string_equal(node_plan_verdict_name(NODE_PLAN_SIDECAR_MODE), "sidecar_mode");
}

static const char *res_value(const struct otlp_resource *r, const char *key)
{
	struct otlp_attrs_view v = otlp_resource_attrs(r);
	static char buf[256];

	for (size_t i = 0; i < v.count; i++) {
		const struct otlp_attr *a = &v.items[i];

		if (strlen(key) == a->key_len && memcmp(v.text + a->key_off, key, a->key_len) == 0) {
			snprintf(buf, sizeof(buf), "%.*s", (int)a->str_len, v.text + a->str_off);
			return buf;
		}
	}
	return NULL;
}

static void the_resource_names_the_pod_as_the_webhook_does(void **state)
{
	struct fixture *f = *state;
	json_t *p = pod("shop", NODE, "Running", NULL);
	const struct instrumentation_spec *spec = fx_instr(f, "shop", "traces");
	struct otlp_resource r;

	assert_non_null(spec);
	assert_int_equal(node_plan_resource(spec, p, "app", NODE, &r), 0);
	assert_string_equal(res_value(&r, "k8s.namespace.name"), "shop");
	assert_string_equal(res_value(&r, "k8s.pod.name"), "checkout-7d9f8b6c5d-x2x9q");
	assert_string_equal(res_value(&r, "k8s.pod.uid"), "6f3b1c2a-4d5e-4f60-9a7b-8c9d0e1f2a3b");
	assert_string_equal(res_value(&r, "k8s.node.name"), NODE);
	assert_string_equal(res_value(&r, "k8s.replicaset.name"), "checkout-7d9f8b6c5d");
	assert_string_equal(res_value(&r, "k8s.deployment.name"), "checkout");
	assert_string_equal(res_value(&r, "k8s.container.name"), "app");
	assert_string_equal(res_value(&r, "service.name"), "checkout");
	assert_string_equal(res_value(&r, "team"), "payments");
	assert_null(res_value(&r, "k8s.statefulset.name"));

	/* The Instrumentation's own keys win. */
	json_object_set_new(json_object_get(json_object_get(spec->cr, "spec"), "resourceAttributes"),
			    "service.name", json_string("shop-checkout"));
	spec = fx_instr(f, "shop", "traces");
	assert_int_equal(node_plan_resource(spec, p, "app", NODE, &r), 0);
	assert_string_equal(res_value(&r, "service.name"), "shop-checkout");
	json_decref(p);
}

static void targets_choose_containers_and_binaries(void **state)
{
	struct fixture *f = *state;
	struct instrumentation_spec spec = { 0 };
	struct node_plan plan = { .verdict = NODE_PLAN_TRACE };

	(void)f;
	assert_true(node_plan_traces_process(&spec, &plan, "app", "/app/server"));
	spec.container_names[0] = "app";
	spec.n_container_names = 1;
	assert_true(node_plan_traces_process(&spec, &plan, "app", "/app/server"));
	assert_false(node_plan_traces_process(&spec, &plan, "istio-proxy", "/usr/bin/envoy"));
	spec.executable = "server";
	assert_true(node_plan_traces_process(&spec, &plan, "app", "/app/server"));
	assert_false(node_plan_traces_process(&spec, &plan, "app", "/app/migrate"));
	/* The pod's otel-go-auto-target-exe wins over the spec's executable. */
	strcpy(plan.target_exe, "/app/migrate");
	assert_true(node_plan_traces_process(&spec, &plan, "app", "/app/migrate"));
	assert_false(node_plan_traces_process(&spec, &plan, "app", "/app/server"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(namespace_opt_in_traces_running_pods_of_this_node, setup, teardown),
		cmocka_unit_test_setup_teardown(the_pods_annotation_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(only_node_mode_instrumentations_are_the_node_agents, setup, teardown),
		cmocka_unit_test_setup_teardown(the_resource_names_the_pod_as_the_webhook_does, setup, teardown),
		cmocka_unit_test_setup_teardown(targets_choose_containers_and_binaries, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
