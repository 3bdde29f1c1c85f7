/* The in-flight slots of bpf/http_server.bpf.c's requests, HTTP/1 and HTTP/2 (struct
 * hs_inflight): claimed by a start, keyed by its goroutine, and taken back (copied out
 * and freed) by its end. Included by bpf/http_server.bpf.c only, after the maps and
 * stat_add. BPF only. */
#ifndef AUTOTRACE_BPF_SERVER_SLOTS_H
#define AUTOTRACE_BPF_SERVER_SLOTS_H

#include "bpf/inflight_claim.h"

/* Claims the in-flight slot of the request starting on the goroutine whose owner tag
 * is tag (see request_start), for the response resp (bpf/inflight_claim.h), counting
 * how: *ret_idx gets its index. NULL when a start with the same response holds it
 * already (the first hit stands) or no slot could be had. */
static __always_inline struct hs_inflight *claim_slot(__u64 tag, __u32 pid, __u64 resp,
						      __u32 *ret_idx)
{
	enum inflight_claim how;
	struct hs_inflight *v = inflight_claim(tag, pid, resp, ret_idx, &how);

	if (how == CLAIM_STALE)
		stat_add(HS_STAT_STALE_START);
	else if (how == CLAIM_FULL)
		stat_add(HS_STAT_INFLIGHT_FULL);
	return v;
}

/* What the end needs of the in-flight slot, copied out before the slot is freed. */
struct started {
	__u64 start_ns;
	__u64 response;
	__u8 sampled, method_id;
	__u8 wrong_reader; /* the start searched a reader that was not its connection's */
	__u64 req;         /* an HTTP/2 request's, kept by its start (struct hs_inflight's
			    * reader, which an HTTP/2 request does not use) */
};

/* Finds this request's slot (its response resp, unless 0), copies it into st (and what
 * a sampled request kept into *sd) and frees it; 0, or -1 when there was none (or
 * another start took it meanwhile). conn, unless 0, is the connection that served it:
 * a reader the slot remembers for another is forgotten, and st says so. */
static __always_inline int take_started(__u64 key, __u32 pid, __u64 resp, __u64 conn,
					struct started *st, struct hs_sampled *sd)
{
	__u64 tag = owner_tag(key, pid);
	__u32 h = slot_hash(tag), v_idx = 0;
	struct hs_inflight *v = NULL;

#pragma unroll
	for (__u32 k = 0; k < HS_INFLIGHT_WINDOW; k++) {
		__u32 idx = (h + k) & inflight_mask;
		struct hs_inflight *e = bpf_map_lookup_elem(&inflight, &idx);

		if (!e)
			return -1;
		if (e->owner == tag && e->pid == pid && (!resp || e->response == resp)) {
			v = e;
			v_idx = idx;
			break;
		}
	}
	if (!v)
		return -1;
	st->wrong_reader = conn && v->reader_owner == tag && v->reader_conn != conn;
	if (st->wrong_reader)
		v->reader_owner = 0;
	st->start_ns = v->start_ns;
	st->response = v->response;
	st->sampled = v->sampled;
	st->method_id = v->method_id;
	st->req = v->reader;
	if (st->sampled) {
		const struct hs_sampled *kept = bpf_map_lookup_elem(&inflight_sampled, &v_idx);

		if (kept)
			__builtin_memcpy(sd, kept, sizeof(*sd));
		else
			st->sampled = 0;
	}
	v->pid = 0;
	/* Still ours after the copy: nothing changed it under us. */
	return __sync_val_compare_and_swap(&v->owner, tag, 0) == tag ? 0 : -1;
}

#endif
