/* What bpf/http_client.bpf.c, bpf/tp_inject.bpf.c and the agent share: the client span
 * record, the client's per-binary struct offsets, the context slots through which a
 * client call finds the server request it was made for, the outgoing trace context of
 * a connection, and the statistics. Fixed-width types only, sizes asserted. Included
 * by the BPF programs (after vmlinux.h) and by the agent (with <linux/types.h>). */
#ifndef AUTOTRACE_BPF_HTTP_CLIENT_H
#define AUTOTRACE_BPF_HTTP_CLIENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "bpf/http_server.h"

#define HC_SCHEME_MAX 8
#define HC_HOST_MAX 64
#define HC_PATH_MAX 128
#define HC_QUERY_MAX 64

/* Record flags. */
#define HC_REC_HAS_PARENT 0x1 /* parent_span_id is a span of this trace */
#define HC_REC_ERROR 0x2      /* the round trip returned an error (no response) */
#define HC_REC_PROPAGATED 0x4 /* a traceparent was handed to the connection */

/* One sampled client call, as the end probe submits it to the ring buffer (its size
 * tells it from struct hs_span_record there). */
struct hc_span_record {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8];
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 end_ns;
	__u32 pid;
	__u16 status;     /* the response's StatusCode; 0 on an error */
	__u8 trace_flags;
	__u8 rec_flags;   /* HC_REC_* */
	__u8 method_id;   /* enum hs_method */
	__u8 method_len, scheme_len, host_len, path_len, query_len;
	__u8 pad[2];
	char method[HS_METHOD_MAX];
	char scheme[HC_SCHEME_MAX];
	char host[HC_HOST_MAX]; /* url.URL.Host: host[:port], never user info */
	char path[HC_PATH_MAX];
	char query[HC_QUERY_MAX];
};
_Static_assert(sizeof(struct hc_span_record) == 344, "hc_span_record layout changed");

/* A call in flight, by its goroutine's owner tag (bpf/uprobe_context.h): the value of
 * the calls map, which the agent sweeps of processes it no longer traces
 * (agent/inflight_sweep.c). */
struct hc_call {
	__u64 start_ns;
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8];
	__u32 pid;
	__u8 sampled, trace_flags, rec_flags, method_id;
	__u8 method_len, scheme_len, host_len, path_len, query_len;
	__u8 pad[7];
	char method[HS_METHOD_MAX];
	char scheme[HC_SCHEME_MAX];
	char host[HC_HOST_MAX];
	char path[HC_PATH_MAX];
	char query[HC_QUERY_MAX];
};

/* Struct field offsets of one traced binary for the client probes, in the slot of the
 * binary's server offsets. */
struct hc_offsets {
	__u32 req_method, req_url, req_ctx;
	__u32 url_scheme, url_host, url_path, url_raw_query;
	__u32 resp_status_code;
	__u32 pconn_conn, conn_fd, netfd_laddr, netfd_raddr, tcpaddr_ip, tcpaddr_port;
	__u32 req_block, url_block; /* bytes read at once from each (<= HC_BLOCK_MAX) */
	__u32 netfd_block, tcpaddr_block;
	__u32 valid;
	__u32 pad;
};
_Static_assert(sizeof(struct hc_offsets) == 80, "hc_offsets layout changed");
/* The client's struct blocks: http.Request.ctx is past 256 bytes from Go 1.26 on. */
#define HC_BLOCK_MAX 512

/* The server requests in flight by their context (http.Request.ctx's data word), so
 * that a client call on another goroutine finds, by walking its own request's context
 * up to its parents, the server request it serves. An array indexed by a hash of the
 * context and pid, written by the server's start probe: a collision overwrites (the
 * call is then linked by goroutine or not at all), and a slot is trusted only while the
 * in-flight slot it names still holds the same request (owner and start time). */
struct hc_ctx_slot {
	__u64 ctx;      /* the context's data word; 0: empty */
	__u64 owner;    /* the in-flight slot's owner tag then */
	__u64 start_ns; /* and its start time */
	__u32 pid;
	__u32 inflight_idx;
};
_Static_assert(sizeof(struct hc_ctx_slot) == 32, "hc_ctx_slot layout changed");
/* Context slots (a power of two); levels of context walked up from a call's. */
#define HC_CTX_SLOTS 16384
#define HC_CTX_DEPTH 6

/* A connection of a traced process, as both the client probe (from Go's net.TCPAddr
 * values) and the sk_msg program (from the socket) see it: the process (tgid in the
 * root PID namespace), the ports, and the peer's address (IPv4 as ::ffff:a.b.c.d). */
struct hc_conn_key {
	__u32 tgid;
	__u16 local_port, remote_port; /* host byte order */
	__u8 remote_ip[16];
};
_Static_assert(sizeof(struct hc_conn_key) == 24, "hc_conn_key layout changed");

/* The trace context the next request on a connection carries: the client span's ids. */
struct hc_conn_tp {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 flags; /* W3C trace flags: 01 sampled */
	__u8 pad[7];
};
_Static_assert(sizeof(struct hc_conn_tp) == 32, "hc_conn_tp layout changed");

/* A client stream of an HTTP/2 connection (gRPC over h2c) whose HEADERS frame is about
 * to go out: the trace context its frame carries (bpf/grpc.bpf.c files it by the
 * connection and the stream id the writer gave it; bpf/tp_inject.bpf.c appends it to
 * the frame's header block). */
struct hc_stream_key {
	struct hc_conn_key conn;
	__u32 stream_id;
	__u32 pad;
};
_Static_assert(sizeof(struct hc_stream_key) == 32, "hc_stream_key layout changed");

/* Where the sk_msg program is in an HTTP/2 connection's frames (bpf/h2_frame_walk.h):
 * a connection gets one when its first stream is filed. */
struct hc_h2_conn {
	__u32 skip;   /* where the next write's first frame header is, when in step */
	__u8 in_step;
	__u8 pad[3];
};
_Static_assert(sizeof(struct hc_h2_conn) == 8, "hc_h2_conn layout changed");

/* The traceparent header the sk_msg program inserts after the request line. */
#define HC_TP_HEADER "traceparent: "
#define HC_TP_LINE_LEN (13 + 55 + 2) /* name, 00-<32>-<16>-<2>, CRLF */

enum hc_stat {
	HC_STAT_CALLS = 0,        /* client calls that ended (end probe) */
	HC_STAT_SAMPLED,          /* of those, sampled */
	HC_STAT_RINGBUF_FULL,     /* sampled, but no room in the ring buffer */
	HC_STAT_MISSING_START,    /* an end without a start */
	HC_STAT_START_FULL,       /* a start could not be stored */
	HC_STAT_PARENT_GOROUTINE, /* starts whose parent is the server request on its goroutine */
	HC_STAT_PARENT_CONTEXT,   /* ... found through the request's context */
	HC_STAT_CONN_KEYED,       /* starts whose connection got their trace context */
	HC_STAT_CONN_UNKNOWN,     /* ... whose connection could not be read */
	HC_STAT_ERRORS,           /* calls that ended with an error */
	HC_STAT_BAD_OFFSETS,
	HC_STAT_HTTP2,            /* calls that went over HTTP/2 (the end after
				   * pconn.alt.RoundTrip): no trace context went with them */
	HC_STAT_COUNT,
};

/* What the sk_msg program counts. */
enum hc_inject_stat {
	HC_INJ_INJECTED = 0,     /* a traceparent was inserted */
	HC_INJ_HAD_TRACEPARENT,  /* the request carried one already: left alone */
	HC_INJ_NOT_HTTP,         /* the message did not start with an HTTP/1.x request */
	HC_INJ_FAILED,           /* the kernel refused to insert the bytes */
	HC_INJ_H2_INJECTED,      /* a traceparent field was appended to an HTTP/2 stream's
				  * HEADERS frame */
	HC_INJ_H2_OUT_OF_STEP,   /* writes of an HTTP/2 connection whose frames could not
				  * be followed (streams waiting there get none) */
	HC_INJ_H2_CUT,           /* a waiting stream's HEADERS frame cut by a write's end */
	HC_INJ_H2_HITS_FULL,     /* ... past the H2W_HITS_MAX first of its write */
	HC_INJ_COUNT,
};

/* RED series of client calls: per (method, status or 0 for an error, server address
 * and port as the URL names them). */
struct hc_red_key {
	__u16 method_id;
	__u16 status; /* 0: the call failed without a response */
	__u8 error;
	__u8 host_len; /* host: url.URL.Host, host[:port] (user space splits it) */
	__u8 pad[2];
	char host[HC_HOST_MAX];
};
_Static_assert(sizeof(struct hc_red_key) == 72, "hc_red_key layout changed");
#define HC_RED_MAX 4096

#endif
