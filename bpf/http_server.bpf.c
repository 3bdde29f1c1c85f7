// SPDX-License-Identifier: GPL-2.0
/* net/http server requests in a Go program, from two uprobes (x86-64, Go register ABI):
 *
 *   start: net/http.serverHandler.ServeHTTP at the jbe after its stack check
 *          RCX = *http.response (the ResponseWriter's data word), RDI = *http.Request
 *   end:   net/http.(*response).finishRequest at its jbe, RAX = *http.response; it runs
 *          right after ServeHTTP returns, before an implicit 200 is written, so a
 *          status of 0 there means 200.
 *
 * Every request is counted in the RED histograms; only sampled ones are copied out,
 * through the ring buffer. What a request costs here is mostly reads of user memory
 * (~75 ns each on the benchmark machines, whatever the size up to a few hundred bytes)
 * and helper calls (bench/bench_probe_cost prints each): an unsampled request reads
 * twice at the start (the connection's bufio.Reader and the bytes in its buffer, for
 * the traceparent and the method; four times when its goroutine's slot does not
 * remember the reader, see struct hs_inflight) and once at the end (status and
 * connection), and draws one random number; ids, strings and the rest are for sampled
 * requests only. A sampled request's path and Host come
 * from the request bytes the start copied for the traceparent search
 * (bpf/request_text.h), kept for the end beside its in-flight slot; only the client
 * address is read from http.Request. Struct offsets differ per Go version: each probe
 * carries, as its attach cookie, its process's pid and the slot of its binary's offsets
 * in the offsets map. Nothing here writes to user memory.
 *
 * HTTP/2 requests (bpf/http2_server.h) take the same in-flight slots, RED series and
 * records from two more probes, at runHandler and handlerDone on the handler's
 * goroutine; their traceparent comes from the request's header map
 * (bpf/go_header_map.h).
 *
 * This file holds the maps and the HTTP/1 probes; the rest is in headers it includes,
 * one concern each: the scratch space (bpf/server_scratch.h), the HTTP/1 request's
 * search (bpf/http1_request_search.h), the in-flight slots (bpf/server_slots.h), the
 * RED series and records (bpf/server_emit.h) and the HTTP/2 probes
 * (bpf/http2_server_probes.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/http_server.h"
#include "bpf/go_memory.h"
#include "bpf/http_method.h"
#include "bpf/traceparent_scan.h"
#include "bpf/request_text.h"
#include "bpf/sampling_decision.h"
#include "bpf/uprobe_context.h"
#include "bpf/http_client.h"
#include "bpf/http2_server.h"
#include "bpf/go_header_map.h"

char LICENSE[] SEC("license") = "GPL";

/* The ring buffer, the in-flight slots, the samplers and the context slots, which the
 * other probe families' objects share, and their rodata. */
#include "bpf/server_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct hs_offsets);
} offsets SEC(".maps");

/* RED series by (method, status slot); see hs_red_status_slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_RED_SLOTS);
	__type(key, __u32);
	__type(value, struct hs_red_value);
} red SEC(".maps");

/* The statuses without a slot: rare, so allocated as they come, not at every start. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, HS_RED_OTHER_MAX);
	__type(key, struct hs_red_key);
	__type(value, struct hs_red_value);
} red_other SEC(".maps");

/* HTTP/2 server offsets (bpf/http2_server.h: H2_OFFSETS_SLOTS). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, H2_OFFSETS_SLOTS);
	__type(key, __u32);
	__type(value, struct h2_offsets);
} h2_offsets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

#include "bpf/server_scratch.h"

static __always_inline void stat_add(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1;
}

#include "bpf/http1_request_search.h"
/* file_context: after the maps it writes. */
#include "bpf/call_parent.h"
#include "bpf/server_slots.h"
#include "bpf/server_emit.h"

/* --- HTTP/1 probes ----------------------------------------------------------------- */

static __always_inline int request_start(struct pt_regs *ctx, int scan_headers)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	__u32 sslot = cookie_sampler(cookie);
	const struct hs_offsets *off = bpf_map_lookup_elem(&offsets, &slot);
	const struct hs_sampler *smp = bpf_map_lookup_elem(&sampler, &sslot);
	struct hs_inflight *v;
	struct scratch *sc = bpf_map_lookup_elem(&header_scratch, &zero);
	struct hs_sampled *sd;
	struct request_search rs = { .method = HS_METHOD_UNKNOWN };
	__u64 resp = regs_of(ctx)->cx, g = regs_of(ctx)->r14, tag, start;
	int found;
	__u32 v_idx = 0;

	if (!off || !off->valid || !smp || !sc) {
		stat_add(HS_STAT_BAD_OFFSETS);
		return 0;
	}
	if (!resp)
		return 0;
	start = bpf_ktime_get_ns();
	/* Keyed by the goroutine, not the response: a connection's requests come back to
	 * the same slot, whose cache line is warm, where a new response's address hashes to
	 * a cold one (~100 ns a miss, at the start and again at the end). */
	tag = owner_tag(g, pid);
	v = claim_slot(tag, pid, resp, &v_idx);
	if (!v)
		return 0;
	v->pid = pid;
	v->start_ns = start;
	v->response = resp;
	if (off->req_ctx)
		file_context(regs_of(ctx)->di + off->req_ctx, pid, tag, start, v_idx);
	found = scan_headers && smp->type != HS_SAMPLER_ALWAYS_OFF &&
		find_traceparent(off, sc, resp, v, tag, &rs) == 0;
	if (found)
		stat_add(HS_STAT_TRACEPARENT);
	v->method_id = rs.method;
	sd = inflight_decide(v, v_idx, smp, &rs.parent, found);
	if (sd)
		keep_request_text(sc, &rs, sd);
	return 0;
}

/* With the header scan (bpf_loop, kernel >= 5.17) ... */
SEC("uprobe")
int serve_http_start(struct pt_regs *ctx)
{
	return request_start(ctx, 1);
}

/* ... and without, for kernels that lack bpf_loop (the loader picks one). */
SEC("uprobe")
int serve_http_start_noscan(struct pt_regs *ctx)
{
	return request_start(ctx, 0);
}

/* resp: the *http.response, or 0 where no register holds it (the other tracers'
 * placement, at ServeHTTP's RETs): then the slot's is used. */
static __always_inline int request_end(struct pt_regs *ctx, __u64 resp)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	__u32 sslot = cookie_sampler(cookie);
	const struct hs_offsets *off = bpf_map_lookup_elem(&offsets, &slot);
	struct scratch *sc = bpf_map_lookup_elem(&header_scratch, &zero);
	struct hs_sampled *text;
	struct started st = {};
	char method[HS_METHOD_MAX] = {};
	const struct hs_sampler *smp = bpf_map_lookup_elem(&sampler, &sslot);
	__u64 req = 0, end, status = 0, conn = 0;
	__u8 mlen = 0, mid, have_req = 0, have_resp = 0;
	struct req_fields rf;

	if (!off || !off->valid || !sc || !smp) {
		stat_add(HS_STAT_BAD_OFFSETS);
		return 0;
	}
	rf = (struct req_fields){ .url = off->req_url, .url_path = off->url_path,
				  .host = off->req_host, .remote = off->req_remote_addr };
	end = bpf_ktime_get_ns();
	text = (struct hs_sampled *)(sc->buf + SCRATCH_SAMPLED);
	/* The response's fields in one read (its connection checks the reader the start
	 * may have taken); the request's only when sampled or when the start could not tell
	 * the method. */
	if (resp && read_block(sc->buf + SCRATCH_BLOCK_A, off->resp_block, resp) == 0) {
		have_resp = 1;
		conn = block_u64(sc->buf + SCRATCH_BLOCK_A, off->resp_conn);
	}
	if (take_started(regs_of(ctx)->r14, pid, resp, conn, &st, text)) {
		stat_add(HS_STAT_MISSING_START);
		return 0;
	}
	if (!resp) {
		resp = st.response;
		have_resp = read_block(sc->buf + SCRATCH_BLOCK_A, off->resp_block, resp) == 0;
	}
	if (have_resp) {
		req = block_u64(sc->buf + SCRATCH_BLOCK_A, off->resp_req);
		status = block_u64(sc->buf + SCRATCH_BLOCK_A, off->resp_status);
	}
	if (st.wrong_reader) {
		/* The start searched another connection's buffer: search this one's now
		 * (where a request without a body still has its headers) and decide again;
		 * path and Host come from http.Request. */
		struct request_search *rs = (struct request_search *)(sc->buf + SCRATCH_SEARCH);
		struct decision d;
		int found;

		rs->method = HS_METHOD_UNKNOWN;
		found = find_traceparent_of(off, sc, conn, rs) == 0;
		if (found)
			stat_add(HS_STAT_TRACEPARENT);
		decide(smp, &rs->parent, found, &d);
		st.method_id = rs->method;
		st.sampled = d.sampled;
		text->have = 0;
		if (d.sampled)
			keep_ids(text, &rs->parent, &d);
	}
	mid = st.method_id;
	if ((st.sampled || mid >= HS_METHOD_COUNT) &&
	    read_block(sc->buf + SCRATCH_BLOCK_B, off->req_block, req) == 0)
		have_req = 1;
	if (mid < HS_METHOD_COUNT) {
		__u32 i = mid;
		const struct method_name *mn;

		barrier_var(i); /* keeps the mask, which clang would drop after the check */
		mn = &method_names[i & (METHOD_TABLE - 1)];

		__builtin_memcpy(method, mn->name, 8);
		mlen = (__u8)mn->len;
	} else if (have_req) {
		mlen = block_go_string(method, HS_METHOD_MAX, sc->buf + SCRATCH_BLOCK_B,
				       off->req_method);
		mid = hs_method_of_string(method, mlen);
	} else {
		mid = HS_METHOD_OTHER;
	}
	return emit_request(&st, text, pid, end, status, mid, method, mlen, sc,
			    have_req ? &rf : NULL);
}

SEC("uprobe")
int finish_request(struct pt_regs *ctx)
{
	return request_end(ctx, regs_of(ctx)->ax);
}

/* The other tracers' placement, for the benchmarks: serve_http_start at ServeHTTP's
 * first instruction (the arguments are in the same registers there), and this at each
 * of its RET instructions. */
SEC("uprobe")
int serve_http_end_at_ret(struct pt_regs *ctx)
{
	return request_end(ctx, 0);
}

/* --- HTTP/2: bpf/http2_server.h -------------------------------------------------- */

#include "bpf/http2_server_probes.h"
