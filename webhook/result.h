/* What one admission came to, in the words the webhook's metric uses:
 * autotrace_webhook_admissions_total{result, reason}. Both sets are fixed, so the
 * metric's cardinality is bounded; the human detail goes into warnings and the pod's
 * autotrace.dev/status annotation instead. */
#ifndef AUTOTRACE_WEBHOOK_RESULT_H
#define AUTOTRACE_WEBHOOK_RESULT_H

enum admission_result {
	ADMISSION_INJECTED,  /* the pod opted in and got the agent (or its node-mode labels) */
	ADMISSION_SKIPPED,   /* the pod opted in but could not be injected: see reason */
	ADMISSION_UNCHANGED, /* nothing to do: not opted in, opted out, already injected */
	ADMISSION_ERROR,     /* the request could not be judged; admitted unchanged */
};

enum admission_reason {
	/* injected */
	REASON_SIDECAR,
	REASON_NODE_AGENT,
	/* unchanged */
	REASON_NOT_OPTED_IN,
	REASON_OPTED_OUT,
	REASON_ALREADY_INJECTED,
	REASON_NOT_CREATE,
	/* skipped */
	REASON_EXCLUDED_NAMESPACE,
	REASON_INVALID_ANNOTATION,
	REASON_NO_INSTRUMENTATION,
	REASON_SEVERAL_INSTRUMENTATIONS,
	REASON_INSTRUMENTATION_NOT_FOUND,
	REASON_INVALID_INSTRUMENTATION,
	REASON_HOST_PID,
	REASON_HOST_NETWORK,
	REASON_SHARE_PROCESS_NAMESPACE_FALSE,
	REASON_NO_TARGET_CONTAINER,
	REASON_PORT_CONFLICT,
	REASON_NAME_CONFLICT,
	REASON_NO_AGENT_IMAGE,
	/* error */
	REASON_BODY_TOO_LARGE,
	REASON_INVALID_JSON,
	REASON_WRONG_KIND,
	REASON_MISSING_UID,
	REASON_NOT_A_POD,
	REASON_LOOKUP_FAILED,
	REASON_INTERNAL,
	REASON_COUNT
};

/* "injected", "skipped", "unchanged", "error". */
const char *admission_result_name(enum admission_result result);
/* snake_case label values: "sidecar", "host_pid", "several_instrumentations", ... */
const char *admission_reason_name(enum admission_reason reason);

#endif
