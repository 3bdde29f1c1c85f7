/* Reading an Instrumentation: every field as the webhook and operator use it, and a
 * message naming the field for each kind of mistake. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "lib/instrumentation/spec.h"

static json_t *cr_with_spec(const char *spec_json)
{
	json_t *spec = json_loads(spec_json, 0, NULL);

	assert_non_null(spec);
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "autotrace.dev/v1alpha1",
			 "kind", "Instrumentation", "metadata", "namespace", "shop", "name",
			 "default", "spec", spec);
}

static void a_full_spec_reads_back(void **state)
{
	json_t *cr = cr_with_spec(
		"{\"exporter\":{\"endpoint\":\"http://c:4318\",\"protocol\":\"http/json\","
		"\"headers\":{\"x-token\":\"t\"},\"timeout\":\"500ms\"},"
		"\"sampler\":{\"type\":\"parentbased_traceidratio\",\"ratio\":0.1},"
		"\"propagators\":[\"tracecontext\",\"b3multi\"],"
		"\"resourceAttributes\":{\"team\":\"pay\"},"
		"\"targets\":{\"containerNames\":[\"a\",\"b\"],\"executable\":\"/bin/app\"},"
		"\"agent\":{\"image\":\"img:1\",\"resources\":{},\"mode\":\"node\"}}");
	struct instrumentation_spec s;
	char err[256];

	assert_int_equal(instrumentation_spec_parse(cr, &s, err, sizeof(err)), 0);
	json_decref(cr); /* the spec holds its own reference */
	assert_string_equal(s.ns, "shop");
	assert_string_equal(s.name, "default");
	assert_string_equal(s.endpoint, "http://c:4318");
	assert_string_equal(s.protocol, "http/json");
	assert_int_equal(s.timeout_ms, 500);
	assert_string_equal(s.sampler_type, "parentbased_traceidratio");
	assert_true(s.sampler_ratio > 0.099 && s.sampler_ratio < 0.101);
	assert_int_equal(s.n_propagators, 2);
	assert_string_equal(s.propagators[1], "b3multi");
	assert_int_equal(s.n_container_names, 2);
	assert_string_equal(s.executable, "/bin/app");
	assert_string_equal(s.agent_image, "img:1");
	assert_int_equal(s.mode, AGENT_MODE_NODE);
	instrumentation_spec_clear(&s);
	instrumentation_spec_clear(&s); /* twice is fine */
}

static void the_crd_forms_of_headers_tls_and_probes_read_back(void **state)
{
	json_t *cr = cr_with_spec(
		"{\"exporter\":{\"headers\":[{\"name\":\"x-key\",\"value\":\"v\"},"
		"{\"name\":\"x-secret\",\"valueFrom\":{\"secretKeyRef\":"
		"{\"name\":\"otel\",\"key\":\"token\"}}}],"
		"\"tls\":{\"secretName\":\"ca\",\"insecureSkipVerify\":true}},"
		"\"probes\":{\"httpServer\":{\"enabled\":true},\"httpClient\":{\"enabled\":false},"
		"\"grpcClient\":{},\"databaseSql\":{\"enabled\":false,\"queryText\":true}}}");
	struct instrumentation_spec s;
	char err[256] = "";

	assert_int_equal(instrumentation_spec_parse(cr, &s, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(s.headers), 2);
	assert_string_equal(s.tls_secret_name, "ca");
	assert_int_equal(s.tls_insecure_skip_verify, 1);
	assert_int_equal(s.probes.http_server, 1);
	assert_int_equal(s.probes.http_client, 0);
	assert_int_equal(s.probes.grpc_server, 1);
	assert_int_equal(s.probes.grpc_client, 1);
	assert_int_equal(s.probes.database_sql, 0);
	assert_int_equal(s.probes.db_query_text, 1);
	instrumentation_spec_clear(&s);
	json_decref(cr);
}

static void an_empty_spec_leaves_everything_unset(void **state)
{
	json_t *cr = cr_with_spec("{}");
	struct instrumentation_spec s;

	assert_int_equal(instrumentation_spec_parse(cr, &s, NULL, 0), 0);
	assert_null(s.endpoint);
	assert_null(s.sampler_type);
	assert_int_equal(s.timeout_ms, -1);
	assert_true(s.sampler_ratio < 0);
	assert_int_equal(s.mode, AGENT_MODE_SIDECAR);
	/* Every probe family on, no query text. */
	assert_int_equal(s.probes.http_server + s.probes.http_client + s.probes.grpc_server +
				 s.probes.grpc_client + s.probes.database_sql,
			 5);
	assert_int_equal(s.probes.db_query_text, 0);
	instrumentation_spec_clear(&s);
	json_decref(cr);
}

static void each_mistake_names_its_field(void **state)
{
	static const struct {
		const char *spec;
		const char *field;
	} bad[] = {
		{ "{\"exporter\":{\"endpoint\":\"grpc://c\"}}", "spec.exporter.endpoint" },
		{ "{\"exporter\":{\"endpoint\":\"http://a b\"}}", "spec.exporter.endpoint" },
		{ "{\"exporter\":{\"protocol\":\"grpc\"}}", "spec.exporter.protocol" },
		{ "{\"exporter\":{\"timeout\":\"10\"}}", "spec.exporter.timeout" },
		{ "{\"exporter\":{\"timeout\":\"2h\"}}", "spec.exporter.timeout" },
		{ "{\"exporter\":{\"headers\":{\"a\":1}}}", "spec.exporter.headers" },
		{ "{\"exporter\":\"x\"}", "spec.exporter" },
		{ "{\"exporter\":{\"headers\":[{\"name\":\"a\"}]}}", "spec.exporter.headers[0]" },
		{ "{\"exporter\":{\"headers\":[{\"name\":\"a\",\"value\":\"b\"},"
		  "{\"name\":\"A\",\"value\":\"c\"}]}}",
		  "spec.exporter.headers[1].name" },
		{ "{\"exporter\":{\"headers\":[{\"name\":\"a\",\"valueFrom\":{}}]}}",
		  "spec.exporter.headers[0].valueFrom.secretKeyRef" },
		{ "{\"exporter\":{\"headers\":7}}", "spec.exporter.headers" },
		{ "{\"exporter\":{\"tls\":{\"secretName\":\"Bad Name\"}}}",
		  "spec.exporter.tls.secretName" },
		{ "{\"probes\":{\"kafka\":true}}", "spec.probes.kafka" },
		{ "{\"probes\":{\"httpServer\":1}}", "spec.probes.httpServer" },
		{ "{\"probes\":{\"httpServer\":{\"enabled\":\"no\"}}}",
		  "spec.probes.httpServer.enabled" },
		{ "{\"probes\":{\"httpClient\":{\"queryText\":true}}}",
		  "spec.probes.httpClient.queryText" },
		{ "{\"probes\":{\"databaseSql\":{\"queryText\":1}}}",
		  "spec.probes.databaseSql.queryText" },
		{ "{\"probes\":{\"databaseSql\":{\"enable\":false}}}",
		  "spec.probes.databaseSql.enable" },
		{ "{\"probes\":[]}", "spec.probes" },
		{ "{\"sampler\":{\"type\":\"xray\"}}", "spec.sampler.type" },
		{ "{\"sampler\":{\"ratio\":1.5}}", "spec.sampler.ratio" },
		{ "{\"sampler\":{\"ratio\":\"0.5\"}}", "spec.sampler.ratio" },
		{ "{\"propagators\":[\"w3c\"]}", "spec.propagators[0]" },
		{ "{\"propagators\":[\"none\",\"b3\"]}", "spec.propagators" },
		{ "{\"propagators\":[\"b3\",\"b3\"]}", "spec.propagators" },
		{ "{\"resourceAttributes\":{\"a=b\":\"c\"}}", "spec.resourceAttributes" },
		{ "{\"resourceAttributes\":{\"a\":2}}", "spec.resourceAttributes.a" },
		{ "{\"targets\":{\"containerNames\":[\"Not_A_Name\"]}}",
		  "spec.targets.containerNames[0]" },
		{ "{\"targets\":{\"executable\":\"app\"}}", "spec.targets.executable" },
		{ "{\"agent\":{\"mode\":\"daemonset\"}}", "spec.agent.mode" },
		{ "{\"agent\":{\"image\":\"\"}}", "spec.agent.image" },
		{ "{\"agent\":{\"resources\":[]}}", "spec.agent.resources" },
		{ "{\"agent\":{\"resources\":{\"limit\":{}}}}", "spec.agent.resources" },
		{ "{\"agent\":{\"resources\":{\"limits\":{\"cpu\":\"lots\"}}}}",
		  "spec.agent.resources.limits.cpu" },
		{ "{\"agent\":{\"resources\":{\"requests\":{\"memory\":\"1Gi\"},"
		  "\"limits\":{\"memory\":\"512Mi\"}}}}",
		  "spec.agent.resources.requests.memory" },
		{ "{\"agent\":{\"resources\":{\"requests\":{\"cpu\":\"1\"},"
		  "\"limits\":{\"cpu\":\"500m\"}}}}",
		  "spec.agent.resources.requests.cpu" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *cr = cr_with_spec(bad[i].spec);
		struct instrumentation_spec s;
		char err[256] = "";

		assert_int_equal(instrumentation_spec_parse(cr, &s, err, sizeof(err)), -EINVAL);
		if (strncmp(err, bad[i].field, strlen(bad[i].field)) != 0)
			fail_msg("%s: message \"%s\" does not start with %s", bad[i].spec, err,
				 bad[i].field);
		json_decref(cr);
	}
}

static void agent_resources_in_kubernetes_quantities(void **state)
{
	json_t *cr = cr_with_spec("{\"agent\":{\"resources\":{\"requests\":{\"cpu\":\"100m\","
				  "\"memory\":\"64Mi\"},\"limits\":{\"cpu\":\"0.5\","
				  "\"memory\":\"1e9\",\"ephemeral-storage\":\"1G\"}}}}");
	struct instrumentation_spec s;
	char err[256] = "";

	if (instrumentation_spec_parse(cr, &s, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_non_null(s.agent_resources);
	instrumentation_spec_clear(&s);
	json_decref(cr);
}

static void metadata_is_required(void **state)
{
	json_t *cr = json_pack("{s:{s:s}}", "metadata", "name", "x");
	struct instrumentation_spec s;
	char err[128];

	assert_int_equal(instrumentation_spec_parse(cr, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "namespace"));
	json_decref(cr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_full_spec_reads_back),
		cmocka_unit_test(an_empty_spec_leaves_everything_unset),
		cmocka_unit_test(the_crd_forms_of_headers_tls_and_probes_read_back),
		cmocka_unit_test(each_mistake_names_its_field),
		cmocka_unit_test(agent_resources_in_kubernetes_quantities),
		cmocka_unit_test(metadata_is_required),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
