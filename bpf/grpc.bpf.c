// SPDX-License-Identifier: GPL-2.0
/* gRPC server RPCs and client calls in a Go program using google.golang.org/grpc
 * (x86-64, Go register ABI), from uprobes agent/grpc_probes.c places by what each hit
 * costs (each at a jbe after a stack check, or where a call returns):
 *
 *   headers: transport.(*http2Server).operateHeaders, RAX = *http2Server,
 *            RDI = *http2.MetaHeadersFrame: the request's header fields, decoded; a
 *            traceparent among them is kept for the stream it opens
 *   server start: grpc.(*Server).handleStream, RCX = the ServerTransport's data word
 *            (the *http2Server), RDI = the stream (*transport.Stream before v1.69,
 *            *transport.ServerStream from then on); it runs on a goroutine of its own,
 *            which runs the handler
 *   server end: (*http2Server).WriteStatus (writeStatus from v1.69), RBX = the stream,
 *            RCX = *status.Status: the RPC's status goes out
 *   client start: grpc.invoke (what ClientConn.Invoke and every unary interceptor
 *            chain end in), RBX = the context's data word, RCX/RDI = the method
 *   client end: grpc.(*clientStream).finish, RBX/RCX = the error (nil, or a
 *            *status.Error): once a stream, on the caller's goroutine when a unary
 *            call's RecvMsg or newClientStream ends it (invoke itself makes its calls
 *            through the ClientStream interface, and its RETs and the instructions
 *            after those calls are single-stepped, ~35x a jbe's cost)
 *
 * A server RPC takes an in-flight slot of bpf/http_server.bpf.c, keyed by its
 * goroutine, keeps its ids beside it and files its stream's context as a request does:
 * client calls made by its handler (net/http or gRPC), on its goroutine or on others
 * with its context, find it as their parent (bpf/call_parent.h). A
 * client call's parent is found the same way. Every RPC is counted in the RED
 * histograms; sampled ones are copied out through the ring buffer the server probes
 * use. Nothing here writes to user memory. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/http_server.h"
#include "bpf/grpc.h"
#include "bpf/http_client.h"
#include "bpf/go_memory.h"
#include "bpf/sampling_decision.h"
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#include "bpf/traceparent_scan.h" /* its value parser only */
#pragma clang diagnostic pop
#include "bpf/uprobe_context.h"

char LICENSE[] SEC("license") = "GPL";


/* Shared with bpf/http_server.bpf.c (the loader reuses its maps). */
#include "bpf/server_maps.h"

/* Shared with bpf/tp_inject.bpf.c when it is attached (the loader reuses its maps). */
#define PROPAGATION_MAPS_H2
#include "bpf/propagation_maps.h"

/* 1 when bpf/tp_inject.bpf.c is attached: the outgoing-context probes are attached
 * too, and the client start names its process to the sock_ops program. */
const volatile __u8 propagate = 0;

/* This object's own. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct gr_offsets);
} grpc_offsets SEC(".maps");

/* A client call's header fields, by their array's address and the process, from the
 * call that made them (on the caller's goroutine) to the writer goroutine's
 * writeHeader, which gives them their stream id: the trace context they are to carry.
 * LRU: fields never written (the stream refused) are pushed out in time. */
struct out_fields_key {
	__u64 fields;
	__u32 pid;
	__u32 pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct out_fields_key);
	__type(value, struct hc_conn_tp);
} grpc_out_fields SEC(".maps");

/* A traceparent the headers probe found, for the stream it opens: by connection (the
 * *http2Server) and stream id. LRU: a stream that never reaches its handler (refused,
 * reset) leaves an entry that is pushed out in time. */
struct incoming_key {
	__u64 transport;
	__u32 stream_id;
	__u32 pid;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct incoming_key);
	__type(value, struct parent_ids);
} grpc_incoming SEC(".maps");

/* A client call in flight, by its goroutine's owner tag. LRU: a call that failed
 * before it had a stream (no end probe runs for it) is pushed out in time, or replaced
 * by its goroutine's next call. */
struct gr_call {
	__u64 start_ns;
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8];
	__u8 sampled, trace_flags, has_parent, method_len;
	__u32 pid;
	char method[GR_METHOD_MAX];
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct gr_call);
} grpc_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, GR_RED_MAX);
	__type(key, struct gr_red_key);
	__type(value, struct hs_red_value);
} grpc_red SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GR_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} grpc_stats SEC(".maps");

/* Scratch: a call being built, the header fields, a RED key, a traceparent value. */
struct grpc_scratch {
	struct gr_call call;
	__u8 fields[GR_FIELDS_MAX * GR_FIELD_SIZE_MAX];
	struct gr_red_key red_key;
	__u8 value[TP_VALUE_LEN + 9];
	struct tp_scan tp;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct grpc_scratch);
} grpc_scratch SEC(".maps");

static __always_inline void stat_add(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&grpc_stats, &which);

	if (v)
		*v += 1;
}

/* After the maps they read. */
#include "bpf/call_parent.h"
#include "bpf/inflight_claim.h"

/* The *transport.Stream of what handleStream and WriteStatus get. */
static __always_inline __u64 inner_stream(const struct gr_offsets *off, __u64 stream)
{
	if (off->server_stream_stream == GR_NO_FIELD)
		return stream;
	return read_u64((const void *)(stream + off->server_stream_stream));
}

/* Copies up to GR_METHOD_MAX bytes of the Go string (ptr, len) into dst. */
static __always_inline __u8 read_method(char *dst, __u64 ptr, __u64 len)
{
	if (!ptr || (__s64)len <= 0)
		return 0;
	if (len > GR_METHOD_MAX)
		len = GR_METHOD_MAX;
	if (bpf_probe_read_user(dst, len, (const void *)ptr))
		return 0;
	return (__u8)len;
}

static __always_inline void red_add(struct grpc_scratch *sc, __u8 client, __u16 code,
				    const char *method, __u8 method_len, __u64 dur)
{
	struct gr_red_key *k = &sc->red_key;
	struct hs_red_value *v;
	__u32 b = red_bucket(dur);

	__builtin_memset(k, 0, sizeof(*k));
	k->client = client;
	k->code = (__u8)code;
	k->method_len = method_len;
	if (method_len)
		__builtin_memcpy(k->method, method, GR_METHOD_MAX);
	v = bpf_map_lookup_elem(&grpc_red, k);
	if (!v) {
		struct hs_red_value zero = {};

		bpf_map_update_elem(&grpc_red, k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&grpc_red, k);
	}
	if (!v)
		return;
	if (b < HS_RED_BUCKETS)
		v->buckets[b] += 1;
	v->count += 1;
	v->sum_ns += dur;
}

/* The code of a *status.Status (0, OK, for nil), GR_CODE_UNKNOWN when unreadable. */
static __always_inline __u16 status_code(const struct gr_offsets *off, __u64 st)
{
	__u64 spb;
	__s32 code = 0;

	if (!st)
		return 0;
	if (bpf_probe_read_user(&spb, sizeof(spb), (const void *)(st + off->status_s)))
		return GR_CODE_UNKNOWN;
	if (!spb)
		return 0;
	if (bpf_probe_read_user(&code, sizeof(code), (const void *)(spb + off->spb_code)) ||
	    code < 0 || code > GR_CODE_MAX)
		return GR_CODE_UNKNOWN;
	return (__u16)code;
}

static __always_inline void submit(struct gr_span_record *rec)
{
	bpf_ringbuf_submit(rec, bpf_ringbuf_query(&spans, BPF_RB_AVAIL_DATA) >=
					ringbuf_wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
							       BPF_RB_NO_WAKEUP);
}

/* --- incoming trace context ------------------------------------------------------- */

/* The first of the header fields (an []hpack.HeaderField's array and length) named
 * traceparent: 1 and its value's (pointer, length) in ret, or 0. */
static __always_inline int find_traceparent(const struct gr_offsets *off, struct grpc_scratch *sc,
					    __u64 array, __u64 len, __u64 *ret)
{
	__u64 size = off->hf_size, n, bytes;

	if (size == 0 || size > GR_FIELD_SIZE_MAX || !array || (__s64)len <= 0)
		return 0;
	n = len < GR_FIELDS_MAX ? len : GR_FIELDS_MAX;
	bytes = n * size;
	if (bytes > sizeof(sc->fields))
		bytes = sizeof(sc->fields);
	if (bpf_probe_read_user(sc->fields, bytes, (const void *)array))
		return 0;
#pragma unroll
	for (__u32 i = 0; i < GR_FIELDS_MAX; i++) {
		__u64 at = i * size, name_ptr, name_len;
		const __u8 *f;
		char name[16];

		if (i >= n || at > sizeof(sc->fields) - GR_FIELD_SIZE_MAX)
			break;
		f = sc->fields + at;
		name_ptr = *(const __u64 *)(f + (off->hf_name & 15));
		name_len = *(const __u64 *)(f + (off->hf_name & 15) + 8);
		if (name_len != 11)
			continue;
		if (bpf_probe_read_user(name, 11, (const void *)name_ptr) ||
		    tp_load64((const __u8 *)name) != TP_WORD8 || name[8] != 'e' || name[9] != 'n' ||
		    name[10] != 't') /* grpc-go lower-cases metadata keys */
			continue;
		ret[0] = *(const __u64 *)(f + (off->hf_value & 31));
		ret[1] = *(const __u64 *)(f + (off->hf_value & 31) + 8);
		return 1;
	}
	return 0;
}

SEC("uprobe")
int grpc_headers(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), zero = 0;
	const struct gr_offsets *off = bpf_map_lookup_elem(&grpc_offsets, &slot);
	struct grpc_scratch *sc = bpf_map_lookup_elem(&grpc_scratch, &zero);
	__u64 t = regs_of(ctx)->ax, frame = regs_of(ctx)->di, hdr[2], hf, value[2], avail;
	struct incoming_key key = { .transport = t, .pid = cookie_pid(cookie) };
	struct parent_ids p = {};

	if (!off || !off->valid || !sc || !frame)
		return 0;
	/* Fields: a slice (array, len, cap). */
	if (bpf_probe_read_user(hdr, sizeof(hdr), (const void *)(frame + off->meta_fields)) ||
	    !find_traceparent(off, sc, hdr[0], hdr[1], value) || value[1] < TP_VALUE_LEN)
		return 0;
	avail = value[1] < TP_VALUE_LEN + 1 ? value[1] : TP_VALUE_LEN + 1;
	__builtin_memset(sc->value, 0, sizeof(sc->value));
	if (bpf_probe_read_user(sc->value, avail, (const void *)value[0]) ||
	    tp_parse_value(sc->value, (__u32)avail, &sc->tp))
		return 0;
	/* The stream id: frame.HeadersFrame.FrameHeader.StreamID. */
	hf = read_u64((const void *)(frame + off->meta_headers));
	if (!hf || bpf_probe_read_user(&key.stream_id, sizeof(key.stream_id),
				       (const void *)(hf + off->headers_frame_header +
						      off->frame_stream_id)))
		return 0;
	__builtin_memcpy(p.trace_id, sc->tp.trace_id, 16);
	__builtin_memcpy(p.span_id, sc->tp.span_id, 8);
	p.flags = sc->tp.flags;
	bpf_map_update_elem(&grpc_incoming, &key, &p, BPF_ANY);
	return 0;
}

/* --- server ----------------------------------------------------------------------- */

SEC("uprobe")
int grpc_server_start(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), sslot = cookie_sampler(cookie);
	const struct gr_offsets *off = bpf_map_lookup_elem(&grpc_offsets, &slot);
	const struct hs_sampler *smp = bpf_map_lookup_elem(&sampler, &sslot);
	__u64 stream = regs_of(ctx)->di, tag = owner_tag(regs_of(ctx)->r14, pid), start, s;
	struct incoming_key key = { .transport = regs_of(ctx)->cx, .pid = pid };
	struct parent_ids parent = {};
	const struct parent_ids *in;
	struct hs_inflight *v;
	struct hs_sampled *sd;
	enum inflight_claim how;
	__u32 v_idx = 0;
	int found = 0;

	if (!off || !off->valid || !smp) {
		stat_add(GR_STAT_BAD_OFFSETS);
		return 0;
	}
	if (!stream)
		return 0;
	start = bpf_ktime_get_ns();
	s = inner_stream(off, stream);
	if (s && bpf_probe_read_user(&key.stream_id, sizeof(key.stream_id),
				     (const void *)(s + off->stream_id)) == 0) {
		in = bpf_map_lookup_elem(&grpc_incoming, &key);
		if (in) {
			parent = *in;
			found = 1;
			bpf_map_delete_elem(&grpc_incoming, &key);
			stat_add(GR_STAT_TRACEPARENT);
		}
	}
	/* A slot as bpf/http_server.bpf.c's start takes one, keyed by the goroutine: the
	 * same stream again (morestack restarted handleStream) keeps its slot, else the
	 * first free one, else the oldest of the window. */
	v = inflight_claim(tag, pid, stream, &v_idx, &how);
	if (!v) {
		if (how == CLAIM_FULL)
			stat_add(GR_STAT_INFLIGHT_FULL);
		return 0;
	}
	v->pid = pid;
	v->start_ns = start;
	v->response = stream;
	v->reader_owner = 0; /* no net/http reader on this goroutine */
	v->method_id = HS_METHOD_POST;
	/* The handler's context descends from the stream's: calls it makes on goroutines
	 * of its own find the RPC through it. */
	if (s)
		file_context(s + off->stream_ctx, pid, tag, start, v_idx);
	sd = inflight_decide(v, v_idx, smp, &parent, found);
	if (sd)
		sd->have = 0;
	return 0;
}

SEC("uprobe")
int grpc_server_end(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0, h, v_idx = 0;
	const struct gr_offsets *off = bpf_map_lookup_elem(&grpc_offsets, &slot);
	struct grpc_scratch *sc = bpf_map_lookup_elem(&grpc_scratch, &zero);
	__u64 stream = regs_of(ctx)->bx, tag = owner_tag(regs_of(ctx)->r14, pid), end, s, mhdr[2],
	      start_ns;
	struct hs_inflight *v = NULL;
	struct gr_call *c;
	struct gr_span_record *rec;
	__u16 code;
	__u8 sampled;

	if (!off || !off->valid || !sc) {
		stat_add(GR_STAT_BAD_OFFSETS);
		return 0;
	}
	end = bpf_ktime_get_ns();
	h = slot_hash(tag);
#pragma unroll
	for (__u32 k = 0; k < HS_INFLIGHT_WINDOW; k++) {
		__u32 idx = (h + k) & inflight_mask;
		struct hs_inflight *e = bpf_map_lookup_elem(&inflight, &idx);

		if (!e)
			return 0;
		if (e->owner == tag && e->pid == pid && e->response == stream) {
			v = e;
			v_idx = idx;
			break;
		}
	}
	if (!v) {
		stat_add(GR_STAT_SERVER_MISSING_START);
		return 0;
	}
	c = &sc->call;
	start_ns = v->start_ns;
	sampled = v->sampled;
	if (sampled) {
		const struct hs_sampled *kept = bpf_map_lookup_elem(&inflight_sampled, &v_idx);

		if (kept) {
			__builtin_memcpy(c->trace_id, kept->trace_id, 16);
			__builtin_memcpy(c->span_id, kept->span_id, 8);
			__builtin_memcpy(c->parent_span_id, kept->parent_span_id, 8);
			c->trace_flags = kept->trace_flags;
			c->has_parent = (kept->rec_flags & HS_REC_HAS_PARENT) != 0;
		} else {
			sampled = 0;
		}
	}
	v->pid = 0;
	if (__sync_val_compare_and_swap(&v->owner, tag, 0) != tag) {
		stat_add(GR_STAT_SERVER_MISSING_START);
		return 0;
	}
	code = status_code(off, regs_of(ctx)->cx);
	c->method_len = 0;
	s = inner_stream(off, stream);
	if (s && bpf_probe_read_user(mhdr, sizeof(mhdr), (const void *)(s + off->stream_method)) == 0)
		c->method_len = read_method(c->method, mhdr[0], mhdr[1]);
	red_add(sc, 0, code, c->method, c->method_len, end - start_ns);
	stat_add(GR_STAT_SERVER_RPCS);
	if (!sampled)
		return 0;
	stat_add(GR_STAT_SERVER_SAMPLED);
	rec = bpf_ringbuf_reserve(&spans, sizeof(*rec), 0);
	if (!rec) {
		stat_add(GR_STAT_RINGBUF_FULL);
		return 0;
	}
	__builtin_memcpy(rec->trace_id, c->trace_id, 16);
	__builtin_memcpy(rec->span_id, c->span_id, 8);
	__builtin_memcpy(rec->parent_span_id, c->parent_span_id, 8);
	rec->start_ns = start_ns;
	rec->end_ns = end;
	rec->pid = pid;
	rec->code = code;
	rec->trace_flags = c->trace_flags;
	rec->rec_flags = c->has_parent ? GR_REC_HAS_PARENT : 0;
	rec->method_len = c->method_len;
	__builtin_memset(rec->pad, 0, sizeof(rec->pad));
	__builtin_memcpy(rec->method, c->method, GR_METHOD_MAX);
	submit(rec);
	return 0;
}

/* --- client ----------------------------------------------------------------------- */

SEC("uprobe")
int grpc_client_start(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), sslot = cookie_sampler(cookie),
	      zero = 0;
	const struct gr_offsets *off = bpf_map_lookup_elem(&grpc_offsets, &slot);
	const struct hs_sampler *smp = bpf_map_lookup_elem(&sampler, &sslot);
	struct grpc_scratch *sc = bpf_map_lookup_elem(&grpc_scratch, &zero);
	__u64 tag = owner_tag(regs_of(ctx)->r14, pid);
	struct gr_call *c;
	struct call_ids ids;
	int how, parent;

	if (!off || !off->valid || !smp || !sc) {
		stat_add(GR_STAT_BAD_OFFSETS);
		return 0;
	}
	c = &sc->call;
	c->start_ns = bpf_ktime_get_ns();
	c->pid = pid;
	parent = parent_request(tag, pid, regs_of(ctx)->bx, &how);
	if (how == CALL_PARENT_GOROUTINE)
		stat_add(GR_STAT_PARENT_GOROUTINE);
	else if (how == CALL_PARENT_CONTEXT)
		stat_add(GR_STAT_PARENT_CONTEXT);
	ids = (struct call_ids){
		.trace_id = c->trace_id, .span_id = c->span_id,
		.parent_span_id = c->parent_span_id, .sampled = &c->sampled,
		.trace_flags = &c->trace_flags, .has_parent = &c->has_parent,
	};
	call_ids_fill(&ids, parent, smp);
	c->method_len = read_method(c->method, regs_of(ctx)->cx, regs_of(ctx)->di);
	if (propagate) {
		/* Connections the process opens from now on are tracked (its connections
		 * open already were adopted when it was attached). */
		__u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);

		if (!bpf_map_lookup_elem(&traced_tgids, &tgid))
			bpf_map_update_elem(&traced_tgids, &tgid, &(__u8){ 1 }, BPF_ANY);
	}
	/* A second hit for the same call (morestack restarted invoke) replaces the first. */
	bpf_map_update_elem(&grpc_calls, &tag, c, BPF_ANY);
	return 0;
}

SEC("uprobe")
int grpc_client_end(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	const struct gr_offsets *off = bpf_map_lookup_elem(&grpc_offsets, &slot);
	struct grpc_scratch *sc = bpf_map_lookup_elem(&grpc_scratch, &zero);
	__u64 tag = owner_tag(regs_of(ctx)->r14, pid), end = bpf_ktime_get_ns(),
	      err_itab = regs_of(ctx)->bx, err = regs_of(ctx)->cx, st = 0;
	struct gr_span_record *rec;
	struct gr_call *c;
	__u16 code = 0;

	if (!off || !off->valid || !sc)
		return 0;
	c = bpf_map_lookup_elem(&grpc_calls, &tag);
	if (!c) {
		/* A stream of NewStream's (not traced), or a unary call ended by its
		 * context's watcher goroutine (a deadline). */
		stat_add(GR_STAT_CLIENT_MISSING_START);
		return 0;
	}
	__builtin_memcpy(&sc->call, c, sizeof(sc->call));
	bpf_map_delete_elem(&grpc_calls, &tag);
	c = &sc->call;
	/* A unary call's errors are *status.Error values (toRPCErr): Error.s is the
	 * *Status. */
	if (err_itab) {
		code = GR_CODE_UNKNOWN;
		if (err && bpf_probe_read_user(&st, sizeof(st), (const void *)(err + off->error_s)) == 0 &&
		    st)
			code = status_code(off, st);
		if (code == 0) /* an error is never OK */
			code = GR_CODE_UNKNOWN;
	}
	red_add(sc, 1, code, c->method, c->method_len, end - c->start_ns);
	stat_add(GR_STAT_CLIENT_CALLS);
	if (!c->sampled)
		return 0;
	stat_add(GR_STAT_CLIENT_SAMPLED);
	rec = bpf_ringbuf_reserve(&spans, sizeof(*rec), 0);
	if (!rec) {
		stat_add(GR_STAT_RINGBUF_FULL);
		return 0;
	}
	__builtin_memcpy(rec->trace_id, c->trace_id, 16);
	__builtin_memcpy(rec->span_id, c->span_id, 8);
	__builtin_memcpy(rec->parent_span_id, c->parent_span_id, 8);
	rec->start_ns = c->start_ns;
	rec->end_ns = end;
	rec->pid = pid;
	rec->code = code;
	rec->trace_flags = c->trace_flags;
	rec->rec_flags = GR_REC_CLIENT | (c->has_parent ? GR_REC_HAS_PARENT : 0);
	rec->method_len = c->method_len;
	__builtin_memset(rec->pad, 0, sizeof(rec->pad));
	__builtin_memcpy(rec->method, c->method, GR_METHOD_MAX);
	submit(rec);
	return 0;
}

/* --- outgoing trace context over h2c ----------------------------------------------- */

/* Where (*http2Client).NewStream's call of createHeaderFields returns, on the caller's
 * goroutine: RAX/RBX = the header fields' array and length, RDI = the error's itab.
 * The fields are the stream's HEADERS frame to be; the call's trace context is filed
 * by their array for the writer goroutine, unless the application's metadata carries a
 * traceparent of its own. */
SEC("uprobe")
int grpc_client_fields(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	const struct gr_offsets *off = bpf_map_lookup_elem(&grpc_offsets, &slot);
	struct grpc_scratch *sc = bpf_map_lookup_elem(&grpc_scratch, &zero);
	__u64 tag = owner_tag(regs_of(ctx)->r14, pid), value[2];
	struct out_fields_key key = { .fields = regs_of(ctx)->ax, .pid = pid };
	struct hc_conn_tp tp = {};
	struct gr_call *c;

	if (!off || !off->valid || !sc || regs_of(ctx)->di || !key.fields)
		return 0;
	c = bpf_map_lookup_elem(&grpc_calls, &tag);
	if (!c) /* a stream of NewStream's, not a traced call */
		return 0;
	if (find_traceparent(off, sc, key.fields, regs_of(ctx)->bx, value)) {
		stat_add(GR_STAT_OUT_HAD_TRACEPARENT);
		return 0;
	}
	__builtin_memcpy(tp.trace_id, c->trace_id, 16);
	__builtin_memcpy(tp.span_id, c->span_id, 8);
	tp.flags = c->trace_flags;
	bpf_map_update_elem(&grpc_out_fields, &key, &tp, BPF_ANY);
	return 0;
}

/* The connection a *net.TCPConn (the data word of loopyWriter.conn) is, as the sk_msg
 * program keys it; -1 when unreadable (not a TCP connection: TLS, a pipe). */
static __always_inline int conn_key(const struct gr_offsets *off, __u64 tcp_conn,
				    struct hc_conn_key *key)
{
	__u64 fd, laddr, raddr, ip[2];

	fd = tcp_conn ? read_u64((const void *)(tcp_conn + off->conn_fd)) : 0;
	laddr = fd ? read_u64((const void *)(fd + off->netfd_laddr + 8)) : 0;
	raddr = fd ? read_u64((const void *)(fd + off->netfd_raddr + 8)) : 0;
	if (!laddr || !raddr)
		return -1;
	key->local_port = (__u16)read_u64((const void *)(laddr + off->tcpaddr_port));
	key->remote_port = (__u16)read_u64((const void *)(raddr + off->tcpaddr_port));
	if (bpf_probe_read_user(ip, sizeof(ip), (const void *)(raddr + off->tcpaddr_ip)) || !ip[0])
		return -1;
	if (ip[1] == 16)
		return bpf_probe_read_user(key->remote_ip, 16, (const void *)ip[0]) ? -1 : 0;
	if (ip[1] != 4)
		return -1;
	__builtin_memset(key->remote_ip, 0, 10);
	key->remote_ip[10] = 0xff;
	key->remote_ip[11] = 0xff;
	return bpf_probe_read_user(key->remote_ip + 12, 4, (const void *)ip[0]) ? -1 : 0;
}

/* (*loopyWriter).writeHeader at its jbe, on the connection's writer goroutine: RAX = l,
 * RBX = the stream id, RDI = the header fields' array. Fields filed by
 * grpc_client_fields get their stream: the context is filed by connection and stream
 * id for the sk_msg program, which appends it to the frame as it goes out. Every
 * stream's headers pass here, the server's too: those find nothing filed. */
SEC("uprobe")
int grpc_write_header(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie);
	const struct gr_offsets *off;
	struct out_fields_key fk = { .fields = regs_of(ctx)->di, .pid = pid };
	struct hc_stream_key sk = {};
	struct hc_conn_tp tp, *filed = bpf_map_lookup_elem(&grpc_out_fields, &fk);
	struct hc_h2_conn fresh = {};

	if (!filed)
		return 0;
	tp = *filed;
	bpf_map_delete_elem(&grpc_out_fields, &fk);
	off = bpf_map_lookup_elem(&grpc_offsets, &slot);
	if (!off || !off->valid || off->loopy_conn == GR_NO_FIELD)
		return 0;
	if (conn_key(off, read_u64((const void *)(regs_of(ctx)->ax + off->loopy_conn + 8)),
		     &sk.conn)) {
		stat_add(GR_STAT_OUT_CONN_UNKNOWN);
		return 0;
	}
	sk.conn.tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	sk.stream_id = (__u32)regs_of(ctx)->bx;
	bpf_map_update_elem(&h2_streams, &sk, &tp, BPF_ANY);
	/* Followed from its next write on (bpf/h2_frame_walk.h). */
	bpf_map_update_elem(&h2_conns, &sk.conn, &fresh, BPF_NOEXIST);
	stat_add(GR_STAT_OUT_FILED);
	return 0;
}
