/* The RoleBinding that lets a namespace's sidecars write their AgentReports
 * (operator/report_binding.h): named after its ConfigMap's uid, owned by it, the
 * ClusterRole bound to the namespace's ServiceAccounts and nothing else. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "operator/report_binding.h"

#define UID "7c2d0a4e-1b9f-4c55-9a0e-3f1d2b6c8e10"

static json_t *configmap(const char *uid)
{
	json_t *cm = json_pack("{s:{s:s, s:s}}", "metadata", "name", "autotrace.shop.traces",
			       "namespace", "web");

	assert_non_null(cm);
	if (uid)
		json_object_set_new(json_object_get(cm, "metadata"), "uid", json_string(uid));
	return cm;
}

static void the_binding(void **state)
{
	json_t *cm = configmap(UID), *rb = NULL;
	json_t *want = json_pack(
		"{s:s, s:s,"
		" s:{s:s, s:s, s:{s:s},"
		"    s:[{s:s, s:s, s:s, s:s, s:b}]},"
		" s:{s:s, s:s, s:s},"
		" s:[{s:s, s:s, s:s}]}",
		"apiVersion", "rbac.authorization.k8s.io/v1", "kind", "RoleBinding", "metadata",
		"name", "autotrace-agent-report-" UID, "namespace", "web", "labels",
		"app.kubernetes.io/managed-by", "autotrace", "ownerReferences", "apiVersion", "v1",
		"kind", "ConfigMap", "name", "autotrace.shop.traces", "uid", UID,
		"blockOwnerDeletion", 0, "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind",
		"ClusterRole", "name", "rel-agent-report", "subjects", "apiGroup",
		"rbac.authorization.k8s.io", "kind", "Group", "name", "system:serviceaccounts:web");

	assert_int_equal(report_binding_new(cm, "rel-agent-report", &rb), 0);
	assert_true(json_equal(rb, want));
	json_decref(rb);
	json_decref(want);
	json_decref(cm);
}

static void refused_without_what_it_needs(void **state)
{
	json_t *no_uid = configmap(NULL), *cm = configmap(UID), *rb = NULL;
	char name[REPORT_BINDING_NAME_SIZE], small[10];

	assert_int_equal(report_binding_new(no_uid, "rel-agent-report", &rb), -EINVAL);
	assert_int_equal(report_binding_new(cm, "", &rb), -EINVAL);
	assert_int_equal(report_binding_new(cm, NULL, &rb), -EINVAL);
	assert_null(rb);
	assert_int_equal(report_binding_name(UID, name, sizeof(name)), 0);
	assert_string_equal(name, "autotrace-agent-report-" UID);
	assert_int_equal(report_binding_name(UID, small, sizeof(small)), -EINVAL);
	assert_int_equal(report_binding_name("", name, sizeof(name)), -EINVAL);
	json_decref(no_uid);
	json_decref(cm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_binding),
		cmocka_unit_test(refused_without_what_it_needs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
