#include "webhook/admission.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/inject.h"
#include "webhook/review.h"

static void set_detail(struct admission_outcome *o, const char *text)
{
	snprintf(o->detail, sizeof(o->detail), "%s", text);
}

/* 400 with a plain-text body. */
static int answer_bad_request(struct admission_outcome *o, const struct review_error *err)
{
	char *text = NULL;
	int n = asprintf(&text, "autotrace-webhook: %s\n", err->message);

	if (n < 0)
		return -ENOMEM;
	o->result = ADMISSION_ERROR;
	o->reason = err->reason;
	set_detail(o, err->message);
	o->http_status = 400;
	o->content_type = "text/plain";
	o->body = text;
	o->body_len = (size_t)n;
	return 0;
}

/* 200, allowed, the patch (may be NULL) and, when given, one warning. */
static int answer_allowed(struct admission_outcome *o, const char *uid, const json_t *patch,
			  const char *warning)
{
	char buf[sizeof(o->detail) + 32];
	const char *warnings[1] = { buf };
	int r;

	if (warning)
		snprintf(buf, sizeof(buf), "autotrace: %s", warning);
	r = review_response_new(uid, patch, warnings, warning ? 1 : 0, &o->body, &o->body_len);
	if (r < 0)
		return r;
	o->http_status = 200;
	o->content_type = "application/json";
	return 0;
}

/* Names the pod for the log: a controller's pod has only a generateName yet. The
 * values come from the request: cut to fit and kept to printable ASCII. */
static void describe_pod(struct admission_outcome *o, const json_t *pod, const char *ns)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *gen = json_string_value(json_object_get(meta, "generateName"));

	if (name && *name)
		snprintf(o->pod, sizeof(o->pod), "%.63s/%.253s", ns ? ns : "", name);
	else
		snprintf(o->pod, sizeof(o->pod), "%.63s/%.252s*", ns ? ns : "", gen ? gen : "");
	for (char *p = o->pod; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

int webhook_admit(const struct webhook_options *opts, const struct webhook_lookup *lookup,
		  const char *body, size_t len, struct admission_outcome *ret)
{
	struct admission_outcome o = { .result = ADMISSION_ERROR, .reason = REASON_INTERNAL };
	struct admission_request req = { 0 };
	struct review_error err;
	struct decision d = { 0 };
	json_t *patch = NULL;
	const char *warning = NULL;
	int r;

	r = review_parse(body, len, opts->max_review_bytes, &req, &err);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* With a uid and a v1 review there is someone to answer: allow, and warn. */
		if (err.uid[0] && err.reason != REASON_WRONG_KIND &&
		    err.reason != REASON_INVALID_JSON && err.reason != REASON_BODY_TOO_LARGE) {
			o.result = ADMISSION_ERROR;
			o.reason = err.reason;
			set_detail(&o, err.message);
			r = answer_allowed(&o, err.uid, NULL, err.message);
		} else {
			r = answer_bad_request(&o, &err);
		}
		goto done;
	}
	if (strcmp(req.operation, "CREATE") != 0) {
		o.result = ADMISSION_UNCHANGED;
		o.reason = REASON_NOT_CREATE;
		set_detail(&o, "only pod creation is handled");
		r = answer_allowed(&o, req.uid, NULL, NULL);
		goto done;
	}

	describe_pod(&o, req.pod, req.ns);
	decide_injection(opts, lookup, req.pod, req.ns, &d);
	o.result = d.result;
	o.reason = d.reason;
	set_detail(&o, d.detail);
	if (d.result != ADMISSION_ERROR) {
		r = build_injection_patch(opts, &d, req.pod, req.ns, &patch);
		if (r < 0) {
			o.result = ADMISSION_ERROR;
			o.reason = REASON_INTERNAL;
			snprintf(o.detail, sizeof(o.detail), "could not build the patch: %s",
				 strerror(-r));
			patch = NULL;
		}
	}
	/* Errors are admitted unchanged and said out loud; so is a skip, which someone
	 * who opted in wants to hear about (kubectl shows warnings to whoever creates the
	 * pod; the status annotation keeps it for a pod made by a controller). */
	if (o.result == ADMISSION_ERROR || o.result == ADMISSION_SKIPPED)
		warning = o.detail;
	r = answer_allowed(&o, req.uid, patch, warning);
done:
	json_decref(patch);
	decision_clear(&d);
	admission_request_clear(&req);
	if (r < 0) {
		free(o.body);
		return r;
	}
	*ret = o;
	return 0;
}

void admission_outcome_clear(struct admission_outcome *outcome)
{
	if (!outcome)
		return;
	free(outcome->body);
	outcome->body = NULL;
	outcome->body_len = 0;
}
