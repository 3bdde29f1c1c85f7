/* The HTTP/1 request's traceparent, path and Host, from the bytes still in the
 * bufio.Reader of its connection: which reader that is (remembered in the request's
 * in-flight slot), the search of its bytes (bpf/traceparent_scan.h), and a sampled
 * request's path and Host kept from them (bpf/request_text.h). Included by
 * bpf/http_server.bpf.c only, after bpf/server_scratch.h and stat_add. BPF only. */
#ifndef AUTOTRACE_BPF_HTTP1_REQUEST_SEARCH_H
#define AUTOTRACE_BPF_HTTP1_REQUEST_SEARCH_H

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

#endif
