#include "webhook/review.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/instrumentation/naming.h"
#include "lib/text/base64.h"

static int refuse(struct review_error *err, enum admission_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct review_error *err, enum admission_reason reason, const char *fmt, ...)
{
	va_list ap;

	err->reason = reason;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return reason == REASON_BODY_TOO_LARGE ? -E2BIG : -EINVAL;
}

static int is_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int review_parse(const char *body, size_t len, size_t max_bytes, struct admission_request *ret,
		 struct review_error *err)
{
	struct admission_request req = { 0 };
	const json_t *request, *kind, *object, *sub;
	const char *s;
	json_error_t jerr;
	int r;

	memset(err, 0, sizeof(*err));
	if (len > max_bytes)
		return refuse(err, REASON_BODY_TOO_LARGE,
			      "AdmissionReview of %zu bytes is over the %zu-byte limit", len,
			      max_bytes);
	req.review = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req.review)
		return refuse(err, REASON_INVALID_JSON, "not JSON: line %d column %d: %.120s",
			      jerr.line, jerr.column, jerr.text);

	request = json_object_get(req.review, "request");
	s = json_string_value(json_object_get(request, "uid"));
	if (s && s[0] && strlen(s) <= REVIEW_MAX_UID && is_printable(s))
		snprintf(err->uid, sizeof(err->uid), "%s", s);

	if (!json_is_object(req.review) ||
	    !json_is_string(json_object_get(req.review, "apiVersion")) ||
	    strcmp(json_string_value(json_object_get(req.review, "apiVersion")),
		   REVIEW_API_VERSION) != 0 ||
	    !json_is_string(json_object_get(req.review, "kind")) ||
	    strcmp(json_string_value(json_object_get(req.review, "kind")), REVIEW_KIND) != 0) {
		r = refuse(err, REASON_WRONG_KIND,
			   "want apiVersion " REVIEW_API_VERSION " and kind " REVIEW_KIND);
		goto fail;
	}
	if (!json_is_object(request)) {
		r = refuse(err, REASON_MISSING_UID, "AdmissionReview has no request");
		goto fail;
	}
	if (!err->uid[0]) {
		r = refuse(err, REASON_MISSING_UID,
			   "request.uid is missing, empty, not printable or over %d characters",
			   REVIEW_MAX_UID);
		goto fail;
	}
	req.uid = json_string_value(json_object_get(request, "uid"));

	kind = json_object_get(request, "kind");
	sub = json_object_get(request, "subResource");
	if (!json_is_object(kind) ||
	    !json_is_string(json_object_get(kind, "kind")) ||
	    strcmp(json_string_value(json_object_get(kind, "kind")), "Pod") != 0 ||
	    (json_object_get(kind, "group") &&
	     !(json_is_string(json_object_get(kind, "group")) &&
	       json_string_length(json_object_get(kind, "group")) == 0)) ||
	    (sub && !(json_is_string(sub) && json_string_length(sub) == 0))) {
		r = refuse(err, REASON_NOT_A_POD, "request is not for a Pod");
		goto fail;
	}
	req.operation = json_string_value(json_object_get(request, "operation"));
	if (!req.operation) {
		r = refuse(err, REASON_NOT_A_POD, "request.operation is missing");
		goto fail;
	}
	req.ns = json_string_value(json_object_get(request, "namespace"));
	if (!req.ns || !k8s_is_dns1123_label(req.ns)) {
		r = refuse(err, REASON_NOT_A_POD, "request.namespace is missing or not a name");
		goto fail;
	}
	object = json_object_get(request, "object");
	if (strcmp(req.operation, "CREATE") == 0 &&
	    (!json_is_object(object) || !json_is_object(json_object_get(object, "spec")) ||
	     (json_object_get(object, "metadata") &&
	      !json_is_object(json_object_get(object, "metadata"))))) {
		r = refuse(err, REASON_NOT_A_POD, "request.object is not a Pod with a spec");
		goto fail;
	}
	req.pod = object;
	*ret = req;
	return 0;
fail:
	json_decref(req.review);
	return r;
}

void admission_request_clear(struct admission_request *req)
{
	if (!req)
		return;
	json_decref(req->review);
	memset(req, 0, sizeof(*req));
}

/* A new base64 string of the compact patch, or NULL when out of memory. */
static char *patch_base64_new(const json_t *patch)
{
	char *text = json_dumps(patch, JSON_COMPACT), *out = NULL;

	if (!text)
		return NULL;
	if (base64_encode(text, strlen(text), &out) < 0)
		out = NULL;
	free(text);
	return out;
}

static json_t *warning_new(const char *text)
{
	char buf[REVIEW_MAX_WARNING + 1];

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return json_string(buf);
}

int review_response_new(const char *uid, const json_t *patch, const char *const *warnings,
			size_t n_warnings, char **ret_body, size_t *ret_len)
{
	json_t *review, *response, *list = NULL;
	char *b64 = NULL, *text = NULL;
	int r = -ENOMEM;

	review = json_pack("{s:s, s:s, s:{s:s, s:b}}", "apiVersion", REVIEW_API_VERSION, "kind",
			   REVIEW_KIND, "response", "uid", uid, "allowed", 1);
	if (!review)
		return -ENOMEM;
	response = json_object_get(review, "response");
	if (json_array_size(patch) > 0) {
		b64 = patch_base64_new(patch);
		if (!b64 || json_object_set_new(response, "patchType", json_string("JSONPatch")) ||
		    json_object_set_new(response, "patch", json_string(b64)))
			goto cleanup;
	}
	if (n_warnings > REVIEW_MAX_WARNINGS)
		n_warnings = REVIEW_MAX_WARNINGS;
	if (n_warnings > 0) {
		list = json_array();
		if (!list)
			goto cleanup;
		for (size_t i = 0; i < n_warnings; i++)
			if (json_array_append_new(list, warning_new(warnings[i])) < 0)
				goto cleanup;
		if (json_object_set_new(response, "warnings", list) < 0) {
			list = NULL;
			goto cleanup;
		}
		list = NULL;
	}
	text = json_dumps(review, JSON_COMPACT);
	if (!text)
		goto cleanup;
	*ret_len = strlen(text);
	*ret_body = text;
	r = 0;
cleanup:
	json_decref(list);
	json_decref(review);
	free(b64);
	return r;
}
