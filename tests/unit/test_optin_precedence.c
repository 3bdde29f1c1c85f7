/* The opt-in precedence rule (lib/instrumentation/optin.h, webhook/README.md), cell by
 * cell: first on the rule itself, then through the whole webhook, where each cell must
 * end in the Instrumentation the table names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/instrumentation/optin.h"
#include "webhook/decide.h"

/* The table of optin.h. Values: NULL = unset. Want: "-" no injection, "*" the single
 * Instrumentation of the pod's namespace, else "<ns>/<name>". The pod is in "app". */
static const char *const values[] = { NULL, "false", "true", "b", "ns2/c" };
static const char *const pod_values[] = { NULL, "false", "true", "a", "ns1/a" };
static const char *const want[5][5] = {
	/* ns:    unset    false    true     b          ns2/c */
	/* unset */ { "-", "-", "*", "app/b", "ns2/c" },
	/* false */ { "-", "-", "-", "-", "-" },
	/* true  */ { "*", "*", "*", "*", "*" },
	/* a     */ { "app/a", "app/a", "app/a", "app/a", "app/a" },
	/* ns1/a */ { "ns1/a", "ns1/a", "ns1/a", "ns1/a", "ns1/a" },
};

static json_t *annotations(const char *key, const char *value)
{
	return value ? json_pack("{s:s}", key, value) : json_object();
}

static void describe(const struct optin *o, char *buf, size_t size)
{
	if (o->kind == OPTIN_UNSET || o->kind == OPTIN_FALSE)
		snprintf(buf, size, "-");
	else if (o->kind == OPTIN_SINGLE)
		snprintf(buf, size, "*");
	else if (o->kind == OPTIN_NAMED)
		snprintf(buf, size, "%s/%s", o->ns, o->name);
	else
		snprintf(buf, size, "invalid");
}

static void every_cell_of_the_table(void **state)
{
	for (int p = 0; p < 5; p++)
		for (int n = 0; n < 5; n++) {
			json_t *pa = annotations(ANNOTATION_INJECT, pod_values[p]);
			json_t *na = annotations(ANNOTATION_INJECT, values[n]);
			struct optin o;
			char got[400];

			optin_decide(pa, na, "app", &o);
			describe(&o, got, sizeof(got));
			if (strcmp(got, want[p][n]) != 0)
				fail_msg("pod %s, namespace %s: got %s, want %s",
					 pod_values[p] ?: "unset", values[n] ?: "unset", got,
					 want[p][n]);
			/* Who decided: the pod whenever it has a value. */
			if (pod_values[p])
				assert_int_equal(o.source, OPTIN_FROM_POD);
			else if (values[n])
				assert_int_equal(o.source, OPTIN_FROM_NAMESPACE);
			json_decref(pa);
			json_decref(na);
		}
}

/* The same table through decide_injection. The cluster: "app" holds a and b (so "true"
 * there is ambiguous and says so), ns1 holds a, ns2 holds c. */
static int ns_annotations(void *ud, const char *ns, json_t **ret)
{
	json_t *const *nsa = ud;

	if (strcmp(ns, "app") != 0)
		return -ENOENT;
	*ret = json_incref(*nsa);
	return 0;
}

static json_t *instrumentation(const char *ns, const char *name)
{
	return json_pack("{s:{s:s, s:s}, s:{s:{s:s}}}", "metadata", "namespace", ns, "name", name,
			 "spec", "agent", "image", "agent:1");
}

static int list_instrumentations(void *ud, const char *ns, json_t **ret)
{
	*ret = strcmp(ns, "app") == 0 ?
		       json_pack("[o,o]", instrumentation("app", "a"), instrumentation("app", "b")) :
		       json_array();
	return *ret ? 0 : -ENOMEM;
}

static int get_instrumentation(void *ud, const char *ns, const char *name, json_t **ret)
{
	if ((strcmp(ns, "app") == 0 && (strcmp(name, "a") == 0 || strcmp(name, "b") == 0)) ||
	    (strcmp(ns, "ns1") == 0 && strcmp(name, "a") == 0) ||
	    (strcmp(ns, "ns2") == 0 && strcmp(name, "c") == 0)) {
		*ret = instrumentation(ns, name);
		return 0;
	}
	return -ENOENT;
}

static void every_cell_through_the_webhook(void **state)
{
	struct webhook_options opts;

	webhook_options_init(&opts, "agent:default");
	for (int p = 0; p < 5; p++)
		for (int n = 0; n < 5; n++) {
			json_t *na = annotations(ANNOTATION_INJECT, values[n]);
			struct webhook_lookup lk = { &na, ns_annotations, list_instrumentations,
						     get_instrumentation };
			json_t *pod = json_pack("{s:{s:o}, s:{s:[{s:s, s:s}]}}", "metadata",
						"annotations",
						annotations(ANNOTATION_INJECT, pod_values[p]),
						"spec", "containers", "name", "app", "image", "app:1");
			struct decision d;
			char got[400];

			decide_injection(&opts, &lk, pod, "app", &d);
			if (d.result == ADMISSION_INJECTED)
				snprintf(got, sizeof(got), "%s/%s", d.spec.ns, d.spec.name);
			else if (d.reason == REASON_SEVERAL_INSTRUMENTATIONS)
				snprintf(got, sizeof(got), "*");
			else if (d.result == ADMISSION_UNCHANGED)
				snprintf(got, sizeof(got), "-");
			else
				snprintf(got, sizeof(got), "%s: %s", admission_reason_name(d.reason),
					 d.detail);
			if (strcmp(got, want[p][n]) != 0)
				fail_msg("pod %s, namespace %s: got %s, want %s",
					 pod_values[p] ?: "unset", values[n] ?: "unset", got,
					 want[p][n]);
			if (strcmp(want[p][n], "-") == 0)
				assert_int_equal(d.reason, p == 0 && n == 0 ? REASON_NOT_OPTED_IN :
									    REASON_OPTED_OUT);
			decision_clear(&d);
			json_decref(pod);
			json_decref(na);
		}
}

/* On one object autotrace's annotation is read before the OpenTelemetry Operator's;
 * across objects, the pod (with either) beats the namespace (with either). */
static void our_annotation_and_the_otel_one(void **state)
{
	static const struct {
		const char *pod_ours, *pod_otel, *ns_ours, *ns_otel;
		const char *want;
		enum optin_source source;
	} rows[] = {
		{ "a", "b", NULL, NULL, "app/a", OPTIN_FROM_POD },
		{ NULL, "b", NULL, NULL, "app/b", OPTIN_FROM_POD_OTEL },
		{ NULL, "false", "a", NULL, "-", OPTIN_FROM_POD_OTEL },
		{ NULL, "b", "a", "c", "app/b", OPTIN_FROM_POD_OTEL },
		{ NULL, NULL, "a", "c", "app/a", OPTIN_FROM_NAMESPACE },
		{ NULL, NULL, NULL, "c", "app/c", OPTIN_FROM_NAMESPACE_OTEL },
		{ "", "b", NULL, NULL, "app/b", OPTIN_FROM_POD_OTEL }, /* empty = unset */
		{ "", NULL, "a", NULL, "app/a", OPTIN_FROM_NAMESPACE },
		{ "TRUE", NULL, NULL, NULL, "*", OPTIN_FROM_POD },
		{ "False", NULL, "a", NULL, "-", OPTIN_FROM_POD },
		/* An unreadable pod value is reported, not passed over for the namespace's. */
		{ "a/b/c", NULL, "a", NULL, "invalid", OPTIN_FROM_POD },
		{ "Not_Valid", NULL, NULL, NULL, "invalid", OPTIN_FROM_POD },
		{ "/a", NULL, NULL, NULL, "invalid", OPTIN_FROM_POD },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *pa = json_object(), *na = json_object();
		struct optin o;
		char got[400];

		if (rows[i].pod_ours)
			json_object_set_new(pa, ANNOTATION_INJECT, json_string(rows[i].pod_ours));
		if (rows[i].pod_otel)
			json_object_set_new(pa, ANNOTATION_OTEL_INJECT_GO,
					    json_string(rows[i].pod_otel));
		if (rows[i].ns_ours)
			json_object_set_new(na, ANNOTATION_INJECT, json_string(rows[i].ns_ours));
		if (rows[i].ns_otel)
			json_object_set_new(na, ANNOTATION_OTEL_INJECT_GO,
					    json_string(rows[i].ns_otel));
		optin_decide(pa, na, "app", &o);
		describe(&o, got, sizeof(got));
		if (strcmp(got, rows[i].want) != 0 || o.source != rows[i].source)
			fail_msg("row %zu: got %s from %s, want %s from %s", i, got,
				 optin_source_name(o.source), rows[i].want,
				 optin_source_name(rows[i].source));
		json_decref(pa);
		json_decref(na);
	}
}

static void a_non_string_value_is_invalid(void **state)
{
	json_t *pa = json_pack("{s:b}", ANNOTATION_INJECT, 1);
	struct optin o;

	optin_decide(pa, NULL, "app", &o);
	assert_int_equal(o.kind, OPTIN_INVALID);
	json_decref(pa);
}

/* A cached namespace keeps what opt-in reads and nothing else. */
static void a_trimmed_namespace_keeps_what_optin_reads(void **state)
{
	json_t *ns = json_loads(
		"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"shop\","
		"\"uid\":\"u1\",\"resourceVersion\":\"42\",\"labels\":{\"team\":\"a\","
		"\"autotrace.dev/inject-enabled\":\"true\"},"
		"\"managedFields\":[{\"manager\":\"kubectl\"}],\"annotations\":{"
		"\"autotrace.dev/inject\":\"true\",\"instrumentation.opentelemetry.io/inject-go\":\"x\","
		"\"kubectl.kubernetes.io/last-applied-configuration\":\"{...}\"}},"
		"\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}",
		0, NULL);
	assert_non_null(ns);
	optin_trim_namespace(ns);
	json_t *expected = json_loads(
		"{\"metadata\":{\"name\":\"shop\",\"resourceVersion\":\"42\","
		"\"labels\":{\"autotrace.dev/inject-enabled\":\"true\"},"
		"\"annotations\":{\"autotrace.dev/inject\":\"true\","
		"\"instrumentation.opentelemetry.io/inject-go\":\"x\"}}}",
		0, NULL);
	assert_true(json_equal(ns, expected));
	json_decref(ns);
	json_decref(expected);

	/* Without any of ours, nothing but the name and version stay. */
	ns = json_loads("{\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"7\","
			"\"labels\":{\"team\":\"a\"},\"annotations\":{\"a\":\"b\"}}}", 0, NULL);
	optin_trim_namespace(ns);
	assert_null(json_object_get(json_object_get(ns, "metadata"), "annotations"));
	assert_null(json_object_get(json_object_get(ns, "metadata"), "labels"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(ns, "metadata"), "name")), "b");
	json_decref(ns);
}

/* The webhook's cache keeps a namespace's two opt-in values packed in one string, and
 * nothing of a namespace with neither; the rule reads them unpacked as it reads the
 * whole namespace. */
static void a_namespace_summary_is_its_optin_annotations(void **state)
{
	json_t *ns = json_loads(
		"{\"metadata\":{\"name\":\"shop\",\"labels\":{\"team\":\"a\"},"
		"\"annotations\":{\"autotrace.dev/inject\":\"traces\",\"note\":\"x\"}}}",
		0, NULL);
	json_t *both = json_loads(
		"{\"metadata\":{\"name\":\"s\",\"annotations\":{\"autotrace.dev/inject\":\"\","
		"\"instrumentation.opentelemetry.io/inject-go\":\"12:ab\\u0000c\"}}}",
		JSON_ALLOW_NUL, NULL);
	json_t *plain = json_loads("{\"metadata\":{\"name\":\"b\",\"annotations\":{\"a\":\"b\"}}}",
				   0, NULL);
	json_t *packed = optin_namespace_pack(ns), *sum = optin_namespace_unpack(packed);
	struct optin o;

	assert_non_null(packed);
	assert_true(json_string_length(packed) < 16);
	assert_null(optin_namespace_pack(plain)); /* nothing to keep */
	assert_non_null(sum);
	assert_int_equal(json_object_size(sum), 1);
	optin_decide(NULL, sum, "shop", &o);
	assert_int_equal(o.kind, OPTIN_NAMED);
	assert_string_equal(o.ns, "shop");
	assert_string_equal(o.name, "traces");
	assert_int_equal(o.source, OPTIN_FROM_NAMESPACE);
	/* The pod's values, read apart, win as the table says. */
	optin_decide_values("false", NULL, sum, "shop", &o);
	assert_int_equal(o.kind, OPTIN_FALSE);
	optin_decide_values("", "other/name", sum, "shop", &o);
	assert_int_equal(o.kind, OPTIN_NAMED);
	assert_int_equal(o.source, OPTIN_FROM_POD_OTEL);
	assert_string_equal(o.ns, "other");

	/* A value that looks like the packing, with a NUL inside, comes back as it was. */
	json_t *packed2 = optin_namespace_pack(both), *sum2 = optin_namespace_unpack(packed2);
	const json_t *go = json_object_get(sum2, "instrumentation.opentelemetry.io/inject-go");
	assert_int_equal(json_object_size(sum2), 1);
	assert_int_equal(json_string_length(go), 7);
	assert_memory_equal(json_string_value(go), "12:ab\0c", 7);

	/* Anything else unpacks to no annotation at all. */
	const char *bad[] = { "", "x", "9:ab", "1", "99999999999999999999:" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *str = json_string(bad[i]), *none = optin_namespace_unpack(str);
		assert_int_equal(json_object_size(none), 0);
		json_decref(none);
		json_decref(str);
	}
	json_t *none = optin_namespace_unpack(NULL);
	optin_decide_values(NULL, NULL, none, "b", &o);
	assert_int_equal(o.kind, OPTIN_UNSET);
	json_decref(none);
	json_decref(packed);
	json_decref(sum);
	json_decref(packed2);
	json_decref(sum2);
	json_decref(ns);
	json_decref(both);
	json_decref(plain);
}

static json_t *ns_annotated(const char *ours, const char *otel)
{
	json_t *ann = json_object();

	if (ours)
		json_object_set_new(ann, ANNOTATION_INJECT, json_string(ours));
	if (otel)
		json_object_set_new(ann, ANNOTATION_OTEL_INJECT_GO, json_string(otel));
	return json_pack("{s:{s:s, s:o}}", "metadata", "name", "shop", "annotations", ann);
}

/* A namespace opts its pods in when the rule gives a pod without annotations there
 * anything but none or "false": the label the operator mirrors it onto follows that,
 * unreadable values included (the webhook then says why it cannot inject). */
static void a_namespace_opts_in_as_the_rule_reads_its_annotations(void **state)
{
	static const struct {
		const char *ours, *otel;
		int enabled;
	} cases[] = {
		{ NULL, NULL, 0 },	   { "true", NULL, 1 },	     { "TRUE", NULL, 1 },
		{ "traces", NULL, 1 },	   { "obs/traces", NULL, 1 }, { "not a name!", NULL, 1 },
		{ "false", NULL, 0 },	   { "False", NULL, 0 },      { "", NULL, 0 },
		{ NULL, "true", 1 },	   { NULL, "false", 0 },      { "", "true", 1 },
		{ "false", "true", 0 },	   { "true", "false", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ns = ns_annotated(cases[i].ours, cases[i].otel);

		if (optin_namespace_enabled(ns) != cases[i].enabled)
			fail_msg("inject=%s inject-go=%s: want %d", cases[i].ours ? cases[i].ours : "(unset)",
				 cases[i].otel ? cases[i].otel : "(unset)", cases[i].enabled);
		/* Trimmed as the operator caches it, the answer is the same. */
		optin_trim_namespace(ns);
		assert_int_equal(optin_namespace_enabled(ns), cases[i].enabled);
		json_decref(ns);
	}
	json_t *bad = json_pack("{s:{s:s, s:{s:b}}}", "metadata", "name", "shop", "annotations",
				ANNOTATION_INJECT, 1);
	assert_int_equal(optin_namespace_enabled(bad), 1);
	json_decref(bad);
	assert_int_equal(optin_namespace_enabled(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_cell_of_the_table),
		cmocka_unit_test(a_trimmed_namespace_keeps_what_optin_reads),
		cmocka_unit_test(a_namespace_summary_is_its_optin_annotations),
		cmocka_unit_test(every_cell_through_the_webhook),
		cmocka_unit_test(our_annotation_and_the_otel_one),
		cmocka_unit_test(a_non_string_value_is_invalid),
		cmocka_unit_test(a_namespace_opts_in_as_the_rule_reads_its_annotations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
