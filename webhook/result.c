#include "webhook/result.h"

const char *admission_result_name(enum admission_result result)
{
	switch (result) {
	case ADMISSION_INJECTED:
		return "injected";
	case ADMISSION_SKIPPED:
		return "skipped";
	case ADMISSION_UNCHANGED:
		return "unchanged";
	case ADMISSION_ERROR:
		return "error";
	}
	return "error";
}

const char *admission_reason_name(enum admission_reason reason)
{
	static const char *const names[REASON_COUNT] = {
		[REASON_SIDECAR] = "sidecar",
		[REASON_NODE_AGENT] = "node_agent",
		[REASON_NOT_OPTED_IN] = "not_opted_in",
		[REASON_OPTED_OUT] = "opted_out",
		[REASON_ALREADY_INJECTED] = "already_injected",
		[REASON_NOT_CREATE] = "not_create",
		[REASON_EXCLUDED_NAMESPACE] = "excluded_namespace",
		[REASON_INVALID_ANNOTATION] = "invalid_annotation",
		[REASON_NO_INSTRUMENTATION] = "no_instrumentation",
		[REASON_SEVERAL_INSTRUMENTATIONS] = "several_instrumentations",
		[REASON_INSTRUMENTATION_NOT_FOUND] = "instrumentation_not_found",
		[REASON_INVALID_INSTRUMENTATION] = "invalid_instrumentation",
		[REASON_HOST_PID] = "host_pid",
		[REASON_HOST_NETWORK] = "host_network",
		[REASON_SHARE_PROCESS_NAMESPACE_FALSE] = "share_process_namespace_false",
		[REASON_NO_TARGET_CONTAINER] = "no_target_container",
		[REASON_PORT_CONFLICT] = "port_conflict",
		[REASON_NAME_CONFLICT] = "name_conflict",
		[REASON_NO_AGENT_IMAGE] = "no_agent_image",
		[REASON_BODY_TOO_LARGE] = "body_too_large",
		[REASON_INVALID_JSON] = "invalid_json",
		[REASON_WRONG_KIND] = "wrong_kind",
		[REASON_MISSING_UID] = "missing_uid",
		[REASON_NOT_A_POD] = "not_a_pod",
		[REASON_LOOKUP_FAILED] = "lookup_failed",
		[REASON_INTERNAL] = "internal",
	};

	if ((unsigned)reason >= REASON_COUNT || !names[reason])
		return "internal";
	return names[reason];
}
