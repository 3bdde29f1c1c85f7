#include "agent/grpc_span_builder.h"

#include <errno.h>
#include <string.h>

#include "bpf/grpc.h"

int grpc_method_split(const char *full, size_t len, const char **ret_service,
		      size_t *ret_service_len, const char **ret_method, size_t *ret_method_len)
{
	const char *slash;

	*ret_method = full + len;
	*ret_method_len = 0;
	if (len && full[0] == '/') {
		full++;
		len--;
	} else {
		*ret_service = full;
		*ret_service_len = len;
		return -EINVAL;
	}
	*ret_service = full;
	*ret_service_len = len;
	/* The last '/': a service name has none, a method name has none either. */
	slash = len ? memrchr(full, '/', len) : NULL;
	if (!slash || slash == full || (size_t)(slash - full) + 1 == len)
		return -EINVAL;
	*ret_service_len = (size_t)(slash - full);
	*ret_method = slash + 1;
	*ret_method_len = len - *ret_service_len - 1;
	return 0;
}

static const char *const code_names[GR_CODE_MAX + 1] = {
	"OK",		    "CANCELLED",	"UNKNOWN",	      "INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED", "NOT_FOUND",	"ALREADY_EXISTS",     "PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",	      "OUT_OF_RANGE",
	"UNIMPLEMENTED",     "INTERNAL",	"UNAVAILABLE",	      "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *grpc_code_name(unsigned code)
{
	return code <= GR_CODE_MAX ? code_names[code] : "UNKNOWN";
}

int grpc_server_code_is_error(unsigned code)
{
	switch (code) {
	case 2:  /* Unknown */
	case 4:  /* DeadlineExceeded */
	case 12: /* Unimplemented */
	case 13: /* Internal */
	case 14: /* Unavailable */
	case 15: /* DataLoss */
		return 1;
	}
	return 0;
}

int grpc_span_builder_build(const void *data, size_t size, int64_t wall_minus_mono_ns,
			    struct otlp_span *ret_span)
{
	struct gr_span_record rec;
	const char *service, *method, *name;
	size_t service_len, method_len, name_len;
	int client, error;

	if (size != sizeof(rec))
		return -EINVAL;
	/* Copied out first: the ring's memory is released after the call. */
	memcpy(&rec, data, sizeof(rec));
	if (rec.method_len > GR_METHOD_MAX || rec.code > GR_CODE_MAX || rec.end_ns < rec.start_ns)
		return -EINVAL;
	client = (rec.rec_flags & GR_REC_CLIENT) != 0;
	otlp_span_init(ret_span);
	memcpy(ret_span->trace_id, rec.trace_id, sizeof(rec.trace_id));
	memcpy(ret_span->span_id, rec.span_id, sizeof(rec.span_id));
	if (rec.rec_flags & GR_REC_HAS_PARENT)
		memcpy(ret_span->parent_span_id, rec.parent_span_id, sizeof(rec.parent_span_id));
	ret_span->flags = rec.trace_flags;
	ret_span->kind = client ? OTLP_SPAN_KIND_CLIENT : OTLP_SPAN_KIND_SERVER;
	ret_span->start_unix_nano = rec.start_ns + (uint64_t)wall_minus_mono_ns;
	ret_span->end_unix_nano = rec.end_ns + (uint64_t)wall_minus_mono_ns;
	grpc_method_split(rec.method, rec.method_len, &service, &service_len, &method, &method_len);
	/* The name: the full method without its leading '/'. */
	name = rec.method_len && rec.method[0] == '/' ? rec.method + 1 : rec.method;
	name_len = rec.method_len - (size_t)(name - rec.method);
	if (name_len)
		otlp_span_set_name(ret_span, name, name_len);
	else
		otlp_span_set_name(ret_span, "grpc", 4);
	otlp_span_add_string(ret_span, "rpc.system", "grpc");
	if (service_len)
		otlp_span_add_string_len(ret_span, "rpc.service", service, service_len);
	if (method_len)
		otlp_span_add_string_len(ret_span, "rpc.method", method, method_len);
	otlp_span_add_int(ret_span, "rpc.grpc.status_code", rec.code);
	error = client ? rec.code != 0 : grpc_server_code_is_error(rec.code);
	if (error) {
		otlp_span_add_string(ret_span, "error.type", grpc_code_name(rec.code));
		otlp_span_set_status(ret_span, OTLP_STATUS_ERROR, NULL);
	}
	otlp_span_add_int(ret_span, "process.pid", rec.pid);
	return 0;
}
