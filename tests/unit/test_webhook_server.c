/* The daemon's routes on a real HTTP server whose caches cannot list (the API server
 * is out of reach, as when the webhook starts before it or before the CRD): an
 * opted-in pod is admitted unchanged with a warning, a malformed review gets a 400,
 * /readyz says what it waits for, and /metrics counts every admission. The caches'
 * happy path runs against a real API server in itest_webhook_admission. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <event2/thread.h>

#include "lib/kube/client.h"
#include "lib/kube/config.h"
#include "lib/metrics/registry.h"
#include "tests/support/admission_fixtures.h"
#include "tests/support/http_fixture.h"
#include "webhook/cache.h"
#include "webhook/server.h"

struct rig {
	struct http_fixture f;
	struct kube_client *client;
	struct webhook_cache *cache;
	struct metrics_registry *metrics;
	struct webhook_server *routes;
	struct webhook_options options;
	struct http_server *metrics_http; /* the plain server, on the same loop as main.c has */
	struct http_fixture metrics_client; /* only its port: for http_fixture_request() */
	CURL *curl;
};

/* An API server address where nothing listens: lists fail at once, and retry. */
static struct kube_config *unreachable_config(void)
{
	struct kube_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	cfg->server = strdup("https://127.0.0.1:1");
	cfg->namespace = strdup("default");
	assert_non_null(cfg->server);
	return cfg;
}

static int rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	webhook_options_init(&r->options, "registry.invalid/autotrace-agent:test");
	assert_int_equal(kube_client_new(unreachable_config(), NULL, &r->client, NULL), 0);
	assert_int_equal(http_fixture_init(&r->f, &(struct http_server_opts){ .listen =
										       "127.0.0.1:0" }),
			 0);
	assert_int_equal(webhook_cache_new(r->client, r->f.base, NULL, &r->cache), 0);
	assert_int_equal(metrics_registry_new(&r->metrics), 0);
	assert_int_equal(webhook_server_new(&(struct webhook_server_opts){ .options = &r->options,
									   .cache = r->cache,
									   .metrics = r->metrics },
					    &r->routes),
			 0);
	assert_int_equal(webhook_server_mount_admission(r->routes, r->f.server), 0);
	assert_int_equal(webhook_server_mount_metrics(r->routes, r->f.server), -EEXIST);
	assert_int_equal(http_server_new(r->f.base, &(struct http_server_opts){ .listen =
											 "127.0.0.1:0" },
					 &r->metrics_http),
			 0);
	assert_int_equal(webhook_server_mount_metrics(r->routes, r->metrics_http), 0);
	r->metrics_client.port = http_server_port(r->metrics_http);
	assert_int_equal(webhook_cache_start(r->cache), 0);
	assert_int_equal(http_fixture_start(&r->f), 0);
	r->curl = curl_easy_init();
	*state = r;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *r = *state;

	/* Stop the loop's thread before freeing what runs on it. */
	event_base_loopbreak(r->f.base);
	pthread_join(r->f.thread, NULL);
	r->f.running = false;
	http_server_free(r->metrics_http);
	webhook_cache_free(r->cache);
	http_fixture_stop(&r->f);
	webhook_server_free(r->routes);
	metrics_registry_free(r->metrics);
	kube_client_free(r->client);
	curl_easy_cleanup(r->curl);
	free(r);
	return 0;
}

static void post_review(struct rig *r, const char *pod_file, const char *ns,
			struct http_reply *reply)
{
	json_t *pod = fixture_json_load(pod_file);
	char *review;

	assert_non_null(pod);
	review = fixture_review_new(pod, ns, "0b5e3c1d-0000-4000-8000-000000000001", "CREATE");
	assert_non_null(review);
	assert_int_equal(http_fixture_request(&r->f, r->curl, "POST", WEBHOOK_MUTATE_PATH, review,
					      strlen(review), reply),
			 CURLE_OK);
	free(review);
	json_decref(pod);
}

static void an_opted_in_pod_is_admitted_unchanged_with_a_warning(void **state)
{
	struct rig *r = *state;
	struct http_reply reply = { 0 };
	json_t *patch = NULL, *warnings = NULL;
	char *uid = NULL;
	int allowed = 0;

	/* Opted in by its own annotation: the namespace cache is not even needed to know
	 * that, but the Instrumentation cache is, and it has not listed. */
	post_review(r, "tests/fixtures/webhook/pods/not-found-pod.json", "shop", &reply);
	assert_int_equal(reply.status, 200);
	assert_string_equal(reply.content_type, "application/json");
	assert_int_equal(fixture_response_decode(reply.body, reply.len, &uid, &allowed, &patch,
						 &warnings),
			 0);
	assert_string_equal(uid, "0b5e3c1d-0000-4000-8000-000000000001");
	assert_true(allowed);
	assert_int_equal(json_array_size(patch), 0);
	assert_int_equal(json_array_size(warnings), 1);
	free(uid);
	json_decref(patch);
	json_decref(warnings);
	http_reply_clear(&reply);
}

static void a_malformed_review_gets_a_400(void **state)
{
	struct rig *r = *state;
	struct http_reply reply = { 0 };

	assert_int_equal(http_fixture_request(&r->f, r->curl, "POST", WEBHOOK_MUTATE_PATH, "{]",
					      2, &reply),
			 CURLE_OK);
	assert_int_equal(reply.status, 400);
	http_reply_clear(&reply);
}

static void readyz_says_which_cache_has_not_listed(void **state)
{
	struct rig *r = *state;
	struct http_reply reply = { 0 };

	assert_int_equal(http_fixture_request(&r->f, r->curl, "GET", "/healthz", NULL, 0, &reply),
			 CURLE_OK);
	assert_int_equal(reply.status, 200);
	assert_int_equal(http_fixture_request(&r->f, r->curl, "GET", "/readyz", NULL, 0, &reply),
			 CURLE_OK);
	assert_int_equal(reply.status, 503);
	assert_non_null(strstr(reply.body, "namespaces: not listed yet"));
	assert_non_null(strstr(reply.body, "instrumentations: not listed yet (is the CRD"));
	http_reply_clear(&reply);
}

static void metrics_count_each_admission(void **state)
{
	struct rig *r = *state;
	struct http_reply reply = { 0 };

	post_review(r, "tests/fixtures/webhook/pods/not-found-pod.json", "shop", &reply);
	assert_int_equal(http_fixture_request(&r->f, r->curl, "POST", WEBHOOK_MUTATE_PATH, "x", 1,
					      &reply),
			 CURLE_OK);
	assert_int_equal(http_fixture_request(&r->metrics_client, r->curl, "GET", "/metrics", NULL, 0, &reply),
			 CURLE_OK);
	assert_int_equal(reply.status, 200);
	/* One from the first test, one here; one malformed in each of two tests. */
	assert_non_null(strstr(reply.body, "autotrace_webhook_admissions_total{result=\"error\","
					   "reason=\"lookup_failed\"} 2\n"));
	assert_non_null(strstr(reply.body, "autotrace_webhook_admissions_total{result=\"error\","
					   "reason=\"invalid_json\"} 2\n"));
	assert_non_null(strstr(reply.body, "autotrace_webhook_admission_duration_seconds_count 4\n"));
	assert_non_null(strstr(reply.body,
			       "autotrace_webhook_informer_synced{resource=\"namespaces\"} 0\n"));
	assert_non_null(strstr(
		reply.body, "autotrace_webhook_informer_synced{resource=\"instrumentations\"} 0\n"));
	assert_non_null(strstr(reply.body, "autotrace_webhook_informer_lists_total{resource="
					   "\"instrumentations\"} 0\n"));
	http_reply_clear(&reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_opted_in_pod_is_admitted_unchanged_with_a_warning),
		cmocka_unit_test(a_malformed_review_gets_a_400),
		cmocka_unit_test(readyz_says_which_cache_has_not_listed),
		cmocka_unit_test(metrics_count_each_admission),
	};

	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, rig_setup, rig_teardown);
}
