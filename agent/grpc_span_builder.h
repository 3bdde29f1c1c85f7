/* A record of bpf/grpc.bpf.c -> an OTLP span under the RPC semantic conventions:
 * name "package.Service/Method" (the full method without its leading '/'), kind SERVER
 * or CLIENT, rpc.system "grpc", rpc.service, rpc.method, rpc.grpc.status_code,
 * process.pid; status error for a client call with any code but OK, and for a server
 * RPC with Unknown, DeadlineExceeded, Unimplemented, Internal, Unavailable or DataLoss
 * (semconv). The method's bytes come from a traced process: every length is checked,
 * every string made valid UTF-8.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_GRPC_SPAN_BUILDER_H
#define AUTOTRACE_AGENT_GRPC_SPAN_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/span.h"

/* -EINVAL when size is not a gRPC record's or a field is out of range. */
int grpc_span_builder_build(const void *data, size_t size, int64_t wall_minus_mono_ns,
			    struct otlp_span *ret_span);

/* Splits a full method "/package.Service/Method" (len bytes, not NUL-terminated) into
 * the service and the method (pointers into full). -EINVAL when it is not of that
 * form (no leading '/', no second '/', an empty part): then *ret_service is the whole
 * name without a leading '/', and the method is empty. */
int grpc_method_split(const char *full, size_t len, const char **ret_service,
		      size_t *ret_service_len, const char **ret_method, size_t *ret_method_len);

/* The gRPC code's name ("OK", "NOT_FOUND"...; "UNKNOWN" beyond 16), static. */
const char *grpc_code_name(unsigned code);
/* 1 when a server span with this code has an error status (semconv). */
int grpc_server_code_is_error(unsigned code);

#endif
