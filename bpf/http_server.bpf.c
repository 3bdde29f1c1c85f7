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
 * through the ring buffer. Struct offsets differ per Go version: each probe carries,
 * as its attach cookie, the slot of its binary's offsets in the offsets map. Nothing
 * here writes to user memory. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/http_server.h"
#include "bpf/traceparent_scan.h"

char LICENSE[] SEC("license") = "GPL";

#ifndef EEXIST
#define EEXIST 17
#endif

/* Set by the loader before load. */
const volatile __u64 ringbuf_wakeup_bytes = 256 * 1024;
/* The agent's PID namespace (dev and inode of /proc/self/ns/pid): records carry pids as
 * the agent sees them, which is how it attached; zero: the kernel's own tgid. */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by the loader */
} spans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384); /* resized by the loader */
	/* Per-CPU free lists: no lock shared by all CPUs on every request. */
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct hs_inflight_key);
	__type(value, struct hs_inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct hs_offsets);
} offsets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hs_sampler);
} sampler SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct hs_red_key);
	__type(value, struct hs_red_value);
} red SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Scratch space: the connection's read buffer, copied for the traceparent search (with
 * room past the scan size, so that an index masked to it plus a look-ahead stays
 * inside), and blocks of Go structs read at once. */
#define SCRATCH_SIZE (2 * TP_SCAN_MAX)
#define SCRATCH_BLOCK_A (TP_SCAN_MAX + 256)
#define SCRATCH_BLOCK_B (SCRATCH_BLOCK_A + HS_BLOCK_MAX)
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

static const __u64 red_bounds_ns[HS_RED_BOUNDS] = {
	5000000ULL,   10000000ULL,  25000000ULL,  50000000ULL,   75000000ULL,
	100000000ULL, 250000000ULL, 500000000ULL, 750000000ULL,  1000000000ULL,
	2500000000ULL, 5000000000ULL, 7500000000ULL, 10000000000ULL,
};

static __always_inline __u32 current_pid(void)
{
	struct bpf_pidns_info ns;

	if (pidns_ino && !bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return ns.tgid;
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline void stat_add(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1;
}

struct go_string {
	const char *ptr;
	__s64 len;
};

/* Copies up to cap bytes of the Go string whose header is at hdr; returns how many. */
static __always_inline __u8 read_go_string(char *dst, __u64 cap, const void *hdr)
{
	struct go_string s;
	__u64 n;

	if (bpf_probe_read_user(&s, sizeof(s), hdr) || s.len <= 0 || !s.ptr)
		return 0;
	n = (__u64)s.len;
	if (n > cap)
		n = cap;
	if (bpf_probe_read_user(dst, n, s.ptr))
		return 0;
	return (__u8)n;
}

/* A field of a struct block in the scratch: offsets are 8-aligned and in the block. */
static __always_inline __u64 block_u64(const __u8 *block, __u32 off)
{
	return *(const __u64 *)(block + (off & (HS_BLOCK_MAX - 8)));
}

/* Copies up to cap bytes of the Go string whose header is in a struct block. */
static __always_inline __u8 block_go_string(char *dst, __u64 cap, const __u8 *block, __u32 off)
{
	const __u64 *hdr = (const __u64 *)(block + (off & (HS_BLOCK_MAX - 8)));
	__u64 ptr = hdr[0], n = hdr[1];

	if (!ptr || (__s64)n <= 0)
		return 0;
	if (n > cap)
		n = cap;
	if (bpf_probe_read_user(dst, n, (void *)ptr))
		return 0;
	return (__u8)n;
}

/* Reads the first size bytes (at most HS_BLOCK_MAX) of a struct into dst. */
static __always_inline int read_block(__u8 *dst, __u32 size, __u64 ptr)
{
	if (!ptr || size == 0 || size > HS_BLOCK_MAX)
		return -1;
	return bpf_probe_read_user(dst, size, (void *)ptr) ? -1 : 0;
}

static __always_inline __u64 read_u64(const void *p)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), p);
	return v;
}

#define M3(a, b, c) ((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16)
#define M4(a, b, c, d) (M3(a, b, c) | (__u64)(d) << 24)
#define M5(a, b, c, d, e) (M4(a, b, c, d) | (__u64)(e) << 32)
#define M6(a, b, c, d, e, f) (M5(a, b, c, d, e) | (__u64)(f) << 40)
#define M7(a, b, c, d, e, f, g) (M6(a, b, c, d, e, f) | (__u64)(g) << 48)

static __always_inline __u8 method_id(const char *m, __u8 len)
{
	__u64 w = 0;

	if (len > 7)
		return HS_METHOD_OTHER;
	__builtin_memcpy(&w, m, 8);
	w &= (1ULL << (8 * len)) - 1;
	switch (len) {
	case 3:
		if (w == M3('G', 'E', 'T'))
			return HS_METHOD_GET;
		if (w == M3('P', 'U', 'T'))
			return HS_METHOD_PUT;
		break;
	case 4:
		if (w == M4('P', 'O', 'S', 'T'))
			return HS_METHOD_POST;
		if (w == M4('H', 'E', 'A', 'D'))
			return HS_METHOD_HEAD;
		break;
	case 5:
		if (w == M5('P', 'A', 'T', 'C', 'H'))
			return HS_METHOD_PATCH;
		if (w == M5('T', 'R', 'A', 'C', 'E'))
			return HS_METHOD_TRACE;
		break;
	case 6:
		if (w == M6('D', 'E', 'L', 'E', 'T', 'E'))
			return HS_METHOD_DELETE;
		break;
	case 7:
		if (w == M7('O', 'P', 'T', 'I', 'O', 'N', 'S'))
			return HS_METHOD_OPTIONS;
		if (w == M7('C', 'O', 'N', 'N', 'E', 'C', 'T'))
			return HS_METHOD_CONNECT;
		break;
	}
	return HS_METHOD_OTHER;
}

/* --- incoming traceparent: the search is bpf/traceparent_scan.h ----------------- */

/* Looks for a traceparent header in the request's bytes still in the connection's
 * bufio.Reader: buf[0:r] ends with the blank line after the headers. */
static __always_inline int find_traceparent(const struct hs_offsets *off, __u64 resp,
					    struct tp_scan *s)
{
	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&header_scratch, &zero);
	__u64 conn, bufr, buf, r;

	if (!sc)
		return -1;
	conn = read_u64((void *)(resp + off->resp_conn));
	if (!conn)
		return -1;
	bufr = read_u64((void *)(conn + off->conn_bufr));
	if (read_block(sc->buf + SCRATCH_BLOCK_A, off->bufio_block, bufr))
		return -1;
	buf = block_u64(sc->buf + SCRATCH_BLOCK_A, off->bufio_buf);
	r = block_u64(sc->buf + SCRATCH_BLOCK_A, off->bufio_r);
	if (!buf || r == 0)
		return -1;
	if (r > TP_SCAN_MAX)
		r = TP_SCAN_MAX;
	if (bpf_probe_read_user(sc->buf, r, (void *)buf))
		return -1;
	s->buf = sc->buf;
	s->n = (__u32)r;
	s->candidate = 0;
	bpf_loop(tp_scan_steps((__u32)r), tp_scan_step, s, 0);
	return tp_scan_finish(s);
}

/* --- sampling --------------------------------------------------------------------- */

static __always_inline __u64 trace_id_low_be(const __u8 *tid)
{
	__u64 v = 0;

#pragma unroll
	for (int i = 8; i < 16; i++)
		v = v << 8 | tid[i];
	return v;
}

static __always_inline int ratio_keeps(const struct hs_sampler *smp, const __u8 *tid)
{
	return smp->threshold == ~0ULL || trace_id_low_be(tid) < smp->threshold;
}

static __always_inline int should_sample(const struct hs_sampler *smp, int has_parent,
					 __u8 parent_flags, const __u8 *tid)
{
	switch (smp->type) {
	case HS_SAMPLER_ALWAYS_ON:
		return 1;
	case HS_SAMPLER_ALWAYS_OFF:
		return 0;
	case HS_SAMPLER_RATIO:
		return ratio_keeps(smp, tid);
	case HS_SAMPLER_PARENT_ALWAYS_ON:
		return has_parent ? parent_flags & 1 : 1;
	case HS_SAMPLER_PARENT_ALWAYS_OFF:
		return has_parent ? parent_flags & 1 : 0;
	case HS_SAMPLER_PARENT_RATIO:
		return has_parent ? parent_flags & 1 : ratio_keeps(smp, tid);
	}
	return 0;
}

static __always_inline void random_bytes(__u8 *dst, int words)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (i >= words)
			break;
		__u32 r = bpf_get_prandom_u32();

		__builtin_memcpy(dst + 4 * i, &r, 4);
	}
}

/* --- probes ----------------------------------------------------------------------- */

/* by_goroutine: the placement other tracers use (entry at the symbol, end at each RET,
 * where no register holds the response any more), keyed by goroutine instead; only the
 * benchmarks attach it, to compare placements doing the same work. */
static __always_inline int request_start(struct pt_regs *ctx, int scan_headers, int by_goroutine)
{
	__u32 slot = (__u32)bpf_get_attach_cookie(ctx), zero = 0;
	const struct hs_offsets *off = bpf_map_lookup_elem(&offsets, &slot);
	const struct hs_sampler *smp = bpf_map_lookup_elem(&sampler, &zero);
	struct hs_inflight_key key = {};
	struct hs_inflight v = {}, *old;
	struct tp_scan tp = {};
	__u64 resp = ctx->cx;
	long err;

	if (!off || !off->valid || !smp) {
		stat_add(HS_STAT_BAD_OFFSETS);
		return 0;
	}
	if (!resp)
		return 0;
	key.response = by_goroutine ? ctx->r14 : resp;
	key.pid = current_pid();
	v.start_ns = bpf_ktime_get_ns();
	v.goroutine = ctx->r14;
	v.response = resp;
	if (scan_headers && smp->type != HS_SAMPLER_ALWAYS_OFF &&
	    find_traceparent(off, resp, &tp) == 0) {
		stat_add(HS_STAT_TRACEPARENT);
		__builtin_memcpy(v.trace_id, tp.trace_id, 16);
		__builtin_memcpy(v.parent_span_id, tp.span_id, 8);
		v.rec_flags = HS_REC_HAS_PARENT;
	} else {
		random_bytes(v.trace_id, 4);
	}
	random_bytes(v.span_id, 2);
	v.span_id[0] |= 1; /* never all zero */
	v.sampled = should_sample(smp, v.rec_flags & HS_REC_HAS_PARENT, tp.flags, v.trace_id);
	v.trace_flags = v.sampled ? (tp.flags | 1) : 0;
	/* No lookup first: the insert fails only when an entry is there already. */
	err = bpf_map_update_elem(&inflight, &key, &v, BPF_NOEXIST);
	if (err == -EEXIST) {
		old = bpf_map_lookup_elem(&inflight, &key);
		/* The same call again after morestack grew the stack: keep the first hit. */
		if (old && old->goroutine == ctx->r14 && old->response == resp)
			return 0;
		/* Left by a request that never ended (its handler panicked, say). */
		stat_add(HS_STAT_STALE_START);
		err = bpf_map_update_elem(&inflight, &key, &v, BPF_ANY);
	}
	if (err)
		stat_add(HS_STAT_INFLIGHT_FULL);
	return 0;
}

/* With the header scan (bpf_loop, kernel >= 5.17) ... */
SEC("uprobe")
int serve_http_start(struct pt_regs *ctx)
{
	return request_start(ctx, 1, 0);
}

/* ... and without, for kernels that lack bpf_loop (the loader picks one). */
SEC("uprobe")
int serve_http_start_noscan(struct pt_regs *ctx)
{
	return request_start(ctx, 0, 0);
}

static __always_inline void red_add(__u8 mid, __u16 status, __u64 dur)
{
	struct hs_red_key k = { .method_id = mid, .status = status };
	struct hs_red_value *v = bpf_map_lookup_elem(&red, &k);
	__u32 b = HS_RED_BOUNDS;

	if (!v) {
		struct hs_red_value zero = {};

		bpf_map_update_elem(&red, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&red, &k);
		if (!v)
			return;
	}
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

static __always_inline int request_end(struct pt_regs *ctx, __u64 key_ptr, int by_goroutine)
{
	__u32 slot = (__u32)bpf_get_attach_cookie(ctx);
	const struct hs_offsets *off = bpf_map_lookup_elem(&offsets, &slot);
	struct hs_inflight_key key = {};
	struct hs_inflight *v;
	struct hs_span_record *rec;
	char method[HS_METHOD_MAX] = {};
	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&header_scratch, &zero);
	__u64 resp, req, end, status = 0, url;
	__u8 mlen = 0, mid, have_req = 0;

	if (!off || !off->valid || !sc) {
		stat_add(HS_STAT_BAD_OFFSETS);
		return 0;
	}
	key.response = key_ptr;
	key.pid = current_pid();
	v = bpf_map_lookup_elem(&inflight, &key);
	if (!v) {
		stat_add(HS_STAT_MISSING_START);
		return 0;
	}
	resp = by_goroutine ? v->response : key_ptr;
	end = bpf_ktime_get_ns();
	/* Two reads for both structs' fields: each read of user memory costs ~0.1 us. */
	if (read_block(sc->buf + SCRATCH_BLOCK_A, off->resp_block, resp) == 0) {
		req = block_u64(sc->buf + SCRATCH_BLOCK_A, off->resp_req);
		status = block_u64(sc->buf + SCRATCH_BLOCK_A, off->resp_status);
		if (read_block(sc->buf + SCRATCH_BLOCK_B, off->req_block, req) == 0) {
			have_req = 1;
			mlen = block_go_string(method, HS_METHOD_MAX, sc->buf + SCRATCH_BLOCK_B,
					       off->req_method);
		}
	}
	if (status == 0)
		status = 200;
	if (status > 999)
		status = 999;
	mid = method_id(method, mlen);
	red_add(mid, (__u16)status, end - v->start_ns);
	stat_add(HS_STAT_REQUESTS);
	if (!v->sampled)
		goto done;
	stat_add(HS_STAT_SAMPLED);
	rec = bpf_ringbuf_reserve(&spans, sizeof(*rec), 0);
	if (!rec) {
		stat_add(HS_STAT_RINGBUF_FULL);
		goto done;
	}
	__builtin_memcpy(rec->trace_id, v->trace_id, 16);
	__builtin_memcpy(rec->span_id, v->span_id, 8);
	__builtin_memcpy(rec->parent_span_id, v->parent_span_id, 8);
	rec->start_ns = v->start_ns;
	rec->end_ns = end;
	rec->pid = key.pid;
	rec->status = (__u16)status;
	rec->trace_flags = v->trace_flags;
	rec->rec_flags = v->rec_flags;
	rec->method_id = mid;
	__builtin_memcpy(rec->method, method, HS_METHOD_MAX);
	rec->method_len = mlen;
	rec->path_len = 0;
	rec->host_len = 0;
	rec->remote_len = 0;
	if (have_req) {
		const __u8 *rb = sc->buf + SCRATCH_BLOCK_B;

		url = block_u64(rb, off->req_url);
		if (url)
			rec->path_len = read_go_string(rec->path, HS_PATH_MAX,
						       (void *)(url + off->url_path));
		rec->host_len = block_go_string(rec->host, HS_HOST_MAX, rb, off->req_host);
		rec->remote_len = block_go_string(rec->remote, HS_REMOTE_MAX, rb,
						  off->req_remote_addr);
	}
	/* Wake the reader only when a good part of the ring is waiting: it polls on a
	 * timer anyway, and a wakeup per span costs the traced thread ~1 us. */
	bpf_ringbuf_submit(rec, bpf_ringbuf_query(&spans, BPF_RB_AVAIL_DATA) >=
					ringbuf_wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
							       BPF_RB_NO_WAKEUP);
done:
	bpf_map_delete_elem(&inflight, &key);
	return 0;
}

SEC("uprobe")
int finish_request(struct pt_regs *ctx)
{
	return request_end(ctx, ctx->ax, 0);
}

/* The other tracers' placement, for the benchmarks: ServeHTTP's first instruction... */
SEC("uprobe")
int serve_http_start_at_symbol(struct pt_regs *ctx)
{
	return request_start(ctx, 1, 1);
}

/* ... and each of its RET instructions. */
SEC("uprobe")
int serve_http_end_at_ret(struct pt_regs *ctx)
{
	return request_end(ctx, ctx->r14, 1);
}
