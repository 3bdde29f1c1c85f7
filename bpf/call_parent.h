/* The server request a client call is made for, and the call's ids from it: shared by
 * the net/http client probes (bpf/http_client.bpf.c), the gRPC client probes
 * (bpf/grpc.bpf.c) and the database/sql probes (bpf/db_client.bpf.c), and the filing of a server request's context that lets a call find
 * it (bpf/http_server.bpf.c, bpf/grpc.bpf.c). The includer declares the maps these
 * use, as bpf/http_server.bpf.c lays them out: inflight, inflight_sampled, ctx_slots,
 * and the inflight_mask rodata; it includes vmlinux.h, bpf/go_memory.h,
 * bpf/uprobe_context.h and bpf/sampling_decision.h first.
 * BPF only. */
#ifndef AUTOTRACE_BPF_CALL_PARENT_H
#define AUTOTRACE_BPF_CALL_PARENT_H

#include "bpf/http_client.h"

#define CALL_PARENT_NONE 0
#define CALL_PARENT_GOROUTINE 1 /* the request in flight on the call's goroutine */
#define CALL_PARENT_CONTEXT 2   /* the request whose context the call's descends from */

/* The server request this call is made for, as its in-flight slot index; -1: none.
 * First the request on this goroutine (tag), then the contexts the call's (ctx_data,
 * the data word of its context.Context) descends from. *ret_how says which. */
static __always_inline int parent_request(__u64 tag, __u32 pid, __u64 ctx_data, int *ret_how)
{
	__u32 h = slot_hash(tag);

	*ret_how = CALL_PARENT_NONE;
#pragma unroll
	for (__u32 k = 0; k < HS_INFLIGHT_WINDOW; k++) {
		__u32 idx = (h + k) & inflight_mask;
		struct hs_inflight *e = bpf_map_lookup_elem(&inflight, &idx);

		if (!e)
			return -1;
		if (e->owner == tag && e->pid == pid) {
			*ret_how = CALL_PARENT_GOROUTINE;
			return (int)idx;
		}
		if (e->owner == 0)
			break;
	}
#pragma unroll
	for (int d = 0; d < HC_CTX_DEPTH; d++) {
		__u32 ci;
		struct hc_ctx_slot *cs;
		__u64 parent[2];

		if (!ctx_data)
			return -1;
		ci = slot_hash(owner_tag(ctx_data, pid)) & (HC_CTX_SLOTS - 1);
		cs = bpf_map_lookup_elem(&ctx_slots, &ci);
		if (cs && cs->ctx == ctx_data && cs->pid == pid) {
			__u32 idx = cs->inflight_idx & inflight_mask;
			struct hs_inflight *e = bpf_map_lookup_elem(&inflight, &idx);

			/* Only while that request is still the one in flight there. */
			if (e && e->owner == cs->owner && e->start_ns == cs->start_ns) {
				*ret_how = CALL_PARENT_CONTEXT;
				return (int)idx;
			}
			return -1;
		}
		/* context.cancelCtx, timerCtx, valueCtx, withoutCancelCtx...: their parent
		 * Context is their first field. Another type's first word is no context
		 * pointer we filed, and the walk ends at a nil one. */
		if (bpf_probe_read_user(parent, sizeof(parent), (const void *)ctx_data))
			return -1;
		ctx_data = parent[1];
	}
	return -1;
}

/* Files the context of the server request (net/http or gRPC) starting in in-flight
 * slot idx (its interface's data word, at iface + 8) in its context slot, for the
 * client calls made for it on other goroutines (parent_request): one read, a few
 * stores. */
static __always_inline void file_context(__u64 iface, __u32 pid, __u64 tag, __u64 start,
					 __u32 idx)
{
	__u64 c = read_u64((const void *)(iface + 8));
	__u32 ci;
	struct hc_ctx_slot *cs;

	if (!c)
		return;
	ci = slot_hash(owner_tag(c, pid)) & (HC_CTX_SLOTS - 1);
	cs = bpf_map_lookup_elem(&ctx_slots, &ci);
	if (!cs)
		return;
	cs->ctx = 0; /* a reader meanwhile sees an empty slot, not a half-written one */
	cs->owner = tag;
	cs->start_ns = start;
	cs->pid = pid;
	cs->inflight_idx = idx;
	cs->ctx = c;
}

/* The ids and sampling of a call: its parent's trace when it has one (a span of it only
 * when that request is sampled), else a trace of its own, sampled as a root.
 * *has_parent is set to 1 when parent_span_id names a span of the trace. */
struct call_ids {
	__u8 *trace_id, *span_id, *parent_span_id;
	__u8 *sampled, *trace_flags, *has_parent;
};

static __always_inline void call_ids_fill(const struct call_ids *c, int parent_idx,
					  const struct hs_sampler *smp)
{
	struct decision d;
	__u32 idx = (__u32)parent_idx;
	const struct hs_inflight *e = NULL;
	const struct hs_sampled *sd = NULL;

	*c->has_parent = 0;
	if (parent_idx >= 0)
		e = bpf_map_lookup_elem(&inflight, &idx);
	if (e && e->sampled)
		sd = bpf_map_lookup_elem(&inflight_sampled, &idx);
	if (sd) {
		__builtin_memcpy(c->trace_id, sd->trace_id, 16);
		__builtin_memcpy(c->parent_span_id, sd->span_id, 8);
		*c->sampled = 1;
		*c->trace_flags = sd->trace_flags | 1;
		*c->has_parent = 1;
	} else if (e) {
		/* An unsampled request: the call is not sampled either, and the next
		 * service is told so (its trace id is a fresh one: the request kept none). */
		put_random(c->trace_id);
		put_random(c->trace_id + 4);
		put_random(c->trace_id + 8);
		put_random(c->trace_id + 12);
		__builtin_memset(c->parent_span_id, 0, 8);
		*c->sampled = 0;
		*c->trace_flags = 0;
	} else {
		decide(smp, NULL, 0, &d); /* no parent: a draw */
		put_random(c->trace_id);
		put_random(c->trace_id + 4);
		put_be32(c->trace_id + 8, d.hi);
		put_random(c->trace_id + 12);
		__builtin_memset(c->parent_span_id, 0, 8);
		*c->sampled = d.sampled;
		*c->trace_flags = d.sampled;
	}
	put_random(c->span_id);
	put_random(c->span_id + 4);
	c->span_id[0] |= 1;
}

#endif
