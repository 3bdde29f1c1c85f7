/* The label LABEL_INJECT_ENABLED (lib/instrumentation/optin.h) that mirrors a
 * namespace's opt-in annotation, as the webhook registration's namespaceSelector
 * reads it: which change a cached Namespace needs, and the patch that makes it. Pure:
 * no API calls (operator/controller_namespace_labels.c writes). */
#ifndef AUTOTRACE_OPERATOR_NAMESPACE_LABEL_H
#define AUTOTRACE_OPERATOR_NAMESPACE_LABEL_H

#include <jansson.h>

enum namespace_label_change {
	NAMESPACE_LABEL_KEEP,	/* the label already says what the annotations say */
	NAMESPACE_LABEL_SET,	/* opted in, and the label is missing or not "true" */
	NAMESPACE_LABEL_REMOVE, /* not opted in, and the label is there (any value) */
};

/* What Namespace `ns` (whole, or trimmed by optin_trim_namespace) needs. */
enum namespace_label_change namespace_label_change(const json_t *ns);

/* The label's value once `change` is made: "true", or NULL (absent). */
const char *namespace_label_value(enum namespace_label_change change);

/* The JSON merge patch that makes `change` and touches no other label:
 * {"metadata":{"labels":{LABEL_INJECT_ENABLED: "true" | null}}}. New reference;
 * NULL for NAMESPACE_LABEL_KEEP or when out of memory. */
json_t *namespace_label_patch_new(enum namespace_label_change change);

#endif
