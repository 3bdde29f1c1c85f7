/* Test helpers for the webhook: a lookup backed by a cluster fixture file (namespaces
 * and Instrumentations as the informers would hold them), AdmissionReviews built around
 * fixture pods, and responses decoded back into their uid and JSONPatch. */
#ifndef AUTOTRACE_TESTS_ADMISSION_FIXTURES_H
#define AUTOTRACE_TESTS_ADMISSION_FIXTURES_H

#include <stddef.h>
#include <jansson.h>

#include "webhook/decide.h"

/* A new reference to the JSON in path, or NULL (with the reason on stderr). */
json_t *fixture_json_load(const char *path);

/* The cluster fixture: {"namespaces": {"<ns>": {"annotations": {...}}},
 *                       "instrumentations": [<Instrumentation>, ...]}.
 * calls counts the lookups made, to check that nothing is looked up per admission
 * beyond what the decision needs. */
struct fixture_cluster {
	json_t *root;
	unsigned calls;
	int fail_with; /* when non-zero, every lookup returns this (a negative errno) */
};

/* Fills lookup with functions that read cluster (borrowed). */
void fixture_cluster_lookup(struct fixture_cluster *cluster, struct webhook_lookup *lookup);

/* A new AdmissionReview text (caller frees) for pod in ns, with uid and operation. */
char *fixture_review_new(const json_t *pod, const char *ns, const char *uid,
			 const char *operation);

/* Reads an AdmissionReview response: *ret_uid (a new string, caller frees), *ret_allowed,
 * *ret_patch (a new reference to the decoded JSONPatch array, an empty array when the
 * response has none) and *ret_warnings (a new reference, an array). 0 or -EINVAL. */
int fixture_response_decode(const char *body, size_t len, char **ret_uid, int *ret_allowed,
			    json_t **ret_patch, json_t **ret_warnings);

#endif
