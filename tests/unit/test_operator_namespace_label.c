/* The label autotrace.dev/inject-enabled the operator mirrors a namespace's opt-in
 * onto (operator/namespace_label.h): which change each namespace needs, and that the
 * patch names our label only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "lib/instrumentation/optin.h"
#include "operator/namespace_label.h"

/* A namespace with the annotation autotrace.dev/inject = `inject` (NULL: none), the
 * label = `label` (NULL: none), and a user's label team=a. */
static json_t *ns_with(const char *inject, const char *label)
{
	json_t *ns = json_pack("{s:{s:s, s:{s:s}, s:{}}}", "metadata", "name", "shop", "labels",
			       "team", "a", "annotations");
	json_t *meta = json_object_get(ns, "metadata");

	if (inject)
		json_object_set_new(json_object_get(meta, "annotations"), ANNOTATION_INJECT,
				    json_string(inject));
	if (label)
		json_object_set_new(json_object_get(meta, "labels"), LABEL_INJECT_ENABLED,
				    json_string(label));
	return ns;
}

static void each_namespace_gets_the_change_it_needs(void **state)
{
	static const struct {
		const char *inject, *label;
		enum namespace_label_change want;
	} cases[] = {
		{ NULL, NULL, NAMESPACE_LABEL_KEEP },	    /* never opted in: never written */
		{ "true", NULL, NAMESPACE_LABEL_SET },
		{ "traces", NULL, NAMESPACE_LABEL_SET },
		{ "true", "true", NAMESPACE_LABEL_KEEP },   /* already right: no write */
		{ "true", "false", NAMESPACE_LABEL_SET },   /* a value set by hand */
		{ "false", "true", NAMESPACE_LABEL_REMOVE },
		{ NULL, "true", NAMESPACE_LABEL_REMOVE },   /* annotation removed */
		{ NULL, "yes", NAMESPACE_LABEL_REMOVE },
		{ "false", NULL, NAMESPACE_LABEL_KEEP },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ns = ns_with(cases[i].inject, cases[i].label);

		if (namespace_label_change(ns) != cases[i].want)
			fail_msg("inject=%s label=%s: want change %d, got %d",
				 cases[i].inject ? cases[i].inject : "(unset)",
				 cases[i].label ? cases[i].label : "(unset)", cases[i].want,
				 namespace_label_change(ns));
		/* The operator decides on its trimmed cache: the same answer. */
		optin_trim_namespace(ns);
		assert_int_equal(namespace_label_change(ns), cases[i].want);
		json_decref(ns);
	}
}

static void the_patch_names_our_label_only(void **state)
{
	json_t *set = namespace_label_patch_new(NAMESPACE_LABEL_SET);
	json_t *rm = namespace_label_patch_new(NAMESPACE_LABEL_REMOVE);
	json_t *want_set = json_loads(
		"{\"metadata\":{\"labels\":{\"autotrace.dev/inject-enabled\":\"true\"}}}", 0, NULL);
	json_t *want_rm = json_loads(
		"{\"metadata\":{\"labels\":{\"autotrace.dev/inject-enabled\":null}}}", 0, NULL);

	assert_true(json_equal(set, want_set));
	assert_true(json_equal(rm, want_rm));
	assert_null(namespace_label_patch_new(NAMESPACE_LABEL_KEEP));
	assert_string_equal(namespace_label_value(NAMESPACE_LABEL_SET), "true");
	assert_null(namespace_label_value(NAMESPACE_LABEL_REMOVE));
	json_decref(set);
	json_decref(rm);
	json_decref(want_set);
	json_decref(want_rm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_namespace_gets_the_change_it_needs),
		cmocka_unit_test(the_patch_names_our_label_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
