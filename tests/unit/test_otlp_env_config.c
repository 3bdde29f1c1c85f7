#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/otlp/env_config.h"

/* A NULL-terminated list of NAME, VALUE pairs standing in for the environment. */
static const char *lookup(const char *name, void *userdata)
{
	const char *const *kv = userdata;

	for (; kv[0]; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static const char *resource_value(const struct otlp_resource *res, const char *key)
{
	static char buf[256];

	for (size_t i = 0; i < res->attr_count; i++) {
		const struct otlp_attr *a = &res->attrs[i];

		if (a->key_len == strlen(key) && memcmp(res->text + a->key_off, key, a->key_len) == 0) {
			memcpy(buf, res->text + a->str_off, a->str_len);
			buf[a->str_len] = '\0';
			return buf;
		}
	}
	return NULL;
}

static void an_empty_environment_gives_the_specification_defaults(void **state)
{
	const char *env[] = { NULL };
	struct otlp_env_config *c;

	assert_int_equal(otlp_env_config_new(lookup, env, &c, NULL), 0);
	assert_string_equal(c->config.endpoint, "http://localhost:4318");
	assert_false(c->config.endpoint_is_traces_url);
	assert_int_equal(c->config.protocol, OTLP_PROTOCOL_HTTP_PROTOBUF);
	assert_false(c->config.gzip);
	assert_int_equal(c->config.timeout_ms, 0); /* the exporter's own default */
	assert_int_equal(c->config.n_headers, 0);
	assert_null(c->config.ca_file);
	assert_string_equal(resource_value(&c->resource, "service.name"), "unknown_service");
	otlp_env_config_free(c);
}

static void the_webhook_s_variables_are_read(void **state)
{
	const char *env[] = {
		"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.obs:4318",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json",
		"OTEL_EXPORTER_OTLP_TIMEOUT", "2500",
		"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip",
		"OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t0k,x-tenant=blue",
		"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/autotrace/tls/ca.crt",
		"OTEL_SERVICE_NAME", "checkout",
		"OTEL_RESOURCE_ATTRIBUTES",
		"service.name=ignored,k8s.namespace.name=shop,k8s.pod.name=checkout-1,"
		"deployment.environment=prod%2Ceu",
		NULL,
	};
	struct otlp_env_config *c;

	assert_int_equal(otlp_env_config_new(lookup, env, &c, NULL), 0);
	assert_string_equal(c->config.endpoint, "http://collector.obs:4318");
	assert_int_equal(c->config.protocol, OTLP_PROTOCOL_HTTP_JSON);
	assert_int_equal(c->config.timeout_ms, 2500);
	assert_true(c->config.gzip);
	assert_int_equal(c->config.n_headers, 2);
	assert_string_equal(c->config.headers[0].name, "authorization");
	assert_string_equal(c->config.headers[0].value, "Bearer t0k");
	assert_string_equal(c->config.ca_file, "/etc/autotrace/tls/ca.crt");
	assert_int_equal(c->resource.attr_count, 4);
	assert_string_equal(resource_value(&c->resource, "service.name"), "checkout");
	assert_string_equal(resource_value(&c->resource, "k8s.namespace.name"), "shop");
	assert_string_equal(resource_value(&c->resource, "deployment.environment"), "prod,eu");
	otlp_env_config_free(c);
}

static void traces_variables_win_and_their_endpoint_is_used_as_is(void **state)
{
	const char *env[] = {
		"OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://traces.example/ingest",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf",
		"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs",
		NULL,
	};
	struct otlp_env_config *c;

	assert_int_equal(otlp_env_config_new(lookup, env, &c, NULL), 0);
	assert_string_equal(c->config.endpoint, "https://traces.example/ingest");
	assert_true(c->config.endpoint_is_traces_url);
	assert_int_equal(c->config.protocol, OTLP_PROTOCOL_HTTP_PROTOBUF);
	assert_string_equal(resource_value(&c->resource, "service.name"), "from-attrs");
	otlp_env_config_free(c);
}

static void a_bad_variable_is_named(void **state)
{
	const struct {
		const char *name, *value;
	} bad[] = {
		{ "OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317" },
		{ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc" },
		{ "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "10s" },
		{ "OTEL_EXPORTER_OTLP_TIMEOUT", "-5" },
		{ "OTEL_EXPORTER_OTLP_COMPRESSION", "zstd" },
		{ "OTEL_EXPORTER_OTLP_HEADERS", "novalue" },
		{ "OTEL_RESOURCE_ATTRIBUTES", "a=%zz" },
	};
	struct otlp_env_config *c = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *env[] = { bad[i].name, bad[i].value, NULL };
		const char *which = NULL;

		assert_int_equal(otlp_env_config_new(lookup, (void *)env, &c, &which), -EINVAL);
		assert_non_null(which);
		assert_string_equal(which, bad[i].name);
		assert_null(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_empty_environment_gives_the_specification_defaults),
		cmocka_unit_test(the_webhook_s_variables_are_read),
		cmocka_unit_test(traces_variables_win_and_their_endpoint_is_used_as_is),
		cmocka_unit_test(a_bad_variable_is_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
