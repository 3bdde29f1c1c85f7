#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/otlp/export_config.h"

static void the_traces_url_is_derived_from_the_endpoint(void **state)
{
	struct {
		const char *endpoint, *want;
	} ok[] = {
		{ "http://collector:4318", "http://collector:4318/v1/traces" },
		{ "http://collector:4318/", "http://collector:4318/v1/traces" },
		{ "https://otel.example/prefix", "https://otel.example/prefix/v1/traces" },
		{ "http://collector:4318/v1/traces", "http://collector:4318/v1/traces" },
		{ "HTTP://c/custom/v1/traces", "HTTP://c/custom/v1/traces" },
	};
	const char *bad[] = { "collector:4318", "ftp://x", "http://a b", "" };
	char *as_is;
	int err;

	/* A signal-specific endpoint is the URL itself. */
	as_is = export_config_traces_url("http://c:4318/custom/path", true, &err);
	assert_string_equal(as_is, "http://c:4318/custom/path");
	free(as_is);

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *url = export_config_traces_url(ok[i].endpoint, false, &err);

		assert_non_null(url);
		assert_string_equal(url, ok[i].want);
		free(url);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(export_config_traces_url(bad[i], false, &err));
		assert_int_equal(err, -EINVAL);
	}
}

static void headers_that_would_split_a_request_are_refused(void **state)
{
	struct otlp_header good[] = { { "Authorization", "Bearer x" }, { "X-Tenant", "" } };
	struct otlp_header crlf[] = { { "X-A", "v\r\nHost: evil" } };
	struct otlp_header colon[] = { { "X:A", "v" } };
	struct otlp_header space[] = { { "X A", "v" } };
	struct otlp_exporter_config cfg = { .endpoint = "http://127.0.0.1:4318" };
	struct export_config *c;

	cfg.headers = good;
	cfg.n_headers = 2;
	assert_int_equal(export_config_new(&cfg, NULL, &c), 0);
	assert_int_equal(c->n_headers, 2);
	assert_string_equal(c->header_lines[0], "Authorization: Bearer x");
	assert_string_equal(c->header_lines[1], "X-Tenant: ");
	assert_int_equal(c->timeout_ms, 10000);
	export_config_unref(c);
	cfg.n_headers = 1;
	cfg.headers = crlf;
	assert_int_equal(export_config_new(&cfg, NULL, &c), -EINVAL);
	cfg.headers = colon;
	assert_int_equal(export_config_new(&cfg, NULL, &c), -EINVAL);
	cfg.headers = space;
	assert_int_equal(export_config_new(&cfg, NULL, &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_traces_url_is_derived_from_the_endpoint),
		cmocka_unit_test(headers_that_would_split_a_request_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
