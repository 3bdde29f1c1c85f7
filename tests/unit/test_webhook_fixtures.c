/* Each fixture pod goes through the webhook as the API server would send it; the
 * JSONPatch in the response is applied to the pod with lib/jsonpatch and the result
 * must equal tests/fixtures/webhook/expected/<case>.json. The patched pod is then sent
 * again (a reinvocation) and must come back with no patch at all.
 * UPDATE_EXPECTED=1 writes the expected files from the current output, for review. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/jsonpatch/jsonpatch.h"
#include "tests/support/admission_fixtures.h"
#include "webhook/admission.h"

#define FIXTURES "tests/fixtures/webhook/"

struct fixture_case {
	const char *name;
	const char *ns;
	enum admission_result result;
	enum admission_reason reason;
};

static const struct fixture_case cases[] = {
	{ "plain-pod", "plain", ADMISSION_INJECTED, REASON_SIDECAR },
	{ "deployment-pod", "shop", ADMISSION_INJECTED, REASON_SIDECAR },
	/* As the ServiceAccount plugin leaves it: the sidecar gets the same token mount, so
	 * that plugin, run again after the webhook, changes nothing and the API server has
	 * no reason to call the webhook a second time. */
	{ "service-account-pod", "shop", ADMISSION_INJECTED, REASON_SIDECAR },
	{ "bare-pod", "shop", ADMISSION_INJECTED, REASON_SIDECAR },
	{ "cronjob-pod", "shop", ADMISSION_INJECTED, REASON_SIDECAR },
	{ "otel-annotated-pod", "otel", ADMISSION_INJECTED, REASON_SIDECAR },
	{ "cross-namespace-pod", "plain", ADMISSION_INJECTED, REASON_SIDECAR },
	/* Containers with env already: the name is appended, or kept when set. */
	{ "pod-with-env", "plain", ADMISSION_INJECTED, REASON_SIDECAR },
	{ "node-mode-pod", "nodes", ADMISSION_INJECTED, REASON_NODE_AGENT },
	{ "already-injected", "shop", ADMISSION_UNCHANGED, REASON_ALREADY_INJECTED },
	{ "opted-out-pod", "shop", ADMISSION_UNCHANGED, REASON_OPTED_OUT },
	{ "not-opted-in-pod", "plain", ADMISSION_UNCHANGED, REASON_NOT_OPTED_IN },
	{ "hostpid-pod", "shop", ADMISSION_SKIPPED, REASON_HOST_PID },
	{ "kube-system-pod", "kube-system", ADMISSION_SKIPPED, REASON_EXCLUDED_NAMESPACE },
	{ "share-pid-false-pod", "shop", ADMISSION_SKIPPED, REASON_SHARE_PROCESS_NAMESPACE_FALSE },
	{ "several-instrumentations-pod", "multi", ADMISSION_SKIPPED,
	  REASON_SEVERAL_INSTRUMENTATIONS },
	{ "not-found-pod", "plain", ADMISSION_SKIPPED, REASON_INSTRUMENTATION_NOT_FOUND },
	{ "invalid-instrumentation-pod", "bad", ADMISSION_SKIPPED,
	  REASON_INVALID_INSTRUMENTATION },
	{ "port-conflict-pod", "shop", ADMISSION_SKIPPED, REASON_PORT_CONFLICT },
	{ "volume-name-conflict-pod", "shop", ADMISSION_SKIPPED, REASON_NAME_CONFLICT },
};

struct world {
	struct fixture_cluster cluster;
	struct webhook_lookup lookup;
	struct webhook_options opts;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	w->cluster.root = fixture_json_load(FIXTURES "cluster.json");
	if (!w->cluster.root) {
		free(w);
		return -1;
	}
	fixture_cluster_lookup(&w->cluster, &w->lookup);
	webhook_options_init(&w->opts, "ghcr.io/autotrace/agent:default");
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	json_decref(w->cluster.root);
	free(w);
	return 0;
}

/* Sends pod through the webhook; returns the decoded patch (new reference). */
static json_t *admit_warned(struct world *w, const json_t *pod, const char *ns, const char *uid,
			    struct admission_outcome *ret_outcome, size_t *ret_warnings)
{
	char *review = fixture_review_new(pod, ns, uid, "CREATE"), *got_uid = NULL;
	json_t *patch = NULL, *warnings = NULL;
	int allowed = 0;

	assert_non_null(review);
	assert_int_equal(webhook_admit(&w->opts, &w->lookup, review, strlen(review), ret_outcome),
			 0);
	assert_int_equal(ret_outcome->http_status, 200);
	assert_int_equal(fixture_response_decode(ret_outcome->body, ret_outcome->body_len,
						 &got_uid, &allowed, &patch, &warnings),
			 0);
	assert_string_equal(got_uid, uid);
	assert_true(allowed);
	free(got_uid);
	free(review);
	if (ret_warnings)
		*ret_warnings = json_array_size(warnings);
	json_decref(warnings);
	return patch;
}

static json_t *admit(struct world *w, const json_t *pod, const char *ns, const char *uid,
		     struct admission_outcome *ret_outcome)
{
	return admit_warned(w, pod, ns, uid, ret_outcome, NULL);
}

static void write_expected(const char *path, const json_t *doc)
{
	assert_int_equal(json_dump_file(doc, path, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
	fprintf(stderr, "wrote %s\n", path);
}

static void run_case(struct world *w, const struct fixture_case *c)
{
	char path[256], err[256] = "";
	struct admission_outcome out = { 0 }, again = { 0 };
	json_t *pod, *patch, *patched = NULL, *expected, *patch2;
	size_t warnings = 0;

	snprintf(path, sizeof(path), FIXTURES "pods/%s.json", c->name);
	pod = fixture_json_load(path);
	assert_non_null(pod);

	patch = admit_warned(w, pod, c->ns, "0d4e6f1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f", &out,
			     &warnings);
	if (out.result != c->result || out.reason != c->reason)
		fail_msg("%s: got %s/%s (%s), want %s/%s", c->name,
			 admission_result_name(out.result), admission_reason_name(out.reason),
			 out.detail, admission_result_name(c->result),
			 admission_reason_name(c->reason));
	/* The log names the pod: by name, or by generateName before it has one. */
	{
		const json_t *meta = json_object_get(pod, "metadata");
		const char *n = json_string_value(json_object_get(meta, "name"));
		char want[400];

		snprintf(want, sizeof(want), "%s/%s%s", c->ns,
			 n ? n : json_string_value(json_object_get(meta, "generateName")),
			 n ? "" : "*");
		assert_string_equal(out.pod, want);
	}
	/* Whoever opted in and was skipped hears why; nobody else gets a warning. */
	assert_int_equal(warnings, c->result == ADMISSION_SKIPPED ? 1 : 0);
	if (jsonpatch_apply(pod, patch, &patched, err, sizeof(err)) != 0)
		fail_msg("%s: the patch does not apply: %s", c->name, err);

	snprintf(path, sizeof(path), FIXTURES "expected/%s.json", c->name);
	if (getenv("UPDATE_EXPECTED"))
		write_expected(path, patched);
	expected = fixture_json_load(path);
	assert_non_null(expected);
	if (!jsonpatch_values_equal(patched, expected)) {
		char *text = json_dumps(patched, JSON_INDENT(2) | JSON_SORT_KEYS);

		fail_msg("%s: patched pod differs from %s:\n%s", c->name, path, text);
	}

	/* Reinvocation: the patched pod gets no further change. */
	patch2 = admit(w, patched, c->ns, "second-call", &again);
	if (json_array_size(patch2) != 0) {
		char *text = json_dumps(patch2, JSON_INDENT(2));

		fail_msg("%s: reinvocation patched again:\n%s", c->name, text);
	}
	if (c->result == ADMISSION_INJECTED) {
		assert_int_equal(again.result, ADMISSION_UNCHANGED);
		assert_int_equal(again.reason, REASON_ALREADY_INJECTED);
	} else {
		assert_int_equal(again.result, c->result);
	}

	json_decref(patch2);
	json_decref(expected);
	json_decref(patched);
	json_decref(patch);
	json_decref(pod);
	admission_outcome_clear(&out);
	admission_outcome_clear(&again);
}

static void every_fixture_pod_gets_its_expected_pod(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(*state, &cases[i]);
}

/* What a user reads off the injected pod, checked field by field rather than only
 * through the whole expected file. */
static const json_t *env_var(const json_t *container, const char *name)
{
	const json_t *env = json_object_get(container, "env");

	for (size_t i = 0; i < json_array_size(env); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(env, i), "name")),
			   name) == 0)
			return json_array_get(env, i);
	return NULL;
}

static const char *env_value(const json_t *container, const char *name)
{
	return json_string_value(json_object_get(env_var(container, name), "value"));
}

static json_t *injected(struct world *w, const char *name, const char *ns)
{
	char path[256];
	struct admission_outcome out = { 0 };
	json_t *pod, *patch, *patched = NULL;

	snprintf(path, sizeof(path), FIXTURES "pods/%s.json", name);
	pod = fixture_json_load(path);
	assert_non_null(pod);
	patch = admit(w, pod, ns, "u", &out);
	assert_int_equal(jsonpatch_apply(pod, patch, &patched, NULL, 0), 0);
	json_decref(pod);
	json_decref(patch);
	admission_outcome_clear(&out);
	return patched;
}

static const json_t *agent_of(const json_t *pod)
{
	const json_t *list = json_object_get(json_object_get(pod, "spec"), "initContainers");

	for (size_t i = 0; i < json_array_size(list); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(list, i), "name")),
			   "autotrace-agent") == 0)
			return json_array_get(list, i);
	return NULL;
}

static void deployment_pod_is_named_after_its_deployment(void **state)
{
	json_t *pod = injected(*state, "deployment-pod", "shop");
	const json_t *agent = agent_of(pod);
	const char *attrs;

	assert_non_null(agent);
	assert_string_equal(env_value(agent, "OTEL_SERVICE_NAME"), "web");
	attrs = env_value(agent, "OTEL_RESOURCE_ATTRIBUTES");
	assert_non_null(strstr(attrs, "k8s.deployment.name=web"));
	assert_non_null(strstr(attrs, "k8s.replicaset.name=web-7d4b9c8f6d"));
	assert_non_null(strstr(attrs, "k8s.node.name=$(K8S_NODE_NAME)"));
	/* Two containers and no target: no single container name or version to claim. */
	assert_null(strstr(attrs, "k8s.container.name"));
	assert_null(strstr(attrs, "service.version"));
	/* The Instrumentation's own attribute is encoded, comma and space included. */
	assert_non_null(strstr(attrs, "deployment.environment=prod%20eu%2Cwest"));
	assert_string_equal(env_value(agent, "OTEL_TRACES_SAMPLER_ARG"), "0.25");
	assert_string_equal(env_value(agent, "OTEL_EXPORTER_OTLP_TIMEOUT"), "10000");
	json_decref(pod);
}

static void agent_runs_with_least_privilege(void **state)
{
	json_t *pod = injected(*state, "plain-pod", "plain");
	const json_t *sc = json_object_get(agent_of(pod), "securityContext");
	const json_t *add = json_object_get(json_object_get(sc, "capabilities"), "add");

	assert_true(json_is_false(json_object_get(sc, "privileged")));
	assert_true(json_is_false(json_object_get(sc, "allowPrivilegeEscalation")));
	assert_true(json_is_true(json_object_get(sc, "readOnlyRootFilesystem")));
	assert_int_equal(json_integer_value(json_object_get(sc, "runAsUser")), 0);
	assert_int_equal(json_array_size(add), 3);
	assert_string_equal(json_string_value(json_array_get(add, 0)), "BPF");
	assert_string_equal(json_string_value(json_array_get(add, 1)), "PERFMON");
	assert_string_equal(json_string_value(json_array_get(add, 2)), "SYS_PTRACE");
	assert_true(json_is_true(json_object_get(json_object_get(pod, "spec"),
						 "shareProcessNamespace")));
	json_decref(pod);
}

static void otel_annotations_choose_container_and_executable(void **state)
{
	json_t *pod = injected(*state, "otel-annotated-pod", "otel");
	const json_t *agent = agent_of(pod);

	/* The pod's annotations beat the Instrumentation's targets (worker, /usr/...). */
	assert_string_equal(env_value(agent, "AUTOTRACE_TARGET_CONTAINERS"), "api");
	assert_string_equal(env_value(agent, "AUTOTRACE_TARGET_EXE"), "/app/api-server");
	assert_string_equal(env_value(agent, "OTEL_SERVICE_NAME"), "api");
	assert_non_null(strstr(env_value(agent, "OTEL_RESOURCE_ATTRIBUTES"),
			       "service.version=v3.2.0"));
	assert_non_null(strstr(env_value(agent, "OTEL_RESOURCE_ATTRIBUTES"),
			       "k8s.statefulset.name=api"));
	json_decref(pod);
}

static void a_dollar_in_a_service_name_is_not_expanded(void **state)
{
	json_t *pod = injected(*state, "cronjob-pod", "shop");
	const json_t *agent = agent_of(pod);

	assert_string_equal(env_value(agent, "OTEL_SERVICE_NAME"), "nightly $$(REPORT)");
	assert_non_null(strstr(env_value(agent, "OTEL_RESOURCE_ATTRIBUTES"),
			       "k8s.cronjob.name=report"));
	json_decref(pod);
}

static void a_lookup_failure_admits_unchanged_with_a_warning(void **state)
{
	struct world *w = *state;
	struct admission_outcome out = { 0 };
	json_t *pod = fixture_json_load(FIXTURES "pods/plain-pod.json"), *patch, *warnings;
	char *review = fixture_review_new(pod, "plain", "uid-x", "CREATE"), *uid;
	int allowed;

	w->cluster.fail_with = -EIO;
	assert_int_equal(webhook_admit(&w->opts, &w->lookup, review, strlen(review), &out), 0);
	w->cluster.fail_with = 0;
	assert_int_equal(out.result, ADMISSION_ERROR);
	assert_int_equal(out.reason, REASON_LOOKUP_FAILED);
	assert_int_equal(out.http_status, 200);
	assert_int_equal(fixture_response_decode(out.body, out.body_len, &uid, &allowed, &patch,
						 &warnings),
			 0);
	assert_true(allowed);
	assert_int_equal(json_array_size(patch), 0);
	assert_int_equal(json_array_size(warnings), 1);
	assert_non_null(strstr(json_string_value(json_array_get(warnings, 0)), "namespace plain"));
	free(uid);
	free(review);
	json_decref(patch);
	json_decref(warnings);
	json_decref(pod);
	admission_outcome_clear(&out);
}

/* The API server validates a pod after the webhooks: the webhook may see forty
 * containers of one name. */
static void a_pod_not_yet_validated_cannot_overrun_the_targets(void **state)
{
	struct world *w = *state;
	struct admission_outcome out = { 0 };
	json_t *pod = json_pack("{s:{s:s, s:{s:s, s:s}}, s:{s:[]}}", "metadata", "name", "many",
				"annotations", "autotrace.dev/inject", "true",
				"instrumentation.opentelemetry.io/container-names", "api",
				"spec", "containers");
	json_t *patch, *patched = NULL;
	const char *targets;

	for (int i = 0; i < 40; i++)
		json_array_append_new(json_object_get(json_object_get(pod, "spec"), "containers"),
				      json_pack("{s:s, s:s}", "name", "api", "image", "api:1"));
	patch = admit(w, pod, "shop", "u-many", &out);
	assert_int_equal(out.result, ADMISSION_INJECTED);
	assert_int_equal(jsonpatch_apply(pod, patch, &patched, NULL, 0), 0);
	targets = env_value(agent_of(patched), "AUTOTRACE_TARGET_CONTAINERS");
	assert_non_null(targets);
	assert_true(strlen(targets) <= 32 * 4);
	json_decref(patched);
	json_decref(patch);
	json_decref(pod);
	admission_outcome_clear(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_fixture_pod_gets_its_expected_pod),
		cmocka_unit_test(deployment_pod_is_named_after_its_deployment),
		cmocka_unit_test(agent_runs_with_least_privilege),
		cmocka_unit_test(otel_annotations_choose_container_and_executable),
		cmocka_unit_test(a_dollar_in_a_service_name_is_not_expanded),
		cmocka_unit_test(a_lookup_failure_admits_unchanged_with_a_warning),
		cmocka_unit_test(a_pod_not_yet_validated_cannot_overrun_the_targets),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
