/* Where the gRPC probes go in one Go executable that uses google.golang.org/grpc, and
 * the struct offsets they read (bpf/grpc.bpf.c): the plan the tracer attaches beside
 * the net/http ones. The server half (handleStream, WriteStatus, operateHeaders) and
 * the client half (invoke) are planned apart: a binary may have one without the other.
 *
 * Errors: 0 or a negative errno: -ENOENT when the binary does not use grpc at all,
 * -EPROTONOSUPPORT when no source (DWARF, or the offsets table row for its grpc
 * version) knows a field the probes read, or the code does not look as they need:
 * then ret_why says which, for the log, the metrics and the health report. */
#ifndef AUTOTRACE_AGENT_GRPC_PROBES_H
#define AUTOTRACE_AGENT_GRPC_PROBES_H

#include <stddef.h>

#include "agent/go_binary.h"
#include "bpf/grpc.h"

#define GRPC_MODULE "google.golang.org/grpc"
#define GRPC_PROBES_HANDLE_STREAM "google.golang.org/grpc.(*Server).handleStream"
#define GRPC_PROBES_OPERATE_HEADERS \
	"google.golang.org/grpc/internal/transport.(*http2Server).operateHeaders"
/* Before v1.69, and from v1.69 on. */
#define GRPC_PROBES_WRITE_STATUS \
	"google.golang.org/grpc/internal/transport.(*http2Server).WriteStatus"
#define GRPC_PROBES_WRITE_STATUS_169 \
	"google.golang.org/grpc/internal/transport.(*http2Server).writeStatus"
#define GRPC_PROBES_INVOKE "google.golang.org/grpc.invoke"
#define GRPC_PROBES_FINISH "google.golang.org/grpc.(*clientStream).finish"
/* Outgoing trace context over h2c: where the caller's header fields come back from
 * createHeaderFields in NewStream, and where the writer goroutine encodes them. */
#define GRPC_PROBES_NEW_STREAM \
	"google.golang.org/grpc/internal/transport.(*http2Client).NewStream"
#define GRPC_PROBES_CREATE_HEADER_FIELDS \
	"google.golang.org/grpc/internal/transport.(*http2Client).createHeaderFields"
#define GRPC_PROBES_WRITE_HEADER \
	"google.golang.org/grpc/internal/transport.(*loopyWriter).writeHeader"

struct grpc_probe_plan {
	int has_server, has_client;
	struct probe_point headers, server_start, server_end;
	struct probe_point client_start, client_end;
	/* The outgoing-context pair (bpf/grpc.bpf.c's grpc_client_fields and
	 * grpc_write_header), with the client half, when the code and the offsets allow. */
	int has_outgoing;
	struct probe_point client_fields, write_header;
	struct gr_offsets offsets;
	char version[64]; /* the grpc module version the binary lists */
};

/* The plan, or why there is none (ret_why, a sentence, when -EPROTONOSUPPORT). */
int grpc_probes_plan(struct go_binary *binary, struct grpc_probe_plan *ret_plan, char *ret_why,
		     size_t why_size);

#endif
