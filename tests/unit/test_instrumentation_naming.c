/* The ConfigMap name rule shared by the operator and the webhook: a valid DNS-1123
 * subdomain for every valid (namespace, name), and different pairs never share one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/instrumentation/naming.h"

static void name_of(const char *ns, const char *name, char *buf)
{
	assert_int_equal(instrumentation_configmap_name(ns, name, buf,
							INSTRUMENTATION_CONFIGMAP_NAME_SIZE),
			 0);
	assert_true(k8s_is_dns1123_subdomain(buf));
}

static void short_pairs_read_as_namespace_and_name(void **state)
{
	char buf[INSTRUMENTATION_CONFIGMAP_NAME_SIZE];

	name_of("shop", "default", buf);
	assert_string_equal(buf, "autotrace.shop.default");
}

static void pairs_that_join_alike_stay_apart(void **state)
{
	char a[INSTRUMENTATION_CONFIGMAP_NAME_SIZE], b[INSTRUMENTATION_CONFIGMAP_NAME_SIZE],
		c[INSTRUMENTATION_CONFIGMAP_NAME_SIZE];

	/* "a-b" + "c" and "a" + "b-c" both read "a-b-c" when joined with '-'. */
	name_of("a-b", "c", a);
	name_of("a", "b-c", b);
	assert_string_not_equal(a, b);
	/* A dotted Instrumentation name against a namespace (which has no dots). */
	name_of("x", "y.z", a);
	name_of("x-y", "z", c);
	assert_string_not_equal(a, c);
}

static void long_pairs_get_a_hash_and_stay_valid(void **state)
{
	char name1[254], name2[254], a[INSTRUMENTATION_CONFIGMAP_NAME_SIZE],
		b[INSTRUMENTATION_CONFIGMAP_NAME_SIZE], ns[64];

	memset(ns, 'n', 63);
	ns[63] = '\0';
	memset(name1, 'a', 253);
	name1[253] = '\0';
	memcpy(name2, name1, sizeof(name2));
	name2[252] = 'b'; /* differs only past what the readable part keeps */
	name_of(ns, name1, a);
	name_of(ns, name2, b);
	assert_true(strlen(a) <= K8S_SUBDOMAIN_MAX);
	assert_string_not_equal(a, b);
	assert_memory_equal(a, "autotrace-", 10);
	/* The readable part still starts with the namespace. */
	assert_non_null(strstr(a, "." "nnnnnnnn"));
}

static void the_boundary_between_the_two_forms(void **state)
{
	char name[254], buf[INSTRUMENTATION_CONFIGMAP_NAME_SIZE];
	size_t fits = K8S_SUBDOMAIN_MAX - strlen("autotrace.") - strlen("ns.");

	memset(name, 'x', sizeof(name));
	name[fits] = '\0';
	name_of("ns", name, buf);
	assert_int_equal(strlen(buf), K8S_SUBDOMAIN_MAX);
	assert_memory_equal(buf, "autotrace.ns.", 13);
	name[fits] = 'x';
	name[fits + 1] = '\0';
	name_of("ns", name, buf);
	assert_memory_equal(buf, "autotrace-", 10);
}

static void invalid_inputs_are_refused(void **state)
{
	char buf[INSTRUMENTATION_CONFIGMAP_NAME_SIZE];

	assert_int_equal(instrumentation_configmap_name("Shop", "a", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(instrumentation_configmap_name("a.b", "a", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(instrumentation_configmap_name("shop", "", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(instrumentation_configmap_name("shop", "a/b", buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(instrumentation_configmap_name("shop", "a", buf, 10), -ENOBUFS);
}

static void dns1123_checks(void **state)
{
	assert_true(k8s_is_dns1123_label("a-0"));
	assert_false(k8s_is_dns1123_label("-a"));
	assert_false(k8s_is_dns1123_label("a-"));
	assert_false(k8s_is_dns1123_label("a.b"));
	assert_true(k8s_is_dns1123_subdomain("a.b-c.d"));
	assert_false(k8s_is_dns1123_subdomain("a..b"));
	assert_false(k8s_is_dns1123_subdomain("a.-b"));
	assert_false(k8s_is_dns1123_subdomain("A"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(short_pairs_read_as_namespace_and_name),
		cmocka_unit_test(pairs_that_join_alike_stay_apart),
		cmocka_unit_test(long_pairs_get_a_hash_and_stay_valid),
		cmocka_unit_test(the_boundary_between_the_two_forms),
		cmocka_unit_test(invalid_inputs_are_refused),
		cmocka_unit_test(dns1123_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
