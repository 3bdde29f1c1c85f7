/* The HTTP/2 server's probes (bpf/http2_server.h): runHandler and handlerDone on the
 * handler's goroutine take the same in-flight slots, RED series and records as the
 * HTTP/1 probes; their traceparent comes from the request's header map
 * (bpf/go_header_map.h). Included by bpf/http_server.bpf.c only, at its end. BPF
 * only. */
#ifndef AUTOTRACE_BPF_HTTP2_SERVER_PROBES_H
#define AUTOTRACE_BPF_HTTP2_SERVER_PROBES_H

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
	sd = inflight_decide(v, v_idx, smp, &parent, found);
	if (sd)
		sd->have = 0; /* path and Host come from the request at the end */
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

#endif
