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
 * (bpf/go_header_map.h). */
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

#ifndef EEXIST
#define EEXIST 17
#endif

/* Set by the loader before load. */
const volatile __u64 ringbuf_wakeup_bytes = 256 * 1024;
/* Slots of the inflight array minus one (a power of two minus one). */
const volatile __u32 inflight_mask = 16383;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by the loader */
} spans SEC(".maps");

/* See struct hs_inflight. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384); /* resized by the loader, a power of two */
	__type(key, __u32);
	__type(value, struct hs_inflight);
} inflight SEC(".maps");

/* See struct hs_sampled: beside inflight, the same index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384); /* resized by the loader with inflight */
	__type(key, __u32);
	__type(value, struct hs_sampled);
} inflight_sampled SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct hs_offsets);
} offsets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_MAX_SAMPLERS);
	__type(key, __u32);
	__type(value, struct hs_sampler);
} sampler SEC(".maps");

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

/* See struct hc_ctx_slot: written here, read by bpf/http_client.bpf.c. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HC_CTX_SLOTS);
	__type(key, __u32);
	__type(value, struct hc_ctx_slot);
} ctx_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* What search_request found in a request's bytes. */
struct request_search {
	struct parent_ids parent; /* when found */
	__u8 found;
	__u8 searched; /* the bytes were read: the scratch holds them and the search's notes */
	__u8 method;   /* from the request line; HS_METHOD_UNKNOWN when it cannot tell */
	__u32 n;        /* the bytes searched, in the scratch */
	__u32 block_at; /* where their last header block starts */
};

/* Scratch space: the connection's read buffer, copied for the traceparent search (with
 * room past the scan size, so that an index masked to it plus a look-ahead stays
 * inside), and blocks of Go structs read at once. */
#define SCRATCH_SIZE (2 * TP_SCAN_MAX)
#define SCRATCH_BLOCK_A (TP_SCAN_MAX + 256)
#define SCRATCH_BLOCK_B (SCRATCH_BLOCK_A + HS_BLOCK_MAX)
#define SCRATCH_LF (SCRATCH_BLOCK_B + HS_BLOCK_MAX)
/* In the end probe: what a sampled request kept, copied out beside its slot before the
 * slot is freed (apart from the request's bytes: the end may search them too), and what
 * a search there finds (the end's stack frame, with the search's and its callbacks',
 * would pass the 512 bytes the verifier allows a chain of calls). */
#define SCRATCH_SAMPLED ((SCRATCH_LF + sizeof(struct tp_lf) + 7) & ~7UL)
#define SCRATCH_SEARCH ((SCRATCH_SAMPLED + sizeof(struct hs_sampled) + 7) & ~7UL)
/* In the start probe: where a sampled request's path and Host are in its bytes
 * (keep_request_text). */
#define SCRATCH_TEXT ((SCRATCH_SEARCH + sizeof(struct request_search) + 7) & ~7UL)
_Static_assert(SCRATCH_TEXT + sizeof(struct rt_text) <= SCRATCH_SIZE, "scratch too small");
_Static_assert(TP_SCAN_SLACK <= 256, "scratch regions overlap");
struct scratch {
	__u8 buf[SCRATCH_SIZE];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} header_scratch SEC(".maps");

static __always_inline void stat_add(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1;
}

/* --- incoming traceparent: the search is bpf/traceparent_scan.h ----------------- */

/* The bufio.Reader of the connection serving the response resp, read into block: the
 * one slot v remembers for this goroutine (owner tag) while it still reads from the same
 * connReader (struct hs_inflight), else resp.conn.bufr, which v then remembers. 0 when
 * it cannot be read. */
static __always_inline __u64 connection_reader(const struct hs_offsets *off, __u64 resp,
					       struct hs_inflight *v, __u64 tag, __u8 *block)
{
	__u64 bufr, conn;

	if (v->reader_owner == tag && v->reader_src &&
	    (++v->reader_uses & (HS_READER_RECHECK - 1))) {
		bufr = v->reader;
		if (read_block(block, off->bufio_block, bufr) == 0 &&
		    block_u64(block, off->bufio_rd_data) == v->reader_src)
			return bufr;
	}
	v->reader_owner = 0;
	conn = read_u64((void *)(resp + off->resp_conn));
	if (!conn)
		return 0;
	bufr = read_u64((void *)(conn + off->conn_bufr));
	if (read_block(block, off->bufio_block, bufr))
		return 0;
	v->reader = bufr;
	v->reader_src = block_u64(block, off->bufio_rd_data);
	v->reader_conn = conn;
	v->reader_uses = 0;
	v->reader_owner = tag;
	return bufr;
}

/* Searches the request's bytes still in the buffer of the bufio.Reader whose first
 * bytes are in the scratch's block A for a traceparent header: buf[0:r] ends with the
 * blank line after the headers. Sets *ret_method from the request line when it can
 * vouch for it. 0 when found. */
static __always_inline int search_reader(const struct hs_offsets *off, struct scratch *sc,
					 struct tp_scan *s, __u8 *ret_method)
{
	__u64 buf = block_u64(sc->buf + SCRATCH_BLOCK_A, off->bufio_buf);
	__u64 r = block_u64(sc->buf + SCRATCH_BLOCK_A, off->bufio_r);

	if (!buf || r == 0)
		return -1;
	if (r > TP_SCAN_MAX)
		r = TP_SCAN_MAX;
	if (bpf_probe_read_user(sc->buf, r, (void *)buf))
		return -1;
	s->buf = sc->buf;
	s->lf = (struct tp_lf *)(sc->buf + SCRATCH_LF);
	s->lf->n = 0;
	s->n = (__u32)r;
	s->candidate = 0;
	s->block_at = 0;
	s->lf->reqline_set = 0;
	s->lf->host_state = TP_HOST_NONE;
	s->lf->ended = 0;
	bpf_loop(tp_lf_collect_steps((__u32)r), tp_lf_collect, s, 0);
	bpf_loop(tp_pass2_steps(s), tp_lf_step, s, 0);
	if (s->block_at < s->n)
		*ret_method = hs_method_of_line(sc->buf + (s->block_at & (TP_SCAN_MAX - 1)),
						s->n - s->block_at);
	return tp_scan_finish(s);
}

/* The search of the request whose bufio.Reader's first bytes are in the scratch's block
 * A, into *rs; 0 when a traceparent was found. A global function: the verifier checks
 * it once, on its own, where inlined it was checked again for each state its caller
 * reaches it in (the start's ~57,000 instructions verified are ~36,000 so, the end's
 * ~61,000 ~39,000). Its arguments may be null (the verifier asks for the checks). */
__noinline int search_request(struct scratch *sc, const struct hs_offsets *off,
			      struct request_search *rs)
{
	struct tp_scan s = {};
	int r;

	if (!rs)
		return -1;
	rs->found = 0;
	rs->searched = 0;
	rs->method = HS_METHOD_UNKNOWN;
	rs->n = 0;
	rs->block_at = 0;
	if (!sc || !off)
		return -1;
	r = search_reader(off, sc, &s, &rs->method);
	rs->searched = s.buf != NULL;
	rs->n = s.n;
	rs->block_at = s.block_at;
	if (r)
		return -1;
	__builtin_memcpy(rs->parent.trace_id, s.trace_id, 16);
	__builtin_memcpy(rs->parent.span_id, s.span_id, 8);
	rs->parent.flags = s.flags;
	rs->found = 1;
	return 0;
}

/* The search at the start, in the buffer of the connection serving resp (see
 * connection_reader: v and tag are the request's slot and owner tag). */
static __always_inline int find_traceparent(const struct hs_offsets *off, struct scratch *sc,
					    __u64 resp, struct hs_inflight *v, __u64 tag,
					    struct request_search *rs)
{
	if (!connection_reader(off, resp, v, tag, sc->buf + SCRATCH_BLOCK_A))
		return -1;
	return search_request(sc, off, rs);
}

/* The search at the end, in the buffer of the connection conn, walked from it. */
static __always_inline int find_traceparent_of(const struct hs_offsets *off, struct scratch *sc,
					       __u64 conn, struct request_search *rs)
{
	__u64 bufr;

	if (!conn)
		return -1;
	bufr = read_u64((void *)(conn + off->conn_bufr));
	if (read_block(sc->buf + SCRATCH_BLOCK_A, off->bufio_block, bufr))
		return -1;
	return search_request(sc, off, rs);
}

/* --- the in-flight slots ------------------------------------------------------------ */

/* --- probes ----------------------------------------------------------------------- */

/* Copies len bytes at buf[at] (the scratch's copy of the request, at + len <= its
 * size) to dst, size bytes (a multiple of 8) a word at a time: plain loads and stores,
 * where a bpf_probe_read_kernel costs ~70 ns. Bytes past len are zeroed: the rest of
 * the request's headers stay out of the record. */
static __always_inline void copy_words(__u64 *dst, const __u8 *buf, __u32 at, __u32 len,
				       __u32 size)
{
#pragma unroll
	for (__u32 i = 0; i < size / 8; i++) {
		__u64 w = *(const __u64 *)(buf + ((at + 8 * i) & (TP_SCAN_MAX - 1)));

		if (8 * i >= len)
			w = 0;
		else if (8 * i + 8 > len)
			w &= (1ULL << (8 * (len - 8 * i))) - 1; /* little-endian: the low bytes */
		dst[i] = w;
	}
}

/* A sampled request's path and Host from its bytes (when the search saw them, in the
 * scratch), into tx; what is not there the end reads from http.Request. A global
 * function, checked once (see search_request). Where they are goes through map memory
 * (SCRATCH_TEXT), whose contents the verifier does not track: kept on the stack, the
 * positions' ranges would differ on each way through rt_locate's trims, the copies
 * index the buffer with them, and the verifier would go through the copies again for
 * each (~75,000 instructions, where this takes ~9,000). */
__noinline int keep_request_text(struct scratch *sc, const struct request_search *rs,
				 struct hs_sampled *tx)
{
	struct tp_scan tp = {};
	struct rt_text *where, rt;
	__u8 have = 0;
	__u32 n;

	if (!tx)
		return 0;
	tx->have = 0;
	if (!sc || !rs || !rs->searched || rs->method >= HS_METHOD_COUNT)
		return 0;
	where = (struct rt_text *)(sc->buf + SCRATCH_TEXT);
	tp.buf = sc->buf;
	tp.lf = (struct tp_lf *)(sc->buf + SCRATCH_LF);
	tp.n = rs->n;
	tp.block_at = rs->block_at;
	have = rt_locate(&tp, rs->method, where);
	rt = *where;
	tx->have = have;
	if (have & HS_TEXT_PATH) {
		n = rt.target_len < HS_PATH_MAX ? rt.target_len : HS_PATH_MAX;
		copy_words((__u64 *)tx->path, sc->buf, rt.target_at, n, HS_PATH_MAX);
		tx->path_len = (__u8)n;
	}
	if (have & HS_TEXT_HOST) {
		n = rt.host_len < HS_HOST_MAX ? rt.host_len : HS_HOST_MAX;
		copy_words((__u64 *)tx->host, sc->buf, rt.host_at, n, HS_HOST_MAX);
		tx->host_len = (__u8)n;
	}
	return have;
}

/* file_context: after the maps it writes. */
#include "bpf/call_parent.h"

/* Claims the in-flight slot of the request starting on the goroutine whose owner tag
 * is tag (see request_start), for the response resp: *ret_idx gets its index. NULL when
 * a start with the same response holds it already (the first hit stands) or no slot
 * could be had. */
static __always_inline struct hs_inflight *claim_slot(__u64 tag, __u32 pid, __u64 resp,
						      __u32 *ret_idx)
{
	struct hs_inflight *v = NULL, *e;
	__u64 seen = 0, oldest_ns = ~0ULL;
	__u32 free_idx = ~0U, old_idx = ~0U, idx, v_idx = 0, h = slot_hash(tag);

	/* This request's slot if a start hit was here before (the same call again after
	 * morestack grew the stack, or a request that never ended with a response at the
	 * same address), else the first free one, else the oldest. The search stops at the
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
			if (e->response == resp)
				return NULL; /* the first hit stands */
			v = e;
			v_idx = idx;
			break;
		}
		if (o == 0) {
			/* The first free slot: a request's own slot comes before it, as it
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
		/* Left by a request that never ended (its handler panicked, say). */
		stat_add(HS_STAT_STALE_START);
	} else if (free_idx != ~0U && (e = bpf_map_lookup_elem(&inflight, &free_idx)) &&
		   __sync_val_compare_and_swap(&e->owner, 0, tag) == 0) {
		v = e;
		v_idx = free_idx;
	} else if (old_idx != ~0U && (e = bpf_map_lookup_elem(&inflight, &old_idx)) &&
		   __sync_val_compare_and_swap(&e->owner, seen, tag) == seen) {
		/* The window is full: the oldest request gives way (if it ends after all,
		 * its end counts as a missing start). */
		stat_add(HS_STAT_STALE_START);
		v = e;
		v_idx = old_idx;
	} else {
		stat_add(HS_STAT_INFLIGHT_FULL);
		return NULL;
	}
	*ret_idx = v_idx;
	return v;
}

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
	struct decision d;
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
	decide(smp, &rs.parent, found, &d);
	v->method_id = rs.method;
	v->sampled = d.sampled;
	if (!d.sampled)
		return 0;
	sd = bpf_map_lookup_elem(&inflight_sampled, &v_idx);
	if (sd) {
		keep_ids(sd, &rs.parent, &d);
		keep_request_text(sc, &rs, sd);
	} else {
		v->sampled = 0;
	}
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

static __always_inline void red_add(__u8 mid, __u16 status, __u64 dur)
{
	struct hs_red_value *v;
	int ss = hs_red_status_slot(status);
	__u32 b = HS_RED_BOUNDS;

	if (mid >= HS_METHOD_COUNT)
		mid = HS_METHOD_OTHER;
	if (ss >= 0) {
		__u32 idx = (__u32)mid * HS_RED_STATUS_SLOTS + (__u32)ss;

		v = bpf_map_lookup_elem(&red, &idx);
	} else {
		struct hs_red_key k = { .method_id = mid, .status = status };

		v = bpf_map_lookup_elem(&red_other, &k);
		if (!v) {
			struct hs_red_value zero = {};

			bpf_map_update_elem(&red_other, &k, &zero, BPF_NOEXIST);
			v = bpf_map_lookup_elem(&red_other, &k);
		}
	}
	if (!v)
		return;
#pragma unroll
	for (int i = HS_RED_BOUNDS - 1; i >= 0; i--) {
		if (dur <= red_bounds_ns[i])
			b = i;
	}
	if (b < HS_RED_BUCKETS)
		v->buckets[b] += 1;
	v->count += 1;
	v->sum_ns += dur;
}

/* The names of enum hs_method, for spans whose method came from the request line:
 * sixteen entries, indexed masked (the verifier does not always see the bound check). */
#define METHOD_TABLE 16
_Static_assert(HS_METHOD_COUNT <= METHOD_TABLE, "method table too small");
struct method_name {
	char name[8];
	__u64 len;
};
static const struct method_name method_names[METHOD_TABLE] = {
	[HS_METHOD_GET] = { "GET", 3 },         [HS_METHOD_HEAD] = { "HEAD", 4 },
	[HS_METHOD_POST] = { "POST", 4 },       [HS_METHOD_PUT] = { "PUT", 3 },
	[HS_METHOD_DELETE] = { "DELETE", 6 },   [HS_METHOD_CONNECT] = { "CONNECT", 7 },
	[HS_METHOD_OPTIONS] = { "OPTIONS", 7 }, [HS_METHOD_TRACE] = { "TRACE", 5 },
	[HS_METHOD_PATCH] = { "PATCH", 5 },
};

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

/* Where a record's request fields are in the request's block (the scratch's block B). */
struct req_fields {
	__u32 url, url_path, host, remote;
};

/* The end of a request, HTTP/1 or HTTP/2, whose start is st (what a sampled one kept in
 * text): its RED series, and its record when sampled; rf, unless NULL, says where the
 * request's fields are in its block. */
static __always_inline int emit_request(const struct started *st, const struct hs_sampled *text,
					__u32 pid, __u64 end, __u64 status, __u8 mid,
					const char *method, __u8 mlen, struct scratch *sc,
					const struct req_fields *rf)
{
	struct hs_span_record *rec;
	__u64 url;

	if (status == 0)
		status = 200;
	if (status > 999)
		status = 999;
	red_add(mid, (__u16)status, end - st->start_ns);
	stat_add(HS_STAT_REQUESTS);
	if (!st->sampled)
		return 0;
	stat_add(HS_STAT_SAMPLED);
	rec = bpf_ringbuf_reserve(&spans, sizeof(*rec), 0);
	if (!rec) {
		stat_add(HS_STAT_RINGBUF_FULL);
		return 0;
	}
	__builtin_memcpy(rec->trace_id, text->trace_id, 16);
	__builtin_memcpy(rec->span_id, text->span_id, 8);
	__builtin_memcpy(rec->parent_span_id, text->parent_span_id, 8);
	rec->start_ns = st->start_ns;
	rec->end_ns = end;
	rec->pid = pid;
	rec->status = (__u16)status;
	rec->trace_flags = text->trace_flags;
	rec->rec_flags = text->rec_flags;
	rec->method_id = mid;
	__builtin_memcpy(rec->method, method, HS_METHOD_MAX);
	rec->method_len = mlen;
	rec->path_len = 0;
	rec->host_len = 0;
	rec->remote_len = 0;
	if (text->have & HS_TEXT_PATH) {
		__builtin_memcpy(rec->path, text->path, HS_PATH_MAX);
		rec->path_len = text->path_len;
		rec->rec_flags |= HS_REC_RAW_TARGET;
	}
	if (text->have & HS_TEXT_HOST) {
		__builtin_memcpy(rec->host, text->host, HS_HOST_MAX);
		rec->host_len = text->host_len;
	}
	if (rf) {
		const __u8 *rb = sc->buf + SCRATCH_BLOCK_B;

		url = block_u64(rb, rf->url);
		if (url && !(text->have & HS_TEXT_PATH))
			rec->path_len = read_go_string(rec->path, HS_PATH_MAX,
						       (void *)(url + rf->url_path));
		if (!(text->have & HS_TEXT_HOST))
			rec->host_len = block_go_string(rec->host, HS_HOST_MAX, rb, rf->host);
		rec->remote_len = block_go_string(rec->remote, HS_REMOTE_MAX, rb, rf->remote);
	}
	/* Wake the reader only when a good part of the ring is waiting: it polls on a
	 * timer anyway, and a wakeup per span costs the traced thread ~1 us. */
	bpf_ringbuf_submit(rec, bpf_ringbuf_query(&spans, BPF_RB_AVAIL_DATA) >=
					ringbuf_wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
							       BPF_RB_NO_WAKEUP);
	return 0;
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

/* --- HTTP/2 (bpf/http2_server.h) ------------------------------------------------- */

/* runHandler at its jbe: RBX = rw (*responseWriter), RCX = req. The request's block
 * (method, URL, Host, remote address, header map, context) is read once; its method
 * goes into the slot, and its header map is searched for a traceparent. */
static __always_inline int h2_start(struct pt_regs *ctx, int scan_headers)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	__u32 sslot = cookie_sampler(cookie), v_idx = 0;
	const struct h2_offsets *off = bpf_map_lookup_elem(&h2_offsets, &slot);
	const struct hs_sampler *smp = bpf_map_lookup_elem(&sampler, &sslot);
	struct scratch *sc = bpf_map_lookup_elem(&header_scratch, &zero);
	__u64 rw = regs_of(ctx)->bx, req = regs_of(ctx)->cx, tag, start;
	struct parent_ids parent = {};
	struct hs_inflight *v;
	struct hs_sampled *sd;
	struct decision d;
	char method[HS_METHOD_MAX] = {};
	__u8 mlen, *rb;
	int found = 0;

	if (!off || !off->valid || !smp || !sc) {
		stat_add(HS_STAT_BAD_OFFSETS);
		return 0;
	}
	if (!rw || !req)
		return 0;
	start = bpf_ktime_get_ns();
	tag = owner_tag(regs_of(ctx)->r14, pid);
	v = claim_slot(tag, pid, rw, &v_idx);
	if (!v)
		return 0;
	v->pid = pid;
	v->start_ns = start;
	v->response = rw;
	v->reader_owner = 0; /* the HTTP/1 reader it may have remembered is not this one's */
	v->reader = req;
	v->method_id = HS_METHOD_OTHER;
	v->sampled = 0;
	rb = sc->buf + SCRATCH_BLOCK_B;
	if (read_block(rb, off->req_block, req))
		return 0;
	mlen = block_go_string(method, 8, rb, off->req_method);
	v->method_id = hs_method_of_string(method, mlen);
	if (off->has_ctx)
		file_context(req + off->req_ctx, pid, tag, start, v_idx);
	if (scan_headers && smp->type != HS_SAMPLER_ALWAYS_OFF)
		found = ghm_find_traceparent(off, block_u64(rb, off->req_header),
					     sc->buf + SCRATCH_BLOCK_A, &parent) == 0;
	if (found)
		stat_add(HS_STAT_TRACEPARENT);
	decide(smp, &parent, found, &d);
	v->sampled = d.sampled;
	if (!d.sampled)
		return 0;
	sd = bpf_map_lookup_elem(&inflight_sampled, &v_idx);
	if (sd) {
		keep_ids(sd, &parent, &d);
		sd->have = 0; /* path and Host come from the request at the end */
	} else {
		v->sampled = 0;
	}
	return 0;
}

SEC("uprobe")
int h2_run_handler(struct pt_regs *ctx)
{
	return h2_start(ctx, 1);
}

SEC("uprobe")
int h2_run_handler_noscan(struct pt_regs *ctx)
{
	return h2_start(ctx, 0);
}

/* handlerDone at its jbe: RAX = w, the handler has returned; its status is in w.rws
 * (0: nothing written, handlerDone's flush writes 200). */
SEC("uprobe")
int h2_handler_done(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	const struct h2_offsets *off = bpf_map_lookup_elem(&h2_offsets, &slot);
	struct scratch *sc = bpf_map_lookup_elem(&header_scratch, &zero);
	__u64 w = regs_of(ctx)->ax, end, rws, status = 0;
	struct started st = {};
	struct hs_sampled *text;
	struct req_fields rf;
	char method[HS_METHOD_MAX] = {};
	__u8 mlen = 0, mid, have_req = 0;

	if (!off || !off->valid || !sc) {
		stat_add(HS_STAT_BAD_OFFSETS);
		return 0;
	}
	if (!w)
		return 0;
	end = bpf_ktime_get_ns();
	text = (struct hs_sampled *)(sc->buf + SCRATCH_SAMPLED);
	if (take_started(regs_of(ctx)->r14, pid, w, 0, &st, text)) {
		stat_add(HS_STAT_MISSING_START);
		return 0;
	}
	rws = read_u64((const void *)(w + off->rw_rws));
	if (rws)
		status = read_u64((const void *)(rws + off->rws_status));
	mid = st.method_id < HS_METHOD_COUNT ? st.method_id : HS_METHOD_OTHER;
	if (st.sampled && read_block(sc->buf + SCRATCH_BLOCK_B, off->req_block, st.req) == 0) {
		have_req = 1;
		mlen = block_go_string(method, HS_METHOD_MAX, sc->buf + SCRATCH_BLOCK_B,
				       off->req_method);
	}
	rf = (struct req_fields){ .url = off->req_url, .url_path = off->url_path,
				  .host = off->req_host, .remote = off->req_remote_addr };
	return emit_request(&st, text, pid, end, status, mid, method, mlen, sc,
			    have_req ? &rf : NULL);
}
