/* Which namespaces and pods use which Instrumentation (operator/usage.h): the
 * annotations on namespaces and pods, the webhook's record on injected pods, "true"
 * meaning the single Instrumentation of a namespace, and the agent's readiness. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "lib/instrumentation/optin.h"
#include "operator/usage.h"

/* Namespace "solo" holds one Instrumentation ("only"); "crowd" holds two. */
static const char *single(void *ud, const char *ns)
{
	return strcmp(ns, "solo") == 0 ? "only" : NULL;
}

static const struct usage_lookup lookup = { .single_instrumentation = single };

static json_t *ns_with(const char *name, const char *key, const char *value)
{
	json_t *ns = json_pack("{s:{s:s, s:{}}}", "metadata", "name", name, "annotations");

	if (key)
		json_object_set_new(json_object_get(json_object_get(ns, "metadata"), "annotations"),
				    key, json_string(value));
	return ns;
}

static json_t *pod_with(const char *ns, int injected, const char *recorded, const char *key,
			const char *value)
{
	json_t *pod = json_pack("{s:{s:s, s:s, s:{}, s:{}}, s:{s:s}}", "metadata", "name", "p",
				"namespace", ns, "labels", "annotations", "status", "phase",
				"Running");
	json_t *meta = json_object_get(pod, "metadata");

	if (injected)
		json_object_set_new(json_object_get(meta, "labels"), POD_LABEL_INJECTED,
				    json_string("true"));
	if (recorded)
		json_object_set_new(json_object_get(meta, "annotations"),
				    POD_ANNOTATION_INSTRUMENTATION, json_string(recorded));
	if (key)
		json_object_set_new(json_object_get(meta, "annotations"), key, json_string(value));
	return pod;
}

/* The pod as the operator caches it. The summaries of a test live until its end. */
static json_t *summaries;

static const json_t *S(const json_t *pod)
{
	json_t *s = usage_pod_summary(NULL, pod);

	assert_non_null(s);
	if (!summaries)
		summaries = json_array();
	json_array_append_new(summaries, s);
	return s;
}

static int free_summaries(void **state)
{
	json_decref(summaries);
	summaries = NULL;
	return 0;
}

static void expect_ns(const char *name, const char *key, const char *value, const char *want)
{
	json_t *ns = ns_with(name, key, value);
	char got[USAGE_KEY_SIZE] = "";
	int rc = usage_namespace_target(ns, &lookup, got, sizeof(got));

	if (want) {
		if (rc != 0 || strcmp(got, want) != 0)
			fail_msg("namespace %s %s=%s: got rc %d \"%s\", want %s", name, key, value,
				 rc, got, want);
	} else if (rc != -ENOENT) {
		fail_msg("namespace %s %s=%s: got \"%s\", want none", name, key, value, got);
	}
	json_decref(ns);
}

static void a_namespace_annotation_names_its_instrumentation(void **state)
{
	expect_ns("shop", "autotrace.dev/inject", "shared/traces", "shared/traces");
	expect_ns("shop", "autotrace.dev/inject", "traces", "shop/traces");
	expect_ns("solo", "autotrace.dev/inject", "true", "solo/only");
	expect_ns("crowd", "autotrace.dev/inject", "true", NULL); /* two: none is "the" one */
	expect_ns("shop", "autotrace.dev/inject", "false", NULL);
	expect_ns("shop", "autotrace.dev/inject", "a/b/c", NULL);
	expect_ns("shop", NULL, NULL, NULL);
	/* The OpenTelemetry Operator's annotation, read the same way ... */
	expect_ns("shop", "instrumentation.opentelemetry.io/inject-go", "shared/traces",
		  "shared/traces");
	expect_ns("solo", "instrumentation.opentelemetry.io/inject-go", "true", "solo/only");
}

static void autotrace_inject_is_read_before_the_otel_annotation(void **state)
{
	json_t *ns = ns_with("shop", "autotrace.dev/inject", "mine");
	char got[USAGE_KEY_SIZE];

	json_object_set_new(json_object_get(json_object_get(ns, "metadata"), "annotations"),
			    "instrumentation.opentelemetry.io/inject-go", json_string("theirs"));
	assert_int_equal(usage_namespace_target(ns, &lookup, got, sizeof(got)), 0);
	assert_string_equal(got, "shop/mine");
	json_decref(ns);
}

static void an_injected_pod_uses_what_the_webhook_recorded(void **state)
{
	json_t *ns = ns_with("shop", "autotrace.dev/inject", "other");
	json_t *pod = pod_with("shop", 1, "shared/traces", "autotrace.dev/inject", "mine");
	char got[USAGE_KEY_SIZE];

	assert_int_equal(usage_pod_target(S(pod), ns, &lookup, got, sizeof(got)), 0);
	assert_string_equal(got, "shared/traces");
	json_decref(pod);
	json_decref(ns);
}

static void without_a_record_the_opt_in_rule_decides(void **state)
{
	json_t *ns = ns_with("solo", "autotrace.dev/inject", "from-ns");
	json_t *own = pod_with("solo", 1, NULL, "autotrace.dev/inject", "true");
	json_t *bare = pod_with("solo", 1, NULL, NULL, NULL);
	json_t *out = pod_with("solo", 1, NULL, "autotrace.dev/inject", "false");
	char got[USAGE_KEY_SIZE];

	/* The pod's own value decides alone: "true" is its namespace's single one. */
	assert_int_equal(usage_pod_target(S(own), ns, &lookup, got, sizeof(got)), 0);
	assert_string_equal(got, "solo/only");
	/* No value of its own: the namespace's. */
	assert_int_equal(usage_pod_target(S(bare), ns, &lookup, got, sizeof(got)), 0);
	assert_string_equal(got, "solo/from-ns");
	assert_int_equal(usage_pod_target(S(out), ns, &lookup, got, sizeof(got)), -ENOENT);
	/* A namespace the cache does not know reads as one without annotations. */
	assert_int_equal(usage_pod_target(S(bare), NULL, &lookup, got, sizeof(got)), -ENOENT);
	json_decref(ns);
	json_decref(own);
	json_decref(bare);
	json_decref(out);
}

static void a_pod_without_the_injected_label_uses_nothing(void **state)
{
	json_t *pod = pod_with("shop", 0, "shop/traces", NULL, NULL);
	char got[USAGE_KEY_SIZE];

	assert_int_equal(usage_pod_target(S(pod), NULL, &lookup, got, sizeof(got)), -ENOENT);
	json_decref(pod);
}

static json_t *pod_status(const char *phase, const char *where, int ready)
{
	json_t *pod = pod_with("shop", 1, "shop/traces", NULL, NULL);

	json_object_set_new(json_object_get(pod, "status"), "phase", json_string(phase));
	if (where)
		json_object_set_new(json_object_get(pod, "status"), where,
				    json_pack("[{s:s, s:b}, {s:s, s:b}]", "name", "app", "ready", 1,
					      "name", AGENT_CONTAINER_NAME, "ready", ready));
	return pod;
}

static void the_agent_is_ready_when_its_sidecar_status_says_so(void **state)
{
	struct {
		const char *phase, *where;
		int ready, running, want;
	} cases[] = {
		{ "Running", "initContainerStatuses", 1, 1, 1 }, /* native sidecar */
		{ "Running", "initContainerStatuses", 0, 1, 0 },
		{ "Running", "containerStatuses", 1, 1, 1 },	 /* a plain container */
		{ "Pending", NULL, 0, 1, 0 },			 /* no status yet */
		{ "Succeeded", "initContainerStatuses", 1, 0, 0 }, /* ended: not counted */
		{ "Failed", "initContainerStatuses", 1, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pod = pod_status(cases[i].phase, cases[i].where, cases[i].ready);

		assert_int_equal(usage_pod_running(S(pod)), cases[i].running);
		assert_int_equal(usage_pod_agent_ready(S(pod)), cases[i].want);
		json_decref(pod);
	}
}

static void a_pod_being_deleted_is_not_running(void **state)
{
	json_t *pod = pod_status("Running", "initContainerStatuses", 1);

	json_object_set_new(json_object_get(pod, "metadata"), "deletionTimestamp",
			    json_string("2026-01-01T00:00:00Z"));
	assert_int_equal(usage_pod_running(S(pod)), 0);
	assert_int_equal(usage_pod_agent_ready(S(pod)), 0);
	json_decref(pod);
}

static void the_summary_keeps_what_the_rule_reads(void **state)
{
	json_t *pod = json_loads(
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
		"\"namespace\":\"shop\",\"resourceVersion\":\"7\",\"uid\":\"u\","
		"\"labels\":{\"autotrace.dev/injected\":\"true\",\"app\":\"web\"},"
		"\"annotations\":{\"autotrace.dev/instrumentation\":\"shop/traces\","
		"\"kubectl.kubernetes.io/last-applied-configuration\":\"{...}\"},"
		"\"ownerReferences\":[{}]},\"spec\":{\"containers\":[{}]},"
		"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\","
		"\"initContainerStatuses\":[{\"name\":\"init\",\"ready\":false},"
		"{\"name\":\"autotrace-agent\",\"ready\":true,\"image\":\"a\",\"state\":{}}],"
		"\"containerStatuses\":[{\"name\":\"app\",\"ready\":true}]}}",
		0, NULL);
	const json_t *sum;
	char key[USAGE_KEY_SIZE];

	assert_non_null(pod);
	sum = S(pod);
	/* The answers are those of the pod, from a value of a hundred bytes or less. */
	assert_int_equal(usage_pod_target(sum, NULL, &lookup, key, sizeof(key)), 0);
	assert_string_equal(key, "shop/traces");
	assert_int_equal(usage_pod_agent_ready(sum), 1);
	assert_string_equal(usage_pod_namespace(sum), "shop");
	assert_true(json_string_length(sum) <= 100);
	/* A change nothing reads (a new IP, another label) leaves the summary equal, so
	 * the informer does not wake the controller for it. */
	json_object_set_new(json_object_get(pod, "status"), "podIP", json_string("10.0.0.2"));
	json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "labels"), "v",
			    json_string("2"));
	assert_true(json_equal(sum, S(pod)));
	json_decref(pod);

	json_t *ns = ns_with("solo", "autotrace.dev/inject", "true");
	json_object_set_new(json_object_get(ns, "metadata"), "labels",
			    json_pack("{s:s}", "team", "x"));
	json_object_set_new(ns, "spec", json_pack("{s:[s]}", "finalizers", "kubernetes"));
	optin_trim_namespace(ns);
	assert_null(json_object_get(ns, "spec"));
	assert_int_equal(json_object_size(json_object_get(json_object_get(ns, "metadata"),
							  "labels")),
			 0);
	assert_int_equal(usage_namespace_target(ns, &lookup, key, sizeof(key)), 0);
	assert_string_equal(key, "solo/only");
	json_decref(ns);
}

static void a_value_too_long_to_be_a_name_stays_invalid(void **state)
{
	char lng[600];
	char key[USAGE_KEY_SIZE];

	memset(lng, 'a', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	json_t *pod = pod_with("shop", 1, NULL, "autotrace.dev/inject", lng);
	json_t *ns = ns_with("shop", "autotrace.dev/inject", "from-ns");

	/* Cut in the summary, it must not become a name, nor let the namespace decide. */
	assert_int_equal(usage_pod_target(S(pod), ns, &lookup, key, sizeof(key)), -ENOENT);
	json_decref(pod);
	json_decref(ns);
}

static void keys_split_into_namespace_and_name(void **state)
{
	char ns[K8S_LABEL_MAX + 1], name[K8S_SUBDOMAIN_MAX + 1];

	assert_int_equal(usage_key_split("shop/traces.v1", ns, name), 0);
	assert_string_equal(ns, "shop");
	assert_string_equal(name, "traces.v1");
	assert_int_equal(usage_key_split("noslash", ns, name), -EINVAL);
	assert_int_equal(usage_key_split("/x", ns, name), -EINVAL);
	assert_int_equal(usage_key_split("Shop/x", ns, name), -EINVAL);
	assert_int_equal(usage_key_split("shop/", ns, name), -EINVAL);
	assert_int_equal(usage_key_split("a/b/c", ns, name), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(a_namespace_annotation_names_its_instrumentation, free_summaries),
		cmocka_unit_test_teardown(autotrace_inject_is_read_before_the_otel_annotation, free_summaries),
		cmocka_unit_test_teardown(an_injected_pod_uses_what_the_webhook_recorded, free_summaries),
		cmocka_unit_test_teardown(without_a_record_the_opt_in_rule_decides, free_summaries),
		cmocka_unit_test_teardown(a_pod_without_the_injected_label_uses_nothing, free_summaries),
		cmocka_unit_test_teardown(the_agent_is_ready_when_its_sidecar_status_says_so, free_summaries),
		cmocka_unit_test_teardown(a_pod_being_deleted_is_not_running, free_summaries),
		cmocka_unit_test_teardown(the_summary_keeps_what_the_rule_reads, free_summaries),
		cmocka_unit_test_teardown(a_value_too_long_to_be_a_name_stays_invalid, free_summaries),
		cmocka_unit_test_teardown(keys_split_into_namespace_and_name, free_summaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
