/* What a pod is called and what owns it, from the pod's own fields; the image tag as
 * service.version; values kept safe from Kubernetes' $(VAR) expansion. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "webhook/agent_env.h"
#include "lib/instrumentation/workload.h"

static json_t *pod_owned_by(const char *kind, const char *name, const char *hash)
{
	json_t *pod = json_pack("{s:{s:{}, s:[{s:s, s:s, s:b}]}}", "metadata", "labels",
				"ownerReferences", "kind", kind, "name", name, "controller", 1);

	if (hash)
		json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "labels"),
				    "pod-template-hash", json_string(hash));
	return pod;
}

static void owners_are_derived_from_names(void **state)
{
	static const struct {
		const char *kind, *name, *hash, *top, *field;
	} rows[] = {
		{ "ReplicaSet", "web-7d4b9c8f6d", "7d4b9c8f6d", "web", "deployment" },
		{ "ReplicaSet", "web-api-5f6c", "5f6c", "web-api", "deployment" },
		/* Without the label (or with one that does not match) the ReplicaSet stands
		 * alone: no guessing. */
		{ "ReplicaSet", "web-7d4b9c8f6d", NULL, "web-7d4b9c8f6d", "replicaset" },
		{ "ReplicaSet", "web-7d4b9c8f6d", "abc", "web-7d4b9c8f6d", "replicaset" },
		{ "StatefulSet", "db", NULL, "db", "statefulset" },
		{ "DaemonSet", "fluent-bit", NULL, "fluent-bit", "daemonset" },
		{ "Job", "backup-29390400", NULL, "backup", "cronjob" },
		{ "Job", "migrate-2", NULL, "migrate-2", "job" },
		{ "Job", "29390400", NULL, "29390400", "job" },
		{ "Node", "worker-1", NULL, NULL, NULL },
		{ "ReplicaSet", "Bad_Name", NULL, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *pod = pod_owned_by(rows[i].kind, rows[i].name, rows[i].hash);
		struct workload w;
		const char *top;

		workload_from_pod(pod, &w);
		top = workload_top_name(&w);
		if (!rows[i].top) {
			assert_null(top);
		} else {
			if (!top || strcmp(top, rows[i].top) != 0)
				fail_msg("%s %s: top %s, want %s", rows[i].kind, rows[i].name,
					 top ?: "(none)", rows[i].top);
			if (strcmp(rows[i].field, "deployment") == 0)
				assert_string_equal(w.deployment, rows[i].top);
			else if (strcmp(rows[i].field, "cronjob") == 0)
				assert_string_equal(w.cronjob, rows[i].top);
		}
		json_decref(pod);
	}
}

static void the_controller_reference_wins(void **state)
{
	json_t *pod = json_pack("{s:{s:[{s:s, s:s}, {s:s, s:s, s:b}]}}", "metadata",
				"ownerReferences", "kind", "StatefulSet", "name", "first", "kind",
				"DaemonSet", "name", "ctrl", "controller", 1);
	struct workload w;

	workload_from_pod(pod, &w);
	assert_string_equal(workload_top_name(&w), "ctrl");
	assert_string_equal(w.statefulset, "");
	json_decref(pod);
}

static void service_name_order(void **state)
{
	json_t *pod = pod_owned_by("StatefulSet", "db", NULL);
	json_t *meta = json_object_get(pod, "metadata");
	struct workload w;

	json_object_set_new(meta, "name", json_string("db-0"));
	workload_from_pod(pod, &w);
	assert_string_equal(workload_service_name(pod, &w), "db");
	json_object_set_new(json_object_get(meta, "labels"), "app.kubernetes.io/name",
			    json_string("postgres"));
	assert_string_equal(workload_service_name(pod, &w), "postgres");
	json_object_set_new(meta, "annotations",
			    json_pack("{s:s}", "resource.opentelemetry.io/service.name", "orders-db"));
	assert_string_equal(workload_service_name(pod, &w), "orders-db");
	json_decref(pod);

	pod = json_pack("{s:{s:s}}", "metadata", "name", "lonely");
	workload_from_pod(pod, &w);
	assert_string_equal(workload_service_name(pod, &w), "lonely");
	json_decref(pod);
	/* Named by generateName after admission: no name yet. */
	pod = json_pack("{s:{s:s}}", "metadata", "generateName", "x-");
	workload_from_pod(pod, &w);
	assert_null(workload_service_name(pod, &w));
	json_decref(pod);
}

static void image_tags_as_versions(void **state)
{
	static const struct {
		const char *image, *tag;
	} rows[] = {
		{ "nginx:1.27", "1.27" },
		{ "registry:5000/team/app:v2.3.4", "v2.3.4" },
		{ "registry:5000/team/app", NULL },
		{ "app@sha256:abcd", NULL },
		{ "app:7@sha256:abcd", "7" },
		{ "app:latest", NULL },
		{ "app:", NULL },
		{ "app", NULL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char buf[64];
		int r = image_version_tag(rows[i].image, buf, sizeof(buf));

		if (rows[i].tag) {
			assert_int_equal(r, 0);
			assert_string_equal(buf, rows[i].tag);
		} else if (r != -ENOENT) {
			fail_msg("%s: got tag %s, want none", rows[i].image, buf);
		}
	}
}

static void dollars_are_doubled(void **state)
{
	char *s = env_escape_dollars_new("a$(B)$$c");

	assert_string_equal(s, "a$$(B)$$$$c");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(owners_are_derived_from_names),
		cmocka_unit_test(the_controller_reference_wins),
		cmocka_unit_test(service_name_order),
		cmocka_unit_test(image_tags_as_versions),
		cmocka_unit_test(dollars_are_doubled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
