/* Claiming an in-flight slot (struct hs_inflight) for a server operation starting on a
 * goroutine: an HTTP request (bpf/server_slots.h) or a gRPC server RPC
 * (bpf/grpc.bpf.c), which share the slots so that client calls find either as their
 * parent. Each caller counts the outcome in its own statistics. Needs the inflight
 * maps and inflight_mask (bpf/server_maps.h) and bpf/sampling_decision.h. BPF only. */
#ifndef AUTOTRACE_BPF_INFLIGHT_CLAIM_H
#define AUTOTRACE_BPF_INFLIGHT_CLAIM_H

enum inflight_claim {
	CLAIM_FREE = 0, /* a free slot */
	CLAIM_STALE,    /* the goroutine's own slot, left by an operation that never ended
			 * (its handler panicked, say), or the window's oldest, given way */
	CLAIM_HELD,     /* a start hit for the same response holds it already: the first
			 * hit stands (morestack restarted the function) */
	CLAIM_FULL,     /* no slot could be had */
};

/* Claims the slot of the operation starting on the goroutine whose owner tag is tag,
 * for the response (or stream) resp: *ret_idx gets its index, *ret_how how it was had.
 * NULL when CLAIM_HELD or CLAIM_FULL. */
static __always_inline struct hs_inflight *inflight_claim(__u64 tag, __u32 pid, __u64 resp,
							 __u32 *ret_idx,
							 enum inflight_claim *ret_how)
{
	struct hs_inflight *v = NULL, *e;
	__u64 seen = 0, oldest_ns = ~0ULL;
	__u32 free_idx = ~0U, old_idx = ~0U, idx, v_idx = 0, h = slot_hash(tag);

	*ret_how = CLAIM_FULL;
	/* This operation's slot if a start hit was here before (the same call again after
	 * morestack grew the stack, or one that never ended with a response at the same
	 * address), else the first free one, else the oldest. The search stops at the
	 * first free slot: the connection's slot is warm, the ones after it would be cache
	 * misses. Slots are remembered by index: the verifier does not follow pointers
	 * kept across the loop. */
#pragma unroll
	for (__u32 k = 0; k < HS_INFLIGHT_WINDOW; k++) {
		__u64 o;

		idx = (h + k) & inflight_mask;
		e = bpf_map_lookup_elem(&inflight, &idx);
		if (!e)
			return NULL;
		o = e->owner;
		if (o == tag && e->pid == pid) {
			if (e->response == resp) {
				*ret_how = CLAIM_HELD;
				return NULL;
			}
			v = e;
			v_idx = idx;
			break;
		}
		if (o == 0) {
			/* The first free slot: an operation's own slot comes before it, as it
			 * was the first free one when claimed (unless one before it was
			 * freed since: then the restart takes a second slot, and the end
			 * frees the first it finds of the two). */
			free_idx = idx;
			break;
		} else if (e->start_ns < oldest_ns) {
			oldest_ns = e->start_ns;
			old_idx = idx;
			seen = o;
		}
	}
	if (v) {
		*ret_how = CLAIM_STALE;
	} else if (free_idx != ~0U && (e = bpf_map_lookup_elem(&inflight, &free_idx)) &&
		   __sync_val_compare_and_swap(&e->owner, 0, tag) == 0) {
		*ret_how = CLAIM_FREE;
		v = e;
		v_idx = free_idx;
	} else if (old_idx != ~0U && (e = bpf_map_lookup_elem(&inflight, &old_idx)) &&
		   __sync_val_compare_and_swap(&e->owner, seen, tag) == seen) {
		/* The window is full: the oldest gives way (if it ends after all, its end
		 * counts as a missing start). */
		*ret_how = CLAIM_STALE;
		v = e;
		v_idx = old_idx;
	} else {
		return NULL;
	}
	*ret_idx = v_idx;
	return v;
}

/* The sampling decision for the operation in slot v (index v_idx), from its parent
 * (found: the parent came with the request): the slot's sampled flag, and the ids a
 * sampled one keeps beside it (inflight_sampled). The kept ids, or NULL when not
 * sampled (or no room to keep them: then not sampled after all). */
static __always_inline struct hs_sampled *inflight_decide(struct hs_inflight *v, __u32 v_idx,
							 const struct hs_sampler *smp,
							 const struct parent_ids *parent,
							 int found)
{
	struct hs_sampled *sd;
	struct decision d;

	decide(smp, parent, found, &d);
	v->sampled = d.sampled;
	if (!d.sampled)
		return NULL;
	sd = bpf_map_lookup_elem(&inflight_sampled, &v_idx);
	if (!sd) {
		v->sampled = 0;
		return NULL;
	}
	keep_ids(sd, parent, &d);
	return sd;
}

#endif
