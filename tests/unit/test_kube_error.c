#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "lib/kube/error.h"

static void status_body_gives_reason_message_and_errno(void **state)
{
	const char *body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
			   "\"message\":\"configmaps \\\"x\\\" not found\",\"reason\":\"NotFound\","
			   "\"code\":404}";
	struct kube_error err;
	char buf[256];

	assert_int_equal(kube_error_from_http(&err, 404, body, strlen(body)), -ENOENT);
	assert_int_equal(err.kind, KUBE_ERR_API);
	assert_int_equal(err.http_code, 404);
	assert_string_equal(err.reason, "NotFound");
	assert_string_equal(err.message, "configmaps \"x\" not found");
	assert_string_equal(kube_error_format(&err, buf, sizeof(buf)),
			    "HTTP 404 NotFound: configmaps \"x\" not found");
}

static void conflict_and_already_exists_are_told_apart(void **state)
{
	const char *exists = "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"code\":409}";
	const char *conflict = "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"code\":409}";
	struct kube_error err;

	assert_int_equal(kube_error_from_http(&err, 409, exists, strlen(exists)), -EEXIST);
	assert_int_equal(kube_error_from_http(&err, 409, conflict, strlen(conflict)), -EBUSY);
	assert_string_equal(err.reason, "Conflict");
}

static void codes_map_to_errnos(void **state)
{
	static const struct { long code; int rc; const char *reason; } cases[] = {
		{ 400, -EINVAL, "BadRequest" }, { 401, -EACCES, "Unauthorized" },
		{ 403, -EACCES, "Forbidden" },  { 410, -ESTALE, "Gone" },
		{ 422, -EINVAL, "Invalid" },    { 429, -EAGAIN, "TooManyRequests" },
		{ 500, -EAGAIN, "InternalError" }, { 503, -EAGAIN, "ServiceUnavailable" },
		{ 418, -EIO, "Unknown" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_error err;
		/* No body: the reason Kubernetes uses for the code. */
		assert_int_equal(kube_error_from_http(&err, cases[i].code, NULL, 0), cases[i].rc);
		assert_string_equal(err.reason, cases[i].reason);
	}
}

static void a_body_that_is_not_a_status_is_kept_printable(void **state)
{
	const char body[] = "<html>\x01 bad gateway</html>";
	struct kube_error err;

	assert_int_equal(kube_error_from_http(&err, 502, body, sizeof(body) - 1), -EAGAIN);
	assert_string_equal(err.message, "<html>  bad gateway</html>");
	assert_string_equal(err.reason, "Unknown");
	/* A JSON object that is not a Status is not read as one. */
	const char *other = "{\"kind\":\"Pod\",\"reason\":\"Evil\"}";
	assert_int_equal(kube_error_from_http(&err, 500, other, strlen(other)), -EAGAIN);
	assert_string_equal(err.reason, "InternalError");
}

static void transport_errors_keep_their_kind(void **state)
{
	struct kube_error err;
	char buf[256];

	assert_int_equal(kube_error_set(&err, KUBE_ERR_TIMEOUT, -ETIMEDOUT, "after %d ms", 5000),
			 -ETIMEDOUT);
	assert_string_equal(kube_error_format(&err, buf, sizeof(buf)), "timeout: after 5000 ms");
	/* A NULL error is allowed everywhere. */
	assert_int_equal(kube_error_from_http(NULL, 404, NULL, 0), -ENOENT);
	assert_int_equal(kube_error_set(NULL, KUBE_ERR_TLS, -EPROTO, "x"), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_body_gives_reason_message_and_errno),
		cmocka_unit_test(conflict_and_already_exists_are_told_apart),
		cmocka_unit_test(codes_map_to_errnos),
		cmocka_unit_test(a_body_that_is_not_a_status_is_kept_printable),
		cmocka_unit_test(transport_errors_keep_their_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
