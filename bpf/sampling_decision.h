/* The kernel's sampling decision for a request (bpf/http_server.bpf.c): by the
 * traceparent the search found, or by a draw, as struct hs_sampler says; and the ids a
 * sampled request keeps until its end. BPF only (helpers for randomness). */
#ifndef AUTOTRACE_BPF_SAMPLING_DECISION_H
#define AUTOTRACE_BPF_SAMPLING_DECISION_H

#include "bpf/http_server.h"

/* A request's parent, as the traceparent search found it. */
struct parent_ids {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 flags;
};

/* The decision for a request without a parent: a ratio sampler looks at the trace id's
 * last 8 bytes as a big-endian number, and only the first 4 are drawn before the
 * decision (hi): the rest, drawn when sampled, cannot take the number to the
 * threshold, as the decision counts them as all ones. */
static __always_inline int root_sampled(const struct hs_sampler *smp, __u32 hi)
{
	switch (smp->type) {
	case HS_SAMPLER_ALWAYS_ON:
	case HS_SAMPLER_PARENT_ALWAYS_ON:
		return 1;
	case HS_SAMPLER_RATIO:
	case HS_SAMPLER_PARENT_RATIO:
		return smp->threshold == ~0ULL || ((__u64)hi << 32 | 0xffffffffULL) < smp->threshold;
	}
	return 0;
}

/* The decision for a request that carries a parent: its trace id and flags. */
static __always_inline int child_sampled(const struct hs_sampler *smp, const __u8 *tid,
					 __u8 parent_flags)
{
	__u64 low = 0;

	switch (smp->type) {
	case HS_SAMPLER_ALWAYS_ON:
		return 1;
	case HS_SAMPLER_RATIO:
#pragma unroll
		for (int i = 8; i < 16; i++)
			low = low << 8 | tid[i];
		return smp->threshold == ~0ULL || low < smp->threshold;
	case HS_SAMPLER_PARENT_ALWAYS_ON:
	case HS_SAMPLER_PARENT_ALWAYS_OFF:
	case HS_SAMPLER_PARENT_RATIO:
		return parent_flags & 1;
	}
	return 0;
}

static __always_inline void put_random(__u8 *dst)
{
	__u32 r = bpf_get_prandom_u32();

	__builtin_memcpy(dst, &r, 4);
}

static __always_inline void put_be32(__u8 *dst, __u32 v)
{
	dst[0] = v >> 24;
	dst[1] = v >> 16;
	dst[2] = v >> 8;
	dst[3] = v;
}

/* A request's sampling decision: by its parent when the search found one, else by a
 * draw (hi: the first random bytes of the trace id's second half, see root_sampled). */
struct decision {
	__u8 sampled, has_parent;
	__u32 hi;
};

static __always_inline void decide(const struct hs_sampler *smp, const struct parent_ids *parent,
				   int found, struct decision *d)
{
	d->has_parent = found;
	if (found) {
		d->hi = 0;
		d->sampled = child_sampled(smp, parent->trace_id, parent->flags);
	} else {
		d->hi = bpf_get_prandom_u32();
		d->sampled = root_sampled(smp, d->hi);
	}
}

/* A sampled request's ids (its parent's trace, or a new one) and flags, into sd. */
static __always_inline void keep_ids(struct hs_sampled *sd, const struct parent_ids *parent,
				     const struct decision *d)
{
	if (d->has_parent) {
		__builtin_memcpy(sd->trace_id, parent->trace_id, 16);
		__builtin_memcpy(sd->parent_span_id, parent->span_id, 8);
		sd->rec_flags = HS_REC_HAS_PARENT;
		sd->trace_flags = parent->flags | 1;
	} else {
		put_random(sd->trace_id);
		put_random(sd->trace_id + 4);
		put_be32(sd->trace_id + 8, d->hi);
		put_random(sd->trace_id + 12);
		__builtin_memset(sd->parent_span_id, 0, 8);
		sd->rec_flags = 0;
		sd->trace_flags = 1;
	}
	put_random(sd->span_id);
	put_random(sd->span_id + 4);
	sd->span_id[0] |= 1; /* never all zero */
}

#endif
