/* Instrumentation.status from one observation (operator/status.h) and the ConfigMaps the
 * operator publishes (operator/publish.h): conditions with reasons a user can act on,
 * transition times that hold while a condition does, and writes only on a change. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "operator/publish.h"
#include "operator/status.h"

#define T1 "2026-01-01T00:00:00Z"
#define T2 "2026-01-01T00:05:00Z"

static const char *cond(const json_t *st, const char *type, const char *field)
{
	const json_t *c = status_condition(st, type);

	assert_non_null(c);
	return json_string_value(json_object_get(c, field));
}

static void published_and_every_agent_ready(void **state)
{
	struct status_observation o = { .generation = 3, .revision = "0123456789abcdef",
					.namespaces = 2, .injected = 5, .ready = 5 };
	json_t *st = status_build(NULL, &o, T1);

	assert_non_null(st);
	assert_int_equal(json_integer_value(json_object_get(st, "observedGeneration")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "injectedPods")), 5);
	assert_int_equal(json_integer_value(json_object_get(st, "readyAgents")), 5);
	assert_string_equal(json_string_value(json_object_get(st, "configRevision")),
			    "0123456789abcdef");
	assert_string_equal(cond(st, "Ready", "status"), "True");
	assert_string_equal(cond(st, "ConfigPublished", "status"), "True");
	assert_string_equal(cond(st, "ConfigPublished", "reason"), "Published");
	assert_non_null(strstr(cond(st, "ConfigPublished", "message"), "in 2 namespaces"));
	assert_string_equal(cond(st, "Degraded", "status"), "False");
	assert_string_equal(cond(st, "Degraded", "reason"), "AsExpected");
	assert_int_equal(json_integer_value(json_object_get(status_condition(st, "Ready"),
							    "observedGeneration")),
			 3);
	assert_string_equal(cond(st, "Ready", "lastTransitionTime"), T1);
	json_decref(st);
}

static void agents_not_ready_are_degraded_not_unready(void **state)
{
	struct status_observation o = { .generation = 1, .revision = "0123456789abcdef",
					.namespaces = 1, .injected = 4, .ready = 1 };
	json_t *st = status_build(NULL, &o, T1);

	assert_string_equal(cond(st, "Ready", "status"), "True");
	assert_string_equal(cond(st, "Degraded", "status"), "True");
	assert_string_equal(cond(st, "Degraded", "reason"), "AgentsNotReady");
	assert_string_equal(cond(st, "Degraded", "message"), "3 of 4 agents not ready");
	json_decref(st);
}

static void a_missing_secret_keeps_the_last_good_revision(void **state)
{
	struct status_observation o = {
		.generation = 2, .problem = STATUS_SECRET_NOT_FOUND,
		.problem_message = "spec.exporter.headers[0] (x-key): Secret otel key token: not found",
		.revision = "fedcba9876543210", .namespaces = 0,
	};
	json_t *st = status_build(NULL, &o, T1);

	assert_string_equal(cond(st, "Ready", "status"), "False");
	assert_string_equal(cond(st, "Ready", "reason"), "SecretNotFound");
	assert_non_null(strstr(cond(st, "Ready", "message"), "Secret otel key token"));
	assert_non_null(strstr(cond(st, "Ready", "message"), "last good config fedcba9876543210"));
	assert_string_equal(cond(st, "ConfigPublished", "status"), "False");
	assert_string_equal(cond(st, "Degraded", "status"), "True");
	assert_string_equal(json_string_value(json_object_get(st, "configRevision")),
			    "fedcba9876543210");
	json_decref(st);
}

static void each_problem_has_its_reason(void **state)
{
	struct {
		enum status_problem p;
		const char *reason;
	} cases[] = {
		{ STATUS_OK, "Published" },
		{ STATUS_INVALID_SPEC, "InvalidSpec" },
		{ STATUS_SECRET_NOT_FOUND, "SecretNotFound" },
		{ STATUS_PUBLISH_FAILED, "PublishFailed" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct status_observation o = { .problem = cases[i].p, .problem_message = "why" };
		json_t *st = status_build(NULL, &o, T1);

		assert_string_equal(status_problem_reason(cases[i].p), cases[i].reason);
		assert_string_equal(cond(st, "ConfigPublished", "reason"), cases[i].reason);
		/* No config yet: no revision to report. */
		assert_null(json_object_get(st, "configRevision"));
		json_decref(st);
	}
}

static void a_condition_keeps_its_time_while_its_status_holds(void **state)
{
	struct status_observation o = { .generation = 1, .revision = "0123456789abcdef",
					.namespaces = 1, .injected = 2, .ready = 2 };
	json_t *first = status_build(NULL, &o, T1), *same, *changed;

	/* Same observation later: identical status, so nothing to write. */
	same = status_build(first, &o, T2);
	assert_true(json_equal(first, same));
	/* An agent goes unready: Degraded changes (new time), Ready keeps T1. */
	o.ready = 1;
	changed = status_build(first, &o, T2);
	assert_string_equal(cond(changed, "Degraded", "lastTransitionTime"), T2);
	assert_string_equal(cond(changed, "Ready", "lastTransitionTime"), T1);
	assert_false(json_equal(first, changed));
	json_decref(first);
	json_decref(same);
	json_decref(changed);
}

/* ---- ConfigMaps ------------------------------------------------------------------ */

static json_t *cr(void)
{
	return json_pack("{s:{s:s, s:s, s:s}}", "metadata", "namespace", "shop", "name", "traces",
			 "uid", "u-1");
}

static void the_configmap_in_its_own_namespace_is_owned(void **state)
{
	json_t *c = cr();
	json_t *own = publish_configmap("shop", "autotrace.shop.traces", c, "{}", "r1");
	json_t *other = publish_configmap("web", "autotrace.shop.traces", c, "{}", "r1");
	const json_t *ref = json_array_get(
		json_object_get(json_object_get(own, "metadata"), "ownerReferences"), 0);

	assert_non_null(ref);
	assert_string_equal(json_string_value(json_object_get(ref, "uid")), "u-1");
	assert_string_equal(json_string_value(json_object_get(ref, "kind")), "Instrumentation");
	assert_true(json_is_true(json_object_get(ref, "controller")));
	assert_null(json_object_get(json_object_get(other, "metadata"), "ownerReferences"));
	assert_string_equal(publish_configmap_owner_key(other), "shop/traces");
	assert_string_equal(json_string_value(json_object_get(json_object_get(other, "data"),
							      "config.json")),
			    "{}");
	json_decref(c);
	json_decref(own);
	json_decref(other);
}

static void only_a_difference_makes_a_write(void **state)
{
	json_t *c = cr();
	json_t *want = publish_configmap("shop", "autotrace.shop.traces", c, "{\"a\":1}", "r1");
	json_t *have = json_deep_copy(want);
	json_t *meta = json_object_get(have, "metadata");

	/* What the API server adds does not count. */
	json_object_set_new(meta, "resourceVersion", json_string("42"));
	json_object_set_new(json_object_get(meta, "labels"), "extra", json_string("x"));
	assert_int_equal(publish_configmap_current(have, want), 1);
	/* New content does. */
	json_object_set_new(json_object_get(have, "data"), "config.json", json_string("{}"));
	assert_int_equal(publish_configmap_current(have, want), 0);
	json_object_set_new(json_object_get(have, "data"), "config.json", json_string("{\"a\":1}"));
	/* So does a lost owner reference. */
	json_object_del(meta, "ownerReferences");
	assert_int_equal(publish_configmap_current(have, want), 0);
	json_decref(c);
	json_decref(want);
	json_decref(have);
}

static void a_trimmed_configmap_answers_as_the_whole_one(void **state)
{
	json_t *c = cr();
	json_t *want = publish_configmap("shop", "autotrace.shop.traces", c, "{\"a\":1}", "r1");
	json_t *have = json_deep_copy(want), *stale;
	json_t *meta = json_object_get(have, "metadata");

	json_object_set_new(meta, "resourceVersion", json_string("42"));
	json_object_set_new(meta, "creationTimestamp", json_string("2026-01-01T00:00:00Z"));
	json_object_set_new(meta, "managedFields", json_pack("[{s:s}]", "manager", "x"));
	json_object_set_new(json_object_get(meta, "annotations"), "note", json_string("x"));
	publish_trim_configmap(have);
	assert_null(json_object_get(meta, "creationTimestamp"));
	assert_null(json_object_get(meta, "managedFields"));
	assert_null(json_object_get(json_object_get(meta, "annotations"), "note"));
	assert_string_equal(json_string_value(json_object_get(meta, "resourceVersion")), "42");
	/* Current, owned, ours: the same answers as before the trim. */
	assert_int_equal(publish_configmap_current(have, want), 1);
	assert_string_equal(publish_configmap_owner_key(have), "shop/traces");
	/* A new revision still reads as a difference. */
	stale = publish_configmap("shop", "autotrace.shop.traces", c, "{\"a\":2}", "r2");
	assert_int_equal(publish_configmap_current(have, stale), 0);
	json_decref(c);
	json_decref(want);
	json_decref(have);
	json_decref(stale);
}

static void a_configmap_not_ours_has_no_owner_key(void **state)
{
	json_t *cm = json_pack("{s:{s:s, s:{s:s}}}", "metadata", "name", "x", "annotations",
			       PUBLISH_ANNOTATION_INSTRUMENTATION, "shop/traces");

	assert_null(publish_configmap_owner_key(cm));
	json_decref(cm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(published_and_every_agent_ready),
		cmocka_unit_test(agents_not_ready_are_degraded_not_unready),
		cmocka_unit_test(a_missing_secret_keeps_the_last_good_revision),
		cmocka_unit_test(each_problem_has_its_reason),
		cmocka_unit_test(a_condition_keeps_its_time_while_its_status_holds),
		cmocka_unit_test(the_configmap_in_its_own_namespace_is_owned),
		cmocka_unit_test(only_a_difference_makes_a_write),
		cmocka_unit_test(a_trimmed_configmap_answers_as_the_whole_one),
		cmocka_unit_test(a_configmap_not_ours_has_no_owner_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
