/* The admission.k8s.io/v1 AdmissionReview on the wire: reading a request out of bytes a
 * peer sent (bounded, checked, never trusted) and writing the response the API server
 * expects (the request's uid, allowed, a base64 JSONPatch, warnings).
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_WEBHOOK_REVIEW_H
#define AUTOTRACE_WEBHOOK_REVIEW_H

#include <stddef.h>
#include <jansson.h>

#include "webhook/result.h"

#define REVIEW_API_VERSION "admission.k8s.io/v1"
#define REVIEW_KIND	   "AdmissionReview"
#define REVIEW_MAX_UID	   128
/* Warnings the API server passes on are best kept short (it may cut longer ones). */
#define REVIEW_MAX_WARNING 256
#define REVIEW_MAX_WARNINGS 4

struct admission_request {
	json_t *review;	       /* owned: the whole review; the pointers below borrow */
	const char *uid;
	const char *operation; /* CREATE, UPDATE, ... */
	const char *ns;	       /* the request's namespace */
	const json_t *pod;     /* request.object; a Pod with a spec when operation is CREATE */
};

struct review_error {
	enum admission_reason reason; /* body_too_large, invalid_json, wrong_kind,
				       * missing_uid, not_a_pod */
	char message[256];	      /* what was wrong, for the caller to log or return */
	char uid[REVIEW_MAX_UID + 1]; /* the request's uid if it could be read, else "" */
};

/* Reads an AdmissionReview of len bytes (at most max_bytes). On success *ret owns the
 * parsed review (release with admission_request_clear). On -EINVAL (-E2BIG for a body
 * over max_bytes) *err says why, and carries the uid when there was one so that the
 * caller can still answer "allowed". */
int review_parse(const char *body, size_t len, size_t max_bytes, struct admission_request *ret,
		 struct review_error *err);
void admission_request_clear(struct admission_request *req);

/* A new AdmissionReview response (caller frees *ret_body, NUL-terminated, *ret_len
 * bytes): allowed, the uid echoed, patchType JSONPatch and the patch in base64 when
 * patch is a non-empty array, and up to REVIEW_MAX_WARNINGS warnings (made printable
 * and cut to REVIEW_MAX_WARNING characters). */
int review_response_new(const char *uid, const json_t *patch, const char *const *warnings,
			size_t n_warnings, char **ret_body, size_t *ret_len);

#endif
