/* The maps bpf/tp_inject.bpf.c (outgoing trace context on the wire) shares with the
 * probes that give it the context, one declaration for every object that has them (the
 * loaders make each object reuse the propagation's maps). Define, before including it,
 * PROPAGATION_MAPS_HTTP1 for the net/http client's and PROPAGATION_MAPS_H2 for gRPC's
 * over h2c; the processes map is in every one. */
#ifndef AUTOTRACE_BPF_PROPAGATION_MAPS_H
#define AUTOTRACE_BPF_PROPAGATION_MAPS_H

#include "bpf/http_client.h"

/* The processes (root PID namespace tgid) whose connections the sock_ops program
 * tracks. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

#ifdef PROPAGATION_MAPS_HTTP1
/* The trace context the next HTTP/1.x request on a connection carries. LRU: an entry
 * whose request was never written is pushed out in time. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hc_conn_key);
	__type(value, struct hc_conn_tp);
} conn_tp SEC(".maps");
#endif

#ifdef PROPAGATION_MAPS_H2
/* The client streams of HTTP/2 connections whose HEADERS frame waits for a
 * traceparent, and where the sk_msg program is in each such connection's frames
 * (bpf/h2_frame_walk.h). LRU: a stream whose frame went out unseen (a TLS connection,
 * a connection out of step) is pushed out in time. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hc_stream_key);
	__type(value, struct hc_conn_tp);
} h2_streams SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct hc_conn_key);
	__type(value, struct hc_h2_conn);
} h2_conns SEC(".maps");
#endif

#endif
