/* What the operator keeps of an injected pod: a few flags and the opt-in annotations,
 * packed into one JSON string of about a hundred bytes. A trimmed pod as a jansson tree
 * costs ~4 KiB (six objects with their hash tables); at 10,000 pods the difference is
 * most of the operator's memory. The informer caches the packed form
 * (kube_informer_opts.summarize) and hands it to the event handlers. Pure. */
#ifndef AUTOTRACE_OPERATOR_POD_SUMMARY_H
#define AUTOTRACE_OPERATOR_POD_SUMMARY_H

#include <jansson.h>

/* An unpacked summary. The strings are borrowed from the packed value and never
 * NULL: "" stands for an absent annotation (opt-in reads the two alike). */
struct pod_summary {
	unsigned injected : 1;	  /* label autotrace.dev/injected is "true" */
	unsigned running : 1;	  /* not Succeeded/Failed, not being deleted */
	unsigned agent_ready : 1; /* the agent container's status says ready */
	unsigned sidecar : 1;	  /* the pod has the agent container (sidecar mode) */
	const char *ns;
	const char *recorded; /* autotrace.dev/instrumentation, set by the webhook */
	const char *inject;   /* autotrace.dev/inject */
	const char *inject_otel; /* instrumentation.opentelemetry.io/inject-go */
};

/* The packed summary of a pod as the API server sends it. New reference; NULL when out
 * of memory or `pod` has no namespace. Annotation values too long to be a valid opt-in
 * are cut (they stay invalid); a non-string value is kept as an invalid one. */
json_t *pod_summary_pack(const json_t *pod);

/* Reads a packed summary. 0, or -EINVAL when `packed` is not one. */
int pod_summary_unpack(const json_t *packed, struct pod_summary *ret);

#endif
