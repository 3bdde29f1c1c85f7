/* Bad AdmissionReviews each get their own clear answer and never a crash; good ones get
 * a response the API server accepts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/support/admission_fixtures.h"
#include "webhook/admission.h"
#include "webhook/review.h"

static int no_namespace(void *ud, const char *ns, json_t **ret)
{
	return -ENOENT;
}

static int no_list(void *ud, const char *ns, json_t **ret)
{
	*ret = json_array();
	return 0;
}

static int no_get(void *ud, const char *ns, const char *name, json_t **ret)
{
	return -ENOENT;
}

static const struct webhook_lookup empty_cluster = { NULL, no_namespace, no_list, no_get };

struct bad_review {
	const char *what;
	const char *body;
	int http_status;
	enum admission_reason reason;
	const char *message_part; /* what the answer must say */
};

#define POD_REQ(extra)                                                                       \
	"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{" extra \
	"}}"
#define POD_KIND "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}"

static const struct bad_review bad[] = {
	{ "not JSON", "{\"apiVersion\":", 400, REASON_INVALID_JSON, "not JSON" },
	{ "empty body", "", 400, REASON_INVALID_JSON, "not JSON" },
	{ "a JSON array", "[1,2]", 400, REASON_WRONG_KIND, "AdmissionReview" },
	{ "v1beta1", "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\","
		     "\"request\":{\"uid\":\"u1\"}}",
	  400, REASON_WRONG_KIND, "admission.k8s.io/v1" },
	{ "wrong kind", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}", 400,
	  REASON_WRONG_KIND, "kind AdmissionReview" },
	{ "no request", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
	  400, REASON_MISSING_UID, "no request" },
	{ "no uid", POD_REQ(POD_KIND ",\"operation\":\"CREATE\""), 400, REASON_MISSING_UID,
	  "request.uid" },
	{ "empty uid", POD_REQ("\"uid\":\"\"," POD_KIND), 400, REASON_MISSING_UID, "request.uid" },
	{ "numeric uid", POD_REQ("\"uid\":7," POD_KIND), 400, REASON_MISSING_UID, "request.uid" },
	{ "duplicate keys", POD_REQ("\"uid\":\"a\",\"uid\":\"b\""), 400, REASON_INVALID_JSON,
	  "duplicate" },
	/* From here on there is a uid: allowed, with a warning. */
	{ "a Deployment",
	  POD_REQ("\"uid\":\"u2\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\","
		  "\"kind\":\"Deployment\"},\"namespace\":\"a\",\"operation\":\"CREATE\","
		  "\"object\":{\"spec\":{}}"),
	  200, REASON_NOT_A_POD, "not for a Pod" },
	{ "a pod subresource",
	  POD_REQ("\"uid\":\"u3\"," POD_KIND ",\"subResource\":\"ephemeralcontainers\","
		  "\"namespace\":\"a\",\"operation\":\"CREATE\",\"object\":{\"spec\":{}}"),
	  200, REASON_NOT_A_POD, "not for a Pod" },
	{ "no object", POD_REQ("\"uid\":\"u4\"," POD_KIND ",\"namespace\":\"a\","
			       "\"operation\":\"CREATE\""),
	  200, REASON_NOT_A_POD, "not a Pod with a spec" },
	{ "object without spec",
	  POD_REQ("\"uid\":\"u5\"," POD_KIND ",\"namespace\":\"a\",\"operation\":\"CREATE\","
		  "\"object\":{\"metadata\":{}}"),
	  200, REASON_NOT_A_POD, "not a Pod with a spec" },
	{ "metadata not an object",
	  POD_REQ("\"uid\":\"u6\"," POD_KIND ",\"namespace\":\"a\",\"operation\":\"CREATE\","
		  "\"object\":{\"metadata\":[],\"spec\":{}}"),
	  200, REASON_NOT_A_POD, "not a Pod with a spec" },
	{ "no namespace", POD_REQ("\"uid\":\"u7\"," POD_KIND ",\"operation\":\"CREATE\","
				  "\"object\":{\"spec\":{}}"),
	  200, REASON_NOT_A_POD, "namespace" },
	{ "no operation", POD_REQ("\"uid\":\"u8\"," POD_KIND ",\"namespace\":\"a\","
				  "\"object\":{\"spec\":{}}"),
	  200, REASON_NOT_A_POD, "operation" },
};

static void each_malformed_review_gets_its_own_answer(void **state)
{
	struct webhook_options opts;

	webhook_options_init(&opts, "agent:1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct admission_outcome out = { 0 };
		const char *answer;

		assert_int_equal(webhook_admit(&opts, &empty_cluster, bad[i].body,
					       strlen(bad[i].body), &out),
				 0);
		if (out.http_status != bad[i].http_status || out.reason != bad[i].reason)
			fail_msg("%s: got HTTP %d %s (%s), want %d %s", bad[i].what,
				 out.http_status, admission_reason_name(out.reason), out.detail,
				 bad[i].http_status, admission_reason_name(bad[i].reason));
		assert_int_equal(out.result, ADMISSION_ERROR);
		answer = out.body;
		if (!strstr(answer, bad[i].message_part))
			fail_msg("%s: answer \"%s\" does not say \"%s\"", bad[i].what, answer,
				 bad[i].message_part);
		if (out.http_status == 200) {
			char *uid;
			int allowed;
			json_t *patch, *warnings;

			assert_string_equal(out.content_type, "application/json");
			assert_int_equal(fixture_response_decode(out.body, out.body_len, &uid,
								 &allowed, &patch, &warnings),
					 0);
			assert_true(allowed);
			assert_int_equal(json_array_size(patch), 0);
			assert_int_equal(json_array_size(warnings), 1);
			free(uid);
			json_decref(patch);
			json_decref(warnings);
		} else {
			assert_string_equal(out.content_type, "text/plain");
		}
		admission_outcome_clear(&out);
	}
}

static void a_body_over_the_limit_is_refused_unread(void **state)
{
	struct webhook_options opts;
	struct admission_outcome out = { 0 };
	const char *body = POD_REQ("\"uid\":\"u\"");

	webhook_options_init(&opts, "agent:1");
	opts.max_review_bytes = 16;
	assert_int_equal(webhook_admit(&opts, &empty_cluster, body, strlen(body), &out), 0);
	assert_int_equal(out.http_status, 400);
	assert_int_equal(out.reason, REASON_BODY_TOO_LARGE);
	assert_non_null(strstr(out.body, "limit"));
	admission_outcome_clear(&out);
}

static void other_operations_pass_unchanged(void **state)
{
	struct webhook_options opts;
	struct admission_outcome out = { 0 };
	const char *body = POD_REQ("\"uid\":\"u-upd\"," POD_KIND ",\"namespace\":\"a\","
				   "\"operation\":\"DELETE\",\"object\":null");

	webhook_options_init(&opts, "agent:1");
	assert_int_equal(webhook_admit(&opts, &empty_cluster, body, strlen(body), &out), 0);
	assert_int_equal(out.http_status, 200);
	assert_int_equal(out.result, ADMISSION_UNCHANGED);
	assert_int_equal(out.reason, REASON_NOT_CREATE);
	admission_outcome_clear(&out);
}

static void a_response_echoes_the_uid_and_carries_the_patch(void **state)
{
	json_t *patch = json_pack("[{s:s, s:s, s:b}]", "op", "add", "path",
				  "/spec/shareProcessNamespace", "value", 1);
	const char *warnings[] = { "first\nline", "second" };
	char *body, *uid;
	size_t len;
	int allowed;
	json_t *got, *got_warnings, *review;

	assert_int_equal(review_response_new("uid-1", patch, warnings, 2, &body, &len), 0);
	assert_int_equal(strlen(body), len);
	review = json_loads(body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(review, "apiVersion")),
			    "admission.k8s.io/v1");
	assert_string_equal(json_string_value(json_object_get(review, "kind")),
			    "AdmissionReview");
	json_decref(review);
	assert_int_equal(fixture_response_decode(body, len, &uid, &allowed, &got, &got_warnings),
			 0);
	assert_string_equal(uid, "uid-1");
	assert_true(allowed);
	assert_true(json_equal(got, patch));
	/* Control characters never reach the API server's warning header. */
	assert_string_equal(json_string_value(json_array_get(got_warnings, 0)), "first?line");
	free(uid);
	free(body);
	json_decref(got);
	json_decref(got_warnings);

	/* No operations: no patch and no patchType. */
	json_array_clear(patch);
	assert_int_equal(review_response_new("uid-2", patch, NULL, 0, &body, &len), 0);
	assert_null(strstr(body, "patch"));
	assert_null(strstr(body, "warnings"));
	free(body);
	json_decref(patch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_malformed_review_gets_its_own_answer),
		cmocka_unit_test(a_body_over_the_limit_is_refused_unread),
		cmocka_unit_test(other_operations_pass_unchanged),
		cmocka_unit_test(a_response_echoes_the_uid_and_carries_the_patch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
