/* The health report an agent writes to the API server: the status of its one
 * AgentReport object (agent/README.md says why that kind, and what it costs the API
 * server at 5,000 nodes), built from the agent's counters, and the rule that says when
 * to write it: when what it says changed, at most every min_interval seconds, and at
 * least every heartbeat seconds so that the operator can tell a silent agent from a
 * quiet one.
 *
 * Pure: the caller passes the counters and the time, nothing is read or written here,
 * so one unit test covers every field. Counters (spans, requests) are carried along on
 * each write but do not make one on their own: they change on every request, and
 * /metrics has them exactly. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_HEALTH_REPORT_H
#define AUTOTRACE_AGENT_HEALTH_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/tracer.h"
#include "lib/otlp/exporter.h"

/* Bounds that keep a report a few KiB whatever happens on the node (the object is
 * written often and watched by the operator): entries past them are counted in
 * "...Omitted", free text is cut at a character boundary. */
#define HEALTH_REPORT_MAX_FAILURES	  16
#define HEALTH_REPORT_MAX_INSTRUMENTATIONS 32
#define HEALTH_REPORT_TEXT_MAX		  256

enum health_mode {
	HEALTH_MODE_NODE,    /* one agent per node: the report is named after the node */
	HEALTH_MODE_SIDECAR, /* an agent in a pod: named after the pod */
};

/* A process or pod the agent could not instrument, and why. */
struct health_failure {
	const char *pod;       /* "<ns>/<name>"; NULL when not a pod's */
	const char *container; /* may be NULL */
	const char *reason;    /* one word, CamelCase: "NotAGoBinary", "AttachDenied" */
	const char *message;   /* free text; cut to HEALTH_REPORT_TEXT_MAX */
};

/* One Instrumentation whose pods this agent serves (a sidecar: exactly one). */
struct health_instrumentation {
	const char *name;            /* "<ns>/<name>" */
	const char *config_revision; /* applied; NULL or "" when none yet */
	uint64_t pods, processes;    /* instrumented now */
	const struct otlp_exporter_stats *export; /* its exporter's; NULL: none yet */
	const char *last_export_error;  /* NULL: none since its last success */
	int64_t last_export_error_time; /* unix seconds */
};

/* Everything a report says; borrowed for the call. */
struct health_input {
	enum health_mode mode;
	const char *node;  /* the node's name */
	const char *pod;   /* sidecar: "<ns>/<name>" of the agent's pod; NULL for a node agent */
	const char *agent_version;
	bool ready;
	const char *not_ready_reason; /* when !ready: why, one word */
	uint64_t pods_instrumented;
	const struct tracer_stats *tracer; /* NULL: probes not loaded yet */
	const struct health_failure *failures;
	size_t n_failures;
	const struct health_instrumentation *instrumentations;
	size_t n_instrumentations;
};

/* The report as a new JSON object (json_decref; the caller owns it), stamped with
 * lastUpdateTime `now` (unix seconds): 0, -EINVAL (no node name, or a mode without
 * its pod), -ENOMEM. */
int health_report_build(const struct health_input *in, int64_t now, json_t **ret_report);

struct health_pacing {
	uint32_t min_interval_s; /* 0: 15 */
	uint32_t heartbeat_s;	 /* 0: 60 */
};

enum health_write {
	HEALTH_WRITE_NOT_DUE,
	HEALTH_WRITE_FIRST,     /* nothing written yet */
	HEALTH_WRITE_CHANGED,   /* what it says changed (counters aside) */
	HEALTH_WRITE_HEARTBEAT, /* unchanged, but the last write is heartbeat_s old */
};

/* Whether to write `next` at `now`, given the report last written (NULL: none) at
 * `written_at`; both times in seconds on a clock that never goes back
 * (CLOCK_MONOTONIC), so a wall-clock step neither silences nor floods the writes.
 * When not due, *ret_recheck_at (may be NULL) is the earliest time the answer can
 * change for this `next`. A change that cannot be compared (no memory) counts as one. */
enum health_write health_report_due(const json_t *written, int64_t written_at, const json_t *next,
				    int64_t now, const struct health_pacing *pacing,
				    int64_t *ret_recheck_at);

#endif
