/* GET /metrics on a real server returns the registry's exposition, as scraped by
 * libcurl. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <event2/thread.h>

#include "lib/metrics/http_endpoint.h"
#include "lib/metrics/registry.h"
#include "tests/support/http_fixture.h"

static void scrape_returns_the_exposition(void **state)
{
	struct http_fixture f = { 0 };
	struct metrics_registry *reg;
	struct metrics_counter *c;
	struct http_reply r = { 0 };
	CURL *curl = curl_easy_init();

	assert_int_equal(metrics_registry_new(&reg), 0);
	assert_int_equal(metrics_counter_new(reg,
					     &(struct metrics_opts){
						     .name = "autotrace_scrapes_seen_total",
						     .help = "Seen.",
						     .labels = (const char *[]){ "who", NULL },
					     },
					     &c),
			 0);
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "test" }, 3), 0);
	assert_int_equal(http_fixture_init(&f, &(struct http_server_opts){ .listen = "127.0.0.1:0" }),
			 0);
	assert_int_equal(metrics_http_mount(reg, f.server, NULL), 0);
	assert_int_equal(metrics_http_mount(reg, f.server, NULL), -EEXIST);
	assert_int_equal(metrics_register_tls_stats(reg, f.server, "test"), 0);
	assert_int_equal(metrics_register_tls_stats(reg, f.server, "test"), -EEXIST);
	assert_int_equal(http_fixture_start(&f), 0);

	assert_int_equal(http_fixture_request(&f, curl, "GET", "/metrics", NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r.body, "# TYPE autotrace_scrapes_seen_total counter\n"
					"autotrace_scrapes_seen_total{who=\"test\"} 3\n"));
	/* Plain HTTP: the TLS figures are there, at zero. */
	assert_non_null(strstr(r.body, "\nautotrace_test_tls_certificate_reloads_total 0\n"));
	assert_non_null(strstr(r.body, "\nautotrace_test_tls_certificate_reload_errors_total 0\n"));

	/* Each scrape reads current values. */
	assert_int_equal(metrics_counter_add_labels(c, (const char *[]){ "test" }, 1), 0);
	assert_int_equal(http_fixture_request(&f, curl, "GET", "/metrics", NULL, 0, &r), CURLE_OK);
	assert_non_null(strstr(r.body, "autotrace_scrapes_seen_total{who=\"test\"} 4\n"));

	assert_int_equal(http_fixture_request(&f, curl, "POST", "/metrics", "x", 1, &r), CURLE_OK);
	assert_int_equal(r.status, 405);
	http_reply_clear(&r);
	curl_easy_cleanup(curl);
	http_fixture_stop(&f);
	metrics_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scrape_returns_the_exposition),
	};

	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
