#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/settings.h"

/* The environment as a table, the way the container's env arrives. */
static const char *lookup(const char *name, void *ud)
{
	for (const char *const *kv = ud; kv[0]; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static const char *const admission_env[] = {
	"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.observability:4318",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json",
	"OTEL_TRACES_SAMPLER", "parentbased_traceidratio",
	"OTEL_TRACES_SAMPLER_ARG", "0.25",
	"OTEL_SERVICE_NAME", "checkout",
	"OTEL_RESOURCE_ATTRIBUTES", "k8s.namespace.name=shop,k8s.pod.name=checkout-7d9f",
	"AUTOTRACE_TARGET_CONTAINERS", "app, worker,,",
	NULL, NULL,
};

static const char config_file[] =
	"{\"revision\": \"0123456789abcdef\", \"instrumentation\": \"shop/traces\", "
	"\"exporter\": {\"endpoint\": \"https://otel.example:4318\", \"protocol\": \"http/protobuf\", "
	"\"headers\": {\"x-tenant\": \"blue\"}, \"timeoutMs\": 3000, "
	"\"tls\": {\"insecureSkipVerify\": false, \"caPem\": \"-----BEGIN CERTIFICATE-----\\nAA==\\n"
	"-----END CERTIFICATE-----\\n\"}}, "
	"\"sampler\": {\"type\": \"traceidratio\", \"ratio\": 0.1}, \"propagators\": [\"tracecontext\"], "
	"\"resourceAttributes\": {\"deployment.environment\": \"prod\", \"k8s.pod.name\": \"from-file\"}, "
	"\"targets\": {\"containerNames\": [\"app\"], \"executable\": \"/srv/checkout\"}, "
	"\"probes\": {\"httpServer\": true, \"httpClient\": {\"enabled\": false}, "
	"\"grpcServer\": {\"enabled\": false}, \"databaseSql\": {\"queryText\": true}}}";

static const char *resource_value(const struct otlp_resource *res, const char *key)
{
	static char buf[256];
	struct otlp_attrs_view v = otlp_resource_attrs(res);

	for (size_t i = 0; i < v.count; i++) {
		const struct otlp_attr *a = &v.items[i];
		if (a->key_len == strlen(key) && memcmp(v.text + a->key_off, key, a->key_len) == 0) {
			snprintf(buf, sizeof(buf), "%.*s", a->str_len, v.text + a->str_off);
			return buf;
		}
	}
	return NULL;
}

static void the_admission_environment_alone_configures_the_agent(void **state)
{
	struct agent_settings *s = NULL;
	char err[256] = "";

	assert_int_equal(agent_settings_new(lookup, (void *)admission_env, NULL, 0, &s, err, sizeof(err)), 0);
	assert_string_equal(s->exporter.endpoint, "http://collector.observability:4318");
	assert_int_equal(s->exporter.protocol, OTLP_PROTOCOL_HTTP_JSON);
	assert_int_equal(s->sampler.type, TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO);
	assert_true(s->sampler.ratio == 0.25);
	assert_string_equal(resource_value(&s->resource, "service.name"), "checkout");
	assert_string_equal(resource_value(&s->resource, "k8s.pod.name"), "checkout-7d9f");
	assert_string_equal(s->targets.container_names[0], "app");
	assert_string_equal(s->targets.container_names[1], "worker");
	assert_null(s->targets.container_names[2]);
	assert_string_equal(s->revision, "");
	/* No file yet: every probe family on, no query text. */
	assert_int_equal(s->probes.http_server && s->probes.http_client && s->probes.grpc_server &&
				 s->probes.grpc_client && s->probes.database_sql,
			 1);
	assert_int_equal(s->probes.db_query_text, 0);
	agent_settings_free(s);
}

static void the_file_wins_field_by_field(void **state)
{
	struct agent_settings *s = NULL;
	char err[256] = "";

	assert_int_equal(agent_settings_new(lookup, (void *)admission_env, config_file,
					    strlen(config_file), &s, err, sizeof(err)), 0);
	assert_string_equal(s->revision, "0123456789abcdef");
	assert_string_equal(s->instrumentation, "shop/traces");
	assert_string_equal(s->exporter.endpoint, "https://otel.example:4318");
	assert_int_equal(s->exporter.protocol, OTLP_PROTOCOL_HTTP_PROTOBUF);
	assert_int_equal(s->exporter.timeout_ms, 3000);
	assert_int_equal(s->exporter.n_headers, 1);
	assert_string_equal(s->exporter.headers[0].name, "x-tenant");
	assert_int_equal(s->sampler.type, TRACER_SAMPLER_TRACEIDRATIO);
	assert_true(s->sampler.ratio == 0.1);
	assert_string_equal(s->targets.executable, "/srv/checkout");
	assert_string_equal(s->targets.container_names[0], "app");
	assert_null(s->targets.container_names[1]);
	/* The file's attributes win; the environment's fill in the rest. */
	assert_string_equal(resource_value(&s->resource, "k8s.pod.name"), "from-file");
	assert_string_equal(resource_value(&s->resource, "deployment.environment"), "prod");
	assert_string_equal(resource_value(&s->resource, "k8s.namespace.name"), "shop");
	assert_string_equal(resource_value(&s->resource, "service.name"), "checkout");
	/* The CA is readable at the path handed to the exporter. */
	FILE *f = fopen(s->exporter.ca_file, "r");
	assert_non_null(f);
	char line[64];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "-----BEGIN CERTIFICATE-----\n");
	fclose(f);
	/* spec.probes as rendered, old boolean form included, and what the tracer gets. */
	struct tracer_probes tp;
	assert_int_equal(s->probes.http_server, 1);
	assert_int_equal(s->probes.http_client, 0);
	assert_int_equal(s->probes.grpc_server, 0);
	assert_int_equal(s->probes.grpc_client, 1);
	assert_int_equal(s->probes.database_sql, 1);
	assert_int_equal(s->probes.db_query_text, 1);
	agent_settings_tracer_probes(s, &tp);
	assert_int_equal(tp.http_server, 1);
	assert_int_equal(tp.http_client, 0);
	assert_int_equal(tp.database_sql, 1);
	assert_int_equal(tp.db_query_text, 1);
	agent_settings_free(s);
}

static void a_bad_file_or_variable_is_refused_and_named(void **state)
{
	struct agent_settings *s = NULL;
	char err[256] = "";
	/* The good file with one field wrong. */
	char bad_file[sizeof(config_file) + 16];
	const char *at = strstr(config_file, "\"traceidratio\"");
	snprintf(bad_file, sizeof(bad_file), "%.*s\"sometimes\"%s", (int)(at - config_file), config_file,
		 at + strlen("\"traceidratio\""));

	assert_true(agent_settings_new(lookup, (void *)admission_env, bad_file, strlen(bad_file), &s,
				       err, sizeof(err)) < 0);
	assert_null(s);
	assert_non_null(strstr(err, "config file"));
	assert_non_null(strstr(err, "sampler"));

	const char *const bad_env[] = { "OTEL_TRACES_SAMPLER", "traceidratio",
					"OTEL_TRACES_SAMPLER_ARG", "1.5", NULL, NULL };
	assert_int_equal(agent_settings_new(lookup, (void *)bad_env, NULL, 0, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "OTEL_TRACES_SAMPLER"));

	const char *const bad_endpoint[] = { "OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x", NULL, NULL };
	assert_int_equal(agent_settings_new(lookup, (void *)bad_endpoint, NULL, 0, &s, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "OTEL_EXPORTER_OTLP_ENDPOINT"));
}

static void sampler_names_and_ratios(void **state)
{
	struct tracer_sampler s;

	assert_int_equal(agent_sampler_parse("always_off", NULL, &s), 0);
	assert_int_equal(s.type, TRACER_SAMPLER_ALWAYS_OFF);
	/* OTel's default ratio is 1.0 when no argument is given. */
	assert_int_equal(agent_sampler_parse("traceidratio", NULL, &s), 0);
	assert_true(s.ratio == 1.0);
	assert_int_equal(agent_sampler_parse("traceidratio", "0", &s), 0);
	assert_true(s.ratio == 0.0);
	assert_int_equal(agent_sampler_parse("traceidratio", "-0.1", &s), -EINVAL);
	assert_int_equal(agent_sampler_parse("traceidratio", "0.5x", &s), -EINVAL);
	assert_int_equal(agent_sampler_parse("jaeger_remote", NULL, &s), -EINVAL);
	assert_string_equal(agent_sampler_name(TRACER_SAMPLER_PARENTBASED_ALWAYS_ON), "parentbased_always_on");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_admission_environment_alone_configures_the_agent),
		cmocka_unit_test(the_file_wins_field_by_field),
		cmocka_unit_test(a_bad_file_or_variable_is_refused_and_named),
		cmocka_unit_test(sampler_names_and_ratios),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
