/* Which Instrumentation, if any, a pod asks for: the opt-in annotations on the pod and
 * on its namespace, and the one precedence rule between them. Pure: no lookups, so the
 * operator (which namespaces use which Instrumentation) and the webhook agree.
 *
 * Values of autotrace.dev/inject (and of the OpenTelemetry Operator's
 * instrumentation.opentelemetry.io/inject-go, read the same way):
 *   "true"        the single Instrumentation in the pod's namespace
 *   "<name>"      Instrumentation <name> in the pod's namespace
 *   "<ns>/<name>" Instrumentation <name> in namespace <ns>
 *   "false"       no injection
 * "true"/"false" are matched without regard to case; an empty value counts as unset.
 *
 * The precedence rule, in one sentence: the pod's own value, when it has one, decides
 * alone; otherwise its namespace's value decides; on either object autotrace.dev/inject
 * is read before instrumentation.opentelemetry.io/inject-go. So "false" on the pod always
 * opts out, "true" on the pod always means the single Instrumentation of the pod's
 * namespace (never the one its namespace names), and a value that cannot be read is
 * reported as such rather than passed over. Table (pod value down, namespace across):
 *
 *              | unset    | "false"  | "true"   | "b"      | "ns2/c"
 *   unset      | none     | none     | single   | b        | ns2/c
 *   "false"    | none     | none     | none     | none     | none
 *   "true"     | single   | single   | single   | single   | single
 *   "a"        | a        | a        | a        | a        | a
 *   "ns1/a"    | ns1/a    | ns1/a    | ns1/a    | ns1/a    | ns1/a
 */
#ifndef AUTOTRACE_INSTRUMENTATION_OPTIN_H
#define AUTOTRACE_INSTRUMENTATION_OPTIN_H

#include <jansson.h>

#include "lib/instrumentation/naming.h"

#define ANNOTATION_INJECT		"autotrace.dev/inject"
#define ANNOTATION_OTEL_INJECT_GO	"instrumentation.opentelemetry.io/inject-go"
#define ANNOTATION_OTEL_TARGET_EXE	"instrumentation.opentelemetry.io/otel-go-auto-target-exe"
#define ANNOTATION_OTEL_CONTAINER_NAMES "instrumentation.opentelemetry.io/container-names"

/* The namespace label the operator keeps equal to "true" on every namespace whose
 * annotations opt its pods in (optin_namespace_enabled), and removes from every other:
 * a webhook's namespaceSelector reads labels, never annotations, so this label is what
 * lets the webhook registration leave the pods of the other namespaces alone. Owned by
 * the operator: a value set by hand is put back. */
#define LABEL_INJECT_ENABLED "autotrace.dev/inject-enabled"

enum optin_kind {
	OPTIN_UNSET,	 /* no opt-in on pod nor namespace */
	OPTIN_FALSE,	 /* opted out */
	OPTIN_SINGLE,	 /* "true": the only Instrumentation in the pod's namespace */
	OPTIN_NAMED,	 /* "<name>" or "<ns>/<name>": ns and name are set */
	OPTIN_INVALID,	 /* a value that is none of the above */
};

enum optin_source {
	OPTIN_FROM_NONE,
	OPTIN_FROM_POD,
	OPTIN_FROM_POD_OTEL,
	OPTIN_FROM_NAMESPACE,
	OPTIN_FROM_NAMESPACE_OTEL,
};

struct optin {
	enum optin_kind kind;
	enum optin_source source;
	char ns[K8S_LABEL_MAX + 1]; /* OPTIN_NAMED: the Instrumentation's namespace */
	char name[K8S_SUBDOMAIN_MAX + 1];
	char value[128];	    /* the value read, cut to fit (for messages) */
};

/* Reads one annotation value; pod_ns fills in the namespace of "<name>". NULL or ""
 * gives OPTIN_UNSET. */
void optin_parse_value(const char *value, const char *pod_ns, struct optin *ret);

/* Applies the precedence rule above. Either annotations object may be NULL. */
void optin_decide(const json_t *pod_annotations, const json_t *ns_annotations,
		  const char *pod_ns, struct optin *ret);

/* The same rule with the pod's two values already read (NULL or "" when unset), for a
 * caller that keeps only those of a pod. */
void optin_decide_values(const char *pod_inject, const char *pod_inject_otel,
			 const json_t *ns_annotations, const char *pod_ns, struct optin *ret);

/* 1 when the annotations of Namespace `ns` opt its pods in: what optin_decide() gives
 * a pod without annotations of its own there is anything but "none" or "false" (an
 * unreadable value counts as opting in, so that the webhook sees the pods and says
 * why it cannot inject them). 0 otherwise, also for NULL. */
int optin_namespace_enabled(const json_t *ns);

/* "pod annotation autotrace.dev/inject", ... for messages. */
const char *optin_source_name(enum optin_source source);

/* Cuts a cached Namespace down to what opt-in reads: metadata name,
 * resourceVersion, the autotrace.dev/ and instrumentation.opentelemetry.io/
 * annotations (none at all when it has none of them) and the label
 * LABEL_INJECT_ENABLED (no labels at all without it). An informer transform: a cluster's namespaces then cost a few hundred
 * bytes each instead of kilobytes. */
void optin_trim_namespace(json_t *ns);

/* What the rule reads of a Namespace, packed for a cache of thousands: the values of
 * autotrace.dev/inject and instrumentation.opentelemetry.io/inject-go as one string,
 * "<length of the first>:<first><second>" (a cached namespace then costs ~180 bytes,
 * ~500 with the annotations as an object: bench_webhook_rss). New reference; NULL when
 * the namespace sets neither (nothing worth keeping) or out of memory. */
json_t *optin_namespace_pack(const json_t *ns);
/* The annotations object optin_decide() reads, back from a packed string (an empty one
 * for anything that is not such a string). New reference; NULL when out of memory. */
json_t *optin_namespace_unpack(const json_t *packed);

#endif
