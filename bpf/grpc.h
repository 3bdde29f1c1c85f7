/* What bpf/grpc.bpf.c and the agent share: the gRPC span record, the per-binary struct
 * offsets of google.golang.org/grpc, the RED key and the statistics. Fixed-width types
 * only, sizes asserted. Included by the BPF program (after vmlinux.h) and by the agent
 * (with <linux/types.h>). */
#ifndef AUTOTRACE_BPF_GRPC_H
#define AUTOTRACE_BPF_GRPC_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "bpf/http_server.h"

/* The full method, "/package.Service/Method", as grpc-go keeps it. */
#define GR_METHOD_MAX 128
/* gRPC status codes are 0..16; a code that could not be read is reported as 2
 * (Unknown), as grpc-go's status.Code does for an error that is not a status. */
#define GR_CODE_MAX 16
#define GR_CODE_UNKNOWN 2

/* Record flags. */
#define GR_REC_HAS_PARENT 0x1 /* parent_span_id is a span of this trace */
#define GR_REC_CLIENT 0x2     /* a client call (else a server RPC) */

/* One sampled RPC, server or client. The first 52 bytes are laid out as in struct
 * hs_span_record (the pid at byte 48); its size tells it from the other records in the
 * ring (agent/tracer_records.c). */
struct gr_span_record {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8]; /* zero when there is no parent */
	__u64 start_ns;         /* CLOCK_MONOTONIC */
	__u64 end_ns;
	__u32 pid;
	__u16 code;             /* gRPC status code, 0..GR_CODE_MAX */
	__u8 trace_flags;
	__u8 rec_flags;         /* GR_REC_* */
	__u8 method_len;
	__u8 pad[7];
	char method[GR_METHOD_MAX];
};
_Static_assert(sizeof(struct gr_span_record) == 192, "gr_span_record layout changed");

/* Offsets of one traced binary (agent/go_fields.def), in the slot of its server
 * offsets. */
#define GR_NO_FIELD 0xffffffffu
struct gr_offsets {
	__u32 server_stream_stream; /* ServerStream.Stream (v1.69 on); GR_NO_FIELD before,
				     * when handleStream gets the *Stream itself */
	__u32 stream_method, stream_id;
	__u32 status_s, error_s, spb_code;
	__u32 meta_headers, meta_fields, headers_frame_header, frame_stream_id;
	__u32 hf_name, hf_value, hf_size; /* hpack.HeaderField, and its size */
	__u32 valid;
	__u32 stream_ctx; /* Stream.ctx, a context.Context */
	/* Outgoing trace context: loopyWriter.conn (a net.Conn), then the standard
	 * library's net.conn.fd, netFD.laddr/raddr and TCPAddr.IP/Port; GR_NO_FIELD in
	 * loopy_conn when unknown (no outgoing context then). */
	__u32 loopy_conn;
	__u32 conn_fd, netfd_laddr, netfd_raddr, tcpaddr_ip, tcpaddr_port;
	__u32 pad;
};
_Static_assert(sizeof(struct gr_offsets) == 88, "gr_offsets layout changed");

/* Header fields of a request looked at for a traceparent: grpc-go sends the four
 * pseudo-headers and a few of its own first, the application's metadata after. */
#define GR_FIELDS_MAX 24
#define GR_FIELD_SIZE_MAX 48

/* The RED series, per (server or client, full method, code). */
struct gr_red_key {
	__u8 client; /* 0: server */
	__u8 code;
	__u8 method_len;
	__u8 pad[5];
	char method[GR_METHOD_MAX];
};
_Static_assert(sizeof(struct gr_red_key) == 136, "gr_red_key layout changed");
#define GR_RED_MAX 4096

enum gr_stat {
	GR_STAT_SERVER_RPCS = 0,   /* server RPCs that ended */
	GR_STAT_SERVER_SAMPLED,
	GR_STAT_SERVER_MISSING_START,
	GR_STAT_TRACEPARENT,       /* server RPCs whose metadata carried a valid traceparent */
	GR_STAT_CLIENT_CALLS,      /* client calls that ended */
	GR_STAT_CLIENT_SAMPLED,
	GR_STAT_CLIENT_MISSING_START,
	GR_STAT_PARENT_GOROUTINE,  /* client calls under the request on their goroutine */
	GR_STAT_PARENT_CONTEXT,    /* ... found through their context */
	GR_STAT_RINGBUF_FULL,
	GR_STAT_INFLIGHT_FULL,     /* a server start found no slot */
	GR_STAT_BAD_OFFSETS,
	GR_STAT_OUT_FILED,         /* client streams whose HEADERS frame was given their
				    * call's trace context (for bpf/tp_inject.bpf.c) */
	GR_STAT_OUT_HAD_TRACEPARENT, /* ... left alone: their metadata carried one */
	GR_STAT_OUT_CONN_UNKNOWN,  /* ... whose connection could not be read */
	GR_STAT_COUNT,
};

#endif
