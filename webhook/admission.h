/* One admission, bytes in, bytes out: the entry point the HTTPS handler calls for
 * each POST of an AdmissionReview. It never denies a pod: whatever happens, the answer
 * is "allowed" (with the agent, with a status annotation saying why not, or unchanged
 * with a warning), except for a request that cannot be answered at all (no uid, not
 * an AdmissionReview v1, not JSON, too large), which gets HTTP 400 and a plain-text
 * reason; the API server then applies the webhook's failurePolicy (Ignore).
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_WEBHOOK_ADMISSION_H
#define AUTOTRACE_WEBHOOK_ADMISSION_H

#include <stddef.h>

#include "webhook/decide.h"
#include "webhook/options.h"
#include "webhook/result.h"

struct admission_outcome {
	enum admission_result result; /* for autotrace_webhook_admissions_total{result,...} */
	enum admission_reason reason; /* ...{reason}: admission_reason_name(reason) */
	char detail[384];	      /* one sentence, for the daemon's log */
	/* "<ns>/<name>" of the pod, or "<ns>/<generateName>*" before it has a name; "" when
	 * the review could not be read. For the daemon's log. */
	char pod[K8S_LABEL_MAX + K8S_SUBDOMAIN_MAX + 3];
	int http_status;	      /* 200 or 400 */
	const char *content_type;     /* "application/json" or "text/plain" */
	char *body;		      /* owned: release with admission_outcome_clear */
	size_t body_len;
};

/* Judges the AdmissionReview in body[0..len). Returns 0 with *ret filled for every
 * input, good or bad; -ENOMEM only when not even an answer could be built (the HTTP
 * layer then answers 500). Thread-safe as long as lookup is. */
int webhook_admit(const struct webhook_options *opts, const struct webhook_lookup *lookup,
		  const char *body, size_t len, struct admission_outcome *ret);
void admission_outcome_clear(struct admission_outcome *outcome);

#endif
