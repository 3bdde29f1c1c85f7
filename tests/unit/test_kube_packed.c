/* Objects kept as text (lib/kube/packed.h): what goes in comes out, cut to what was
 * asked, and the name, namespace and version stay readable without unpacking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "lib/kube/api.h"
#include "lib/kube/packed.h"

static const char *const top[] = { "metadata", "spec", "status", NULL };
static const char *const meta[] = { "name", "namespace", "resourceVersion", "generation", NULL };

static json_t *instrumentation(void)
{
	json_t *o = json_loads(
		"{\"apiVersion\":\"autotrace.dev/v1alpha1\",\"kind\":\"Instrumentation\","
		"\"metadata\":{\"name\":\"traces\",\"namespace\":\"shop\",\"resourceVersion\":\"9\","
		"\"generation\":3,\"labels\":{\"team\":\"a\"},\"annotations\":{"
		"\"kubectl.kubernetes.io/last-applied-configuration\":\"{...}\"}},"
		"\"spec\":{\"sampler\":{\"type\":\"traceidratio\",\"ratio\":0.25}},"
		"\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
		0, NULL);

	assert_non_null(o);
	return o;
}

static void what_is_kept_comes_back_whole(void **state)
{
	json_t *o = instrumentation(), *p = kube_packed_new(o, top, meta), *back;

	assert_non_null(p);
	assert_string_equal(kube_obj_name(p), "traces");
	assert_string_equal(kube_obj_namespace(p), "shop");
	assert_string_equal(kube_obj_resource_version(p), "9");
	back = kube_packed_load(p);
	assert_non_null(back);
	assert_true(json_equal(json_object_get(back, "spec"), json_object_get(o, "spec")));
	assert_true(json_equal(json_object_get(back, "status"), json_object_get(o, "status")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(back, "metadata"),
							    "generation")),
			 3);
	/* What was not asked for is gone. */
	assert_null(json_object_get(back, "kind"));
	assert_null(json_object_get(json_object_get(back, "metadata"), "labels"));
	assert_null(json_object_get(json_object_get(back, "metadata"), "annotations"));
	/* The source is left as it was. */
	assert_non_null(json_object_get(json_object_get(o, "metadata"), "labels"));
	json_decref(back);
	json_decref(p);
	json_decref(o);
}

static void a_change_changes_the_packed_form(void **state)
{
	json_t *o = instrumentation(), *a = kube_packed_new(o, top, meta), *b, *c;

	json_object_set_new(json_object_get(json_object_get(o, "metadata"), "labels"), "x",
			    json_string("y"));
	b = kube_packed_new(o, top, meta);
	/* A label nothing keeps: equal, so an informer does not report it. */
	assert_true(json_equal(a, b));
	json_object_set_new(json_object_get(json_object_get(o, "spec"), "sampler"), "ratio",
			    json_real(0.5));
	c = kube_packed_new(o, top, meta);
	assert_false(json_equal(a, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(o);
}

static void not_an_object_is_refused(void **state)
{
	json_t *s = json_string("x"), *nometa = json_object();

	assert_null(kube_packed_new(s, top, meta));
	assert_null(kube_packed_new(nometa, top, meta));
	assert_null(kube_packed_load(s));
	assert_null(kube_packed_load(nometa));
	json_decref(s);
	json_decref(nometa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(what_is_kept_comes_back_whole),
		cmocka_unit_test(a_change_changes_the_packed_form),
		cmocka_unit_test(not_an_object_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
