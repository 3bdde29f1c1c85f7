/* How a client call (database/sql here; net/http's bpf/http_client.bpf.c keeps its own
 * copy of the same walk) finds the server request it was made for, and takes its ids
 * from it: first the request in flight on the call's goroutine, then the requests
 * whose context the call's context descends from (the context slots the server's start
 * probe fills). Included by a .bpf.c after vmlinux.h, the BPF helpers,
 * bpf/sampling_decision.h and bpf/uprobe_context.h, and after it declares the maps
 * `inflight`, `inflight_sampled` and `ctx_slots` and the rodata `inflight_mask`. */
#ifndef AUTOTRACE_BPF_CLIENT_PARENT_H
#define AUTOTRACE_BPF_CLIENT_PARENT_H

#include "bpf/http_client.h"

enum client_parent_via {
	CLIENT_PARENT_NONE,
	CLIENT_PARENT_GOROUTINE,
	CLIENT_PARENT_CONTEXT,
};

/* The in-flight slot index of the server request this call is made for; -1: none.
 * *via says how it was found. */
static __always_inline int client_parent_request(__u64 tag, __u32 pid, __u64 ctx_data,
						 enum client_parent_via *via)
{
	__u32 h = slot_hash(tag);

	*via = CLIENT_PARENT_NONE;
#pragma unroll
	for (__u32 k = 0; k < HS_INFLIGHT_WINDOW; k++) {
		__u32 idx = (h + k) & inflight_mask;
		struct hs_inflight *e = bpf_map_lookup_elem(&inflight, &idx);

		if (!e)
			return -1;
		if (e->owner == tag && e->pid == pid) {
			*via = CLIENT_PARENT_GOROUTINE;
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
				*via = CLIENT_PARENT_CONTEXT;
				return (int)idx;
			}
			return -1;
		}
		/* context.cancelCtx, timerCtx, valueCtx...: their parent Context is their
		 * first field; the walk ends at a nil one. */
		if (bpf_probe_read_user(parent, sizeof(parent), (const void *)ctx_data))
			return -1;
		ctx_data = parent[1];
	}
	return -1;
}

struct client_ids {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8];
	__u8 sampled, trace_flags, has_parent;
};

/* The call's ids and sampling: its parent's trace when it has one (a span of it only
 * when that request is sampled), else a trace of its own, sampled as a root by smp. */
static __always_inline void client_ids(struct client_ids *c, int parent_idx,
				       const struct hs_sampler *smp)
{
	struct decision d;
	__u32 idx = (__u32)parent_idx;
	const struct hs_inflight *e = NULL;
	const struct hs_sampled *sd = NULL;

	c->has_parent = 0;
	if (parent_idx >= 0)
		e = bpf_map_lookup_elem(&inflight, &idx);
	if (e && e->sampled)
		sd = bpf_map_lookup_elem(&inflight_sampled, &idx);
	if (sd) {
		__builtin_memcpy(c->trace_id, sd->trace_id, 16);
		__builtin_memcpy(c->parent_span_id, sd->span_id, 8);
		c->sampled = 1;
		c->trace_flags = sd->trace_flags | 1;
		c->has_parent = 1;
	} else if (e) {
		/* An unsampled request: the call is not sampled either. */
		__builtin_memset(c->trace_id, 0, 16);
		__builtin_memset(c->parent_span_id, 0, 8);
		c->sampled = 0;
		c->trace_flags = 0;
	} else {
		decide(smp, NULL, 0, &d); /* no parent: a draw */
		put_random(c->trace_id);
		put_random(c->trace_id + 4);
		put_be32(c->trace_id + 8, d.hi);
		put_random(c->trace_id + 12);
		__builtin_memset(c->parent_span_id, 0, 8);
		c->sampled = d.sampled;
		c->trace_flags = d.sampled;
	}
	put_random(c->span_id);
	put_random(c->span_id + 4);
	c->span_id[0] |= 1;
}

#endif
