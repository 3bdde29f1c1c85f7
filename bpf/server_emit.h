/* The end of a server request, HTTP/1 or HTTP/2: its RED series, and, when it was
 * sampled, its span record (struct hs_span_record) filled and put in the ring buffer.
 * Included by bpf/http_server.bpf.c only, after bpf/server_scratch.h,
 * bpf/server_slots.h and stat_add. BPF only. */
#ifndef AUTOTRACE_BPF_SERVER_EMIT_H
#define AUTOTRACE_BPF_SERVER_EMIT_H

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

#endif
