/* The agent config: an Instrumentation rendered the way the agent reads it, the same
 * bytes for the same content, a revision that follows the content, Secret references
 * resolved, and a parser that names the field of every mistake. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/instrumentation/agent_config.h"

static void spec_of(const char *ns, const char *spec_json, struct instrumentation_spec *ret)
{
	json_t *spec = json_loads(spec_json, 0, NULL);
	json_t *cr;
	char err[256] = "";

	assert_non_null(spec);
	cr = json_pack("{s:{s:s, s:s}, s:o}", "metadata", "namespace", ns, "name", "traces",
		       "spec", spec);
	if (instrumentation_spec_parse(cr, ret, err, sizeof(err)) < 0)
		fail_msg("spec: %s", err);
	json_decref(cr);
}

/* The fake Secret store of these tests: Secret "otel" with key "token" and "ca" with
 * "ca.crt"; "bad" holds a value with a line break. */
static int secrets(void *ud, const char *secret, const char *key, char **ret_value)
{
	int *calls = ud;
	const char *v = NULL;

	(*calls)++;
	if (strcmp(secret, "otel") == 0 && strcmp(key, "token") == 0)
		v = "s3cret";
	else if (strcmp(secret, "bad") == 0 && strcmp(key, "token") == 0)
		v = "a\r\nInjected: yes";
	else if (strcmp(secret, "ca") == 0 && strcmp(key, "ca.crt") == 0)
		v = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	if (!v)
		return -ENOENT;
	*ret_value = strdup(v);
	return *ret_value ? 0 : -ENOMEM;
}

static char *render(const char *spec_json, char rev[AGENT_CONFIG_REVISION_LEN + 1])
{
	struct instrumentation_spec s;
	int calls = 0;
	struct agent_config_render_opts o = { .secret_value = secrets, .ud = &calls };
	char *json = NULL, err[256] = "";

	spec_of("shop", spec_json, &s);
	if (agent_config_render(&s, &o, &json, rev, err, sizeof(err)) < 0)
		fail_msg("render: %s", err);
	instrumentation_spec_clear(&s);
	return json;
}

static const char *FULL =
	"{\"exporter\":{\"endpoint\":\"https://collector:4318\",\"protocol\":\"http/json\","
	"\"headers\":[{\"name\":\"x-key\",\"value\":\"k\"},"
	"{\"name\":\"authorization\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"otel\","
	"\"key\":\"token\"}}}],\"timeout\":\"2s\",\"tls\":{\"secretName\":\"ca\"}},"
	"\"sampler\":{\"type\":\"parentbased_traceidratio\",\"ratio\":0.1},"
	"\"propagators\":[\"b3\",\"tracecontext\"],"
	"\"resourceAttributes\":{\"team\":\"pay\",\"deployment.environment.name\":\"prod\"},"
	"\"targets\":{\"containerNames\":[\"app\"],\"executable\":\"/app/server\"},"
	"\"probes\":{\"httpClient\":{\"enabled\":false},"
	"\"databaseSql\":{\"queryText\":true}}}";

static void a_full_spec_renders_and_parses_back(void **state)
{
	char rev[AGENT_CONFIG_REVISION_LEN + 1], err[256] = "";
	char *json = render(FULL, rev);
	struct agent_config c;

	if (agent_config_parse(json, strlen(json), &c, err, sizeof(err)) < 0)
		fail_msg("parse: %s\n%s", err, json);
	assert_string_equal(c.revision, rev);
	assert_string_equal(c.instrumentation, "shop/traces");
	assert_string_equal(c.endpoint, "https://collector:4318");
	assert_int_equal(c.protocol, AGENT_PROTOCOL_JSON);
	assert_string_equal(json_string_value(json_object_get(c.headers, "x-key")), "k");
	assert_string_equal(json_string_value(json_object_get(c.headers, "authorization")),
			    "s3cret");
	assert_int_equal(c.timeout_ms, 2000);
	assert_non_null(c.tls_ca_pem);
	assert_int_equal(c.tls_insecure_skip_verify, 0);
	assert_string_equal(c.sampler_type, "parentbased_traceidratio");
	assert_true(c.sampler_ratio == 0.1);
	assert_int_equal(c.n_propagators, 2);
	assert_string_equal(c.propagators[0], "b3");
	assert_string_equal(json_string_value(json_object_get(c.resource_attributes, "team")),
			    "pay");
	assert_int_equal(c.n_container_names, 1);
	assert_string_equal(c.executable, "/app/server");
	assert_true(agent_config_probe_on(&c, "httpServer"));
	assert_false(agent_config_probe_on(&c, "httpClient"));
	assert_true(agent_config_probe_on(&c, "databaseSql"));
	assert_int_equal(c.probes.http_client, 0);
	assert_int_equal(c.probes.database_sql, 1);
	assert_int_equal(c.probes.db_query_text, 1);
	/* Every family explicit in the file. */
	assert_non_null(strstr(json, "\"probes\":{\"databaseSql\":{\"enabled\":true,"
				     "\"queryText\":true},\"grpcClient\":{\"enabled\":true},"
				     "\"grpcServer\":{\"enabled\":true},"
				     "\"httpClient\":{\"enabled\":false},"
				     "\"httpServer\":{\"enabled\":true}}"));
	/* The ratio is written as a user wrote it, not as 0.10000000000000001. */
	assert_non_null(strstr(json, "\"ratio\":0.1,") ? strstr(json, "\"ratio\":0.1,")
						      : strstr(json, "\"ratio\":0.1}"));
	agent_config_clear(&c);
	agent_config_clear(&c);
	free(json);
}

static void an_empty_spec_gets_every_default(void **state)
{
	char rev[AGENT_CONFIG_REVISION_LEN + 1], err[256] = "";
	char *json = render("{}", rev);
	struct agent_config c;

	assert_int_equal(agent_config_parse(json, strlen(json), &c, err, sizeof(err)), 0);
	assert_string_equal(c.endpoint, AGENT_CONFIG_DEFAULT_ENDPOINT);
	assert_int_equal(c.protocol, AGENT_PROTOCOL_PROTOBUF);
	assert_int_equal(c.timeout_ms, AGENT_CONFIG_DEFAULT_TIMEOUT_MS);
	assert_string_equal(c.sampler_type, AGENT_CONFIG_DEFAULT_SAMPLER);
	assert_true(c.sampler_ratio == 1.0);
	assert_int_equal(c.n_propagators, 2);
	assert_string_equal(c.propagators[0], "tracecontext");
	assert_string_equal(c.propagators[1], "baggage");
	assert_null(c.executable);
	for (size_t i = 0; instrumentation_probe_names[i]; i++)
		assert_true(agent_config_probe_on(&c, instrumentation_probe_names[i]));
	assert_int_equal(c.probes.db_query_text, 0);
	agent_config_clear(&c);
	free(json);
}

static void the_same_content_gives_the_same_bytes(void **state)
{
	char r1[AGENT_CONFIG_REVISION_LEN + 1], r2[AGENT_CONFIG_REVISION_LEN + 1];
	/* The same spec with its keys in another order. */
	char *a = render("{\"resourceAttributes\":{\"a\":\"1\",\"b\":\"2\"},"
			 "\"sampler\":{\"type\":\"traceidratio\",\"ratio\":0.5}}",
			 r1);
	char *b = render("{\"sampler\":{\"ratio\":0.5,\"type\":\"traceidratio\"},"
			 "\"resourceAttributes\":{\"b\":\"2\",\"a\":\"1\"}}",
			 r2);

	assert_string_equal(a, b);
	assert_string_equal(r1, r2);
	assert_int_equal(strlen(r1), AGENT_CONFIG_REVISION_LEN);
	free(a);
	free(b);
}

static void the_revision_changes_with_the_content(void **state)
{
	char r1[AGENT_CONFIG_REVISION_LEN + 1], r2[AGENT_CONFIG_REVISION_LEN + 1];
	char r3[AGENT_CONFIG_REVISION_LEN + 1];
	char *a = render("{\"sampler\":{\"type\":\"traceidratio\",\"ratio\":0.5}}", r1);
	char *b = render("{\"sampler\":{\"type\":\"traceidratio\",\"ratio\":0.25}}", r2);
	char *c = render("{\"sampler\":{\"type\":\"traceidratio\",\"ratio\":0.5}}", r3);

	assert_string_not_equal(r1, r2);
	assert_string_equal(r1, r3);
	assert_non_null(strstr(a, r1));
	free(a);
	free(b);
	free(c);
}

static void a_missing_secret_names_the_header(void **state)
{
	struct instrumentation_spec s;
	int calls = 0;
	struct agent_config_render_opts o = { .secret_value = secrets, .ud = &calls };
	char rev[AGENT_CONFIG_REVISION_LEN + 1], *json = NULL, err[256] = "";

	spec_of("shop",
		"{\"exporter\":{\"headers\":[{\"name\":\"x-key\",\"valueFrom\":{\"secretKeyRef\":"
		"{\"name\":\"gone\",\"key\":\"token\"}}}]}}",
		&s);
	assert_int_equal(agent_config_render(&s, &o, &json, rev, err, sizeof(err)), -ENOENT);
	assert_null(json);
	assert_non_null(strstr(err, "spec.exporter.headers[0]"));
	assert_non_null(strstr(err, "gone"));
	assert_non_null(strstr(err, "not found"));
	/* Without a lookup at all, the same. */
	assert_int_equal(agent_config_render(&s, NULL, &json, rev, err, sizeof(err)), -ENOENT);
	instrumentation_spec_clear(&s);
}

static void a_secret_value_cannot_inject_a_header_line(void **state)
{
	struct instrumentation_spec s;
	int calls = 0;
	struct agent_config_render_opts o = { .secret_value = secrets, .ud = &calls };
	char rev[AGENT_CONFIG_REVISION_LEN + 1], *json = NULL, err[256] = "";

	spec_of("shop",
		"{\"exporter\":{\"headers\":[{\"name\":\"x-key\",\"valueFrom\":{\"secretKeyRef\":"
		"{\"name\":\"bad\",\"key\":\"token\"}}}]}}",
		&s);
	assert_int_equal(agent_config_render(&s, &o, &json, rev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line break"));
	instrumentation_spec_clear(&s);
}

static void each_mistake_names_its_field(void **state)
{
	static const struct {
		const char *json, *field;
	} bad[] = {
		{ "[]", "config" },
		{ "{\"revision\":\"x\"}", "revision" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a\"}",
		  "instrumentation" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\"}", "exporter" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"ftp://x\"}}",
		  "exporter.endpoint" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\",\"protocol\":\"grpc\"}}",
		  "exporter.protocol" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\",\"headers\":{\"a\":\"b\\nc: d\"}}}",
		  "exporter.headers.a" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\",\"timeoutMs\":-1}}",
		  "exporter.timeoutMs" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\",\"tls\":{\"caPem\":\"x\"}}}",
		  "exporter.tls.caPem" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\"}}",
		  "sampler.type" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\"},"
		  "\"sampler\":{\"type\":\"always_on\",\"ratio\":1.5}}",
		  "sampler.ratio" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\"},\"sampler\":{\"type\":\"always_on\"},"
		  "\"propagators\":[\"b3\",\"b3\"]}",
		  "propagators[1]" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\"},\"sampler\":{\"type\":\"always_on\"},"
		  "\"resourceAttributes\":{\"a b\":\"c\"}}",
		  "resourceAttributes" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\"},\"sampler\":{\"type\":\"always_on\"},"
		  "\"targets\":{\"executable\":\"rel\"}}",
		  "targets.executable" },
		{ "{\"revision\":\"0123456789abcdef\",\"instrumentation\":\"a/b\","
		  "\"exporter\":{\"endpoint\":\"http://x\"},\"sampler\":{\"type\":\"always_on\"},"
		  "\"probes\":{\"httpServer\":\"yes\"}}",
		  "probes.httpServer" },
		{ "{\"revision\":\"0123456789abcdef\",\"revision\":\"0123456789abcdef\"}", "config" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct agent_config c;
		char err[256] = "";

		assert_int_equal(agent_config_parse(bad[i].json, strlen(bad[i].json), &c, err,
						    sizeof(err)),
				 -EINVAL);
		if (strncmp(err, bad[i].field, strlen(bad[i].field)) != 0)
			fail_msg("%s: message \"%s\" does not start with %s", bad[i].json, err,
				 bad[i].field);
	}
}

static void an_oversized_file_is_refused_before_parsing(void **state)
{
	size_t n = AGENT_CONFIG_MAX_BYTES + 1;
	char *big = malloc(n), err[128] = "";
	struct agent_config c;

	assert_non_null(big);
	memset(big, ' ', n);
	assert_int_equal(agent_config_parse(big, n, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "larger than"));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_full_spec_renders_and_parses_back),
		cmocka_unit_test(an_empty_spec_gets_every_default),
		cmocka_unit_test(the_same_content_gives_the_same_bytes),
		cmocka_unit_test(the_revision_changes_with_the_content),
		cmocka_unit_test(a_missing_secret_names_the_header),
		cmocka_unit_test(a_secret_value_cannot_inject_a_header_line),
		cmocka_unit_test(each_mistake_names_its_field),
		cmocka_unit_test(an_oversized_file_is_refused_before_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
