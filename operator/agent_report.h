/* What the operator reads of an AgentReport (CRD crds/agentreport.yaml), an object
 * that agents write: untrusted input, since any agent with the right to write reports
 * may put there whatever the schema lets through (and an older or newer schema may let
 * through more). So the informer cache keeps only what the fold reads, and every read
 * is checked: a field of the wrong type reads as absent, never as something else.
 * Pure. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OPERATOR_AGENT_REPORT_H
#define AUTOTRACE_OPERATOR_AGENT_REPORT_H

#include <jansson.h>
#include <stdint.h>

/* As many as an agent writes (agent/health_report.h): entries past them are dropped
 * from the cache, so one report cannot grow the operator's memory. */
#define AGENT_REPORT_MAX_INSTRUMENTATIONS 32

/* One report, borrowed from the object it was read from. Strings are never NULL: ""
 * stands for absent. */
struct agent_report_view {
	const char *ns, *name; /* the object's */
	int sidecar;	       /* status.mode is "sidecar" (else a node agent) */
	const char *node;
	const char *pod; /* a sidecar's pod, "<ns>/<name>" */
	int ready;
	const char *not_ready_reason;
	int64_t updated;     /* status.lastUpdateTime, unix seconds; -1 when absent or unreadable */
	int64_t heartbeat_s; /* status.heartbeatSeconds; 0 when absent */
};

/* Informer transform (ud unused): cuts `obj` in place to metadata (name, namespace,
 * resourceVersion, uid) and the status fields below, each instrumentations[] entry to
 * name, configRevision and pods, at most AGENT_REPORT_MAX_INSTRUMENTATIONS of them. */
void agent_report_trim(void *ud, json_t *obj);

/* Reads a (trimmed or whole) report. -EINVAL when `obj` has no name or namespace. */
int agent_report_view(const json_t *obj, struct agent_report_view *ret);

/* The report's entry for Instrumentation `key` ("<ns>/<name>"): its config revision
 * (borrowed, "" when none yet), its pod count and why its exports fail (borrowed, ""
 * when they do not). Each ret_ may be NULL. -ENOENT when the report has none. */
int agent_report_entry(const json_t *obj, const char *key, const char **ret_revision,
		       int64_t *ret_pods, const char **ret_export_error);

/* Calls fn for each Instrumentation key the report names (strings borrowed). */
void agent_report_foreach_key(const json_t *obj, void (*fn)(void *ud, const char *key), void *ud);

/* An RFC 3339 time as Kubernetes writes it ("2026-12-06T10:40:56Z", optionally with
 * fractional seconds or a "+hh:mm" offset) into unix seconds. -EINVAL otherwise. */
int agent_report_time_parse(const char *s, int64_t *ret_unix);

#endif
