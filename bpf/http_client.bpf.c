// SPDX-License-Identifier: GPL-2.0
/* net/http client calls in a Go program (x86-64, Go register ABI), from uprobes whose
 * places agent/client_probes.c chooses by what each hit costs:
 *
 *   start: net/http.(*Transport).roundTrip at the jbe after its stack check,
 *          RBX = *http.Request
 *   conn:  net/http.(*persistConn).roundTrip at its jbe, RAX = *persistConn: the
 *          connection the request is about to be written to (only with propagation)
 *   end:   the instruction after roundTrip's call of (*persistConn).roundTrip (a nop the
 *          compiler puts there, which the kernel emulates), RAX = *http.Response,
 *          RBX = the error's itab
 *   failed: the first instruction of roundTrip's branch for an error from getConn (no
 *          connection: refused, unresolvable...), run only then
 *
 * All four run on the calling goroutine: the call's state is kept by goroutine. Its
 * parent is the server request in flight on the same goroutine, else the one whose
 * context the request's context descends from (a handler that hands r.Context() to a
 * goroutine of its own), found through the context slots the server's start probe
 * fills; else the call starts a trace and is sampled on its own. Every call is counted
 * in the RED histograms; sampled ones are copied out through the ring buffer the server
 * probes use (the loader hands this object that map, the sampler, the in-flight slots
 * and the context slots). With propagation on, the conn probe gives the connection
 * (its ports and peer address) the call's trace context, which bpf/tp_inject.bpf.c
 * writes into the request on the wire. Nothing here writes to user memory. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/http_server.h"
#include "bpf/http_client.h"
#include "bpf/go_memory.h"
#include "bpf/http_method.h"
#include "bpf/sampling_decision.h"
#include "bpf/uprobe_context.h"

char LICENSE[] SEC("license") = "GPL";

/* 1 when bpf/tp_inject.bpf.c is attached: the conn probe is then attached too, and the
 * start names its process to the sock_ops program. */
const volatile __u8 propagate = 0;

/* Shared with bpf/http_server.bpf.c (the loader reuses its maps). */
#include "bpf/server_maps.h"

/* Shared with bpf/tp_inject.bpf.c. */
#define PROPAGATION_MAPS_HTTP1
#include "bpf/propagation_maps.h"

/* This object's own. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct hc_offsets);
} client_offsets SEC(".maps");


/* Elements allocated as calls come (BPF_F_NO_PREALLOC): preallocated, this map alone
 * was 16,384 x 344 bytes (6.8 MB of the agent's memory cgroup) filled in at every
 * start, 12% of the agent's start-up CPU; so is the RED map below. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct hc_call);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, HC_RED_MAX);
	__type(key, struct hc_red_key);
	__type(value, struct hs_red_value);
} client_red SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HC_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} client_stats SEC(".maps");

/* Scratch: the call being built, struct blocks, a RED key. */
struct client_scratch {
	struct hc_call call;
	__u8 block_a[HC_BLOCK_MAX];
	__u8 block_b[HC_BLOCK_MAX];
	struct hc_red_key red_key;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct client_scratch);
} client_scratch SEC(".maps");

/* bpf/go_memory.h's block reads, for blocks up to HC_BLOCK_MAX. */
static __always_inline int cread_block(__u8 *dst, __u32 size, __u64 ptr)
{
	if (!ptr || size == 0 || size > HC_BLOCK_MAX)
		return -1;
	return bpf_probe_read_user(dst, size, (void *)ptr) ? -1 : 0;
}

static __always_inline __u64 cblock_u64(const __u8 *block, __u32 off)
{
	return *(const __u64 *)(block + (off & (HC_BLOCK_MAX - 8)));
}

static __always_inline __u8 cblock_go_string(char *dst, __u64 cap, const __u8 *block, __u32 off)
{
	__u64 ptr = cblock_u64(block, off), n = cblock_u64(block, off + 8);

	if (!ptr || (__s64)n <= 0)
		return 0;
	if (n > cap)
		n = cap;
	if (bpf_probe_read_user(dst, n, (void *)ptr))
		return 0;
	return (__u8)n;
}

static __always_inline void stat_add(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&client_stats, &which);

	if (v)
		*v += 1;
}

/* After the maps it reads. */
#include "bpf/call_parent.h"

/* call_parent.h's lookup, counted by how the parent was found. */
static __always_inline int call_parent(__u64 tag, __u32 pid, __u64 ctx_data)
{
	int how, idx = parent_request(tag, pid, ctx_data, &how);

	if (how == CALL_PARENT_GOROUTINE)
		stat_add(HC_STAT_PARENT_GOROUTINE);
	else if (how == CALL_PARENT_CONTEXT)
		stat_add(HC_STAT_PARENT_CONTEXT);
	return idx;
}

/* call_parent.h's ids, into the call. */
static __always_inline void call_ids(struct hc_call *c, int parent_idx,
				     const struct hs_sampler *smp)
{
	__u8 has_parent;
	struct call_ids ids = {
		.trace_id = c->trace_id, .span_id = c->span_id,
		.parent_span_id = c->parent_span_id, .sampled = &c->sampled,
		.trace_flags = &c->trace_flags, .has_parent = &has_parent,
	};

	call_ids_fill(&ids, parent_idx, smp);
	c->rec_flags = has_parent ? HC_REC_HAS_PARENT : 0;
}

SEC("uprobe")
int client_start(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	__u32 sslot = cookie_sampler(cookie);
	const struct hc_offsets *off = bpf_map_lookup_elem(&client_offsets, &slot);
	/* The process's own sampler (a node agent's pods each have their Instrumentation's),
	 * for a call with no server request above it. */
	const struct hs_sampler *smp = bpf_map_lookup_elem(&sampler, &sslot);
	struct client_scratch *sc = bpf_map_lookup_elem(&client_scratch, &zero);
	__u64 req = regs_of(ctx)->bx, tag = owner_tag(regs_of(ctx)->r14, pid), url, ctx_data;
	struct hc_call *c;

	if (!off || !off->valid || !smp || !sc) {
		stat_add(HC_STAT_BAD_OFFSETS);
		return 0;
	}
	c = &sc->call;
	c->start_ns = bpf_ktime_get_ns();
	c->pid = pid;
	if (cread_block(sc->block_a, off->req_block, req))
		return 0;
	c->method_len = cblock_go_string(c->method, HS_METHOD_MAX, sc->block_a, off->req_method);
	/* An empty Method is GET (net/http). */
	c->method_id = c->method_len ? hs_method_of_string(c->method, c->method_len) :
				       HS_METHOD_GET;
	url = cblock_u64(sc->block_a, off->req_url);
	ctx_data = cblock_u64(sc->block_a, off->req_ctx + 8);
	c->host_len = 0;
	c->scheme_len = 0;
	c->path_len = 0;
	c->query_len = 0;
	call_ids(c, call_parent(tag, pid, ctx_data), smp);
	if (url && cread_block(sc->block_b, off->url_block, url) == 0) {
		/* The host for every call (the RED series carry it); the rest, sampled only.
		 * url.URL.User is never read: url.full carries no credentials. */
		c->host_len = cblock_go_string(c->host, HC_HOST_MAX, sc->block_b, off->url_host);
		if (c->sampled) {
			c->scheme_len = cblock_go_string(c->scheme, HC_SCHEME_MAX, sc->block_b,
							off->url_scheme);
			c->path_len = cblock_go_string(c->path, HC_PATH_MAX, sc->block_b,
						      off->url_path);
			c->query_len = cblock_go_string(c->query, HC_QUERY_MAX, sc->block_b,
						       off->url_raw_query);
		}
	}
	if (propagate) {
		/* Before the call dials: the connection it opens is tracked from its start. */
		__u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);

		if (!bpf_map_lookup_elem(&traced_tgids, &tgid))
			bpf_map_update_elem(&traced_tgids, &tgid, &(__u8){ 1 }, BPF_ANY);
	}
	/* A second hit for the same call (morestack restarted roundTrip) replaces the first. */
	if (bpf_map_update_elem(&calls, &tag, c, BPF_ANY))
		stat_add(HC_STAT_START_FULL);
	return 0;
}

/* The IP of a *net.TCPAddr into key->remote_ip (IPv4 as ::ffff:a.b.c.d) and its port
 * into *port; -1 when unreadable. */
static __always_inline int read_tcp_addr(const struct hc_offsets *off, __u8 *block, __u64 addr,
					 __u8 *ip, __u16 *port)
{
	__u64 p, n;

	if (cread_block(block, off->tcpaddr_block, addr))
		return -1;
	*port = (__u16)cblock_u64(block, off->tcpaddr_port);
	if (!ip)
		return 0;
	p = cblock_u64(block, off->tcpaddr_ip);
	n = cblock_u64(block, off->tcpaddr_ip + 8);
	if (n == 16)
		return bpf_probe_read_user(ip, 16, (const void *)p) ? -1 : 0;
	if (n != 4)
		return -1;
	__builtin_memset(ip, 0, 10);
	ip[10] = 0xff;
	ip[11] = 0xff;
	return bpf_probe_read_user(ip + 12, 4, (const void *)p) ? -1 : 0;
}

SEC("uprobe")
int client_conn(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	const struct hc_offsets *off = bpf_map_lookup_elem(&client_offsets, &slot);
	struct client_scratch *sc = bpf_map_lookup_elem(&client_scratch, &zero);
	__u64 pc = regs_of(ctx)->ax, tag = owner_tag(regs_of(ctx)->r14, pid), conn, fd, laddr,
	      raddr;
	struct hc_conn_key key = {};
	struct hc_conn_tp tp = {};
	struct hc_call *c = bpf_map_lookup_elem(&calls, &tag);

	if (!c || !off || !off->valid || !sc)
		return 0;
	/* pc.conn is a net.Conn: its data word, a *net.TCPConn, starts with net.conn's fd. */
	conn = read_u64((const void *)(pc + off->pconn_conn + 8));
	fd = conn ? read_u64((const void *)(conn + off->conn_fd)) : 0;
	if (!fd || cread_block(sc->block_a, off->netfd_block, fd))
		goto unknown;
	laddr = cblock_u64(sc->block_a, off->netfd_laddr + 8);
	raddr = cblock_u64(sc->block_a, off->netfd_raddr + 8);
	if (!laddr || !raddr ||
	    read_tcp_addr(off, sc->block_b, laddr, NULL, &key.local_port) ||
	    read_tcp_addr(off, sc->block_b, raddr, key.remote_ip, &key.remote_port))
		goto unknown;
	key.tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	__builtin_memcpy(tp.trace_id, c->trace_id, 16);
	__builtin_memcpy(tp.span_id, c->span_id, 8);
	tp.flags = c->trace_flags;
	bpf_map_update_elem(&conn_tp, &key, &tp, BPF_ANY);
	c->rec_flags |= HC_REC_PROPAGATED;
	stat_add(HC_STAT_CONN_KEYED);
	return 0;
unknown:
	stat_add(HC_STAT_CONN_UNKNOWN);
	return 0;
}

static __always_inline void red_add(struct client_scratch *sc, const struct hc_call *c,
				    __u16 status, __u8 error, __u64 dur)
{
	struct hc_red_key *k = &sc->red_key;
	struct hs_red_value *v;
	__u32 b = red_bucket(dur);

	__builtin_memset(k, 0, sizeof(*k));
	k->method_id = c->method_id < HS_METHOD_COUNT ? c->method_id : HS_METHOD_OTHER;
	k->status = status;
	k->error = error;
	k->host_len = c->host_len;
	__builtin_memcpy(k->host, c->host, HC_HOST_MAX);
	v = bpf_map_lookup_elem(&client_red, k);
	if (!v) {
		struct hs_red_value zero = {};

		bpf_map_update_elem(&client_red, k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&client_red, k);
	}
	if (!v)
		return;
	if (b < HS_RED_BUCKETS)
		v->buckets[b] += 1;
	v->count += 1;
	v->sum_ns += dur;
}

/* resp: the *http.Response (0: none); failed: the call returned an error. */
static __always_inline int call_end(struct pt_regs *ctx, __u64 resp, int failed)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	const struct hc_offsets *off = bpf_map_lookup_elem(&client_offsets, &slot);
	struct client_scratch *sc = bpf_map_lookup_elem(&client_scratch, &zero);
	__u64 tag = owner_tag(regs_of(ctx)->r14, pid), end = bpf_ktime_get_ns(), status = 0;
	struct hc_span_record *rec;
	struct hc_call *c;

	if (!off || !off->valid || !sc)
		return 0;
	c = bpf_map_lookup_elem(&calls, &tag);
	if (!c) {
		stat_add(HC_STAT_MISSING_START);
		return 0;
	}
	__builtin_memcpy(&sc->call, c, sizeof(sc->call));
	bpf_map_delete_elem(&calls, &tag);
	c = &sc->call;
	if (!failed && resp)
		status = read_u64((const void *)(resp + off->resp_status_code));
	if (status > 999)
		status = 999;
	if (failed)
		stat_add(HC_STAT_ERRORS);
	red_add(sc, c, (__u16)status, (__u8)failed, end - c->start_ns);
	stat_add(HC_STAT_CALLS);
	if (!c->sampled)
		return 0;
	stat_add(HC_STAT_SAMPLED);
	rec = bpf_ringbuf_reserve(&spans, sizeof(*rec), 0);
	if (!rec) {
		stat_add(HC_STAT_RINGBUF_FULL);
		return 0;
	}
	__builtin_memcpy(rec->trace_id, c->trace_id, 16);
	__builtin_memcpy(rec->span_id, c->span_id, 8);
	__builtin_memcpy(rec->parent_span_id, c->parent_span_id, 8);
	rec->start_ns = c->start_ns;
	rec->end_ns = end;
	rec->pid = pid;
	rec->status = (__u16)status;
	rec->trace_flags = c->trace_flags;
	rec->rec_flags = c->rec_flags | (failed ? HC_REC_ERROR : 0);
	rec->method_id = c->method_id;
	rec->method_len = c->method_len;
	rec->scheme_len = c->scheme_len;
	rec->host_len = c->host_len;
	rec->path_len = c->path_len;
	rec->query_len = c->query_len;
	__builtin_memcpy(rec->method, c->method, HS_METHOD_MAX);
	__builtin_memcpy(rec->scheme, c->scheme, HC_SCHEME_MAX);
	__builtin_memcpy(rec->host, c->host, HC_HOST_MAX);
	__builtin_memcpy(rec->path, c->path, HC_PATH_MAX);
	__builtin_memcpy(rec->query, c->query, HC_QUERY_MAX);
	bpf_ringbuf_submit(rec, bpf_ringbuf_query(&spans, BPF_RB_AVAIL_DATA) >=
					ringbuf_wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
							       BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("uprobe")
int client_end(struct pt_regs *ctx)
{
	return call_end(ctx, regs_of(ctx)->ax, regs_of(ctx)->bx != 0);
}

/* The same at the end of a call roundTrip made over HTTP/2 (pconn.alt.RoundTrip): counted
 * apart, as no trace context went with it (bpf/tp_inject.bpf.c speaks HTTP/1.x only). */
SEC("uprobe")
int client_end_h2(struct pt_regs *ctx)
{
	stat_add(HC_STAT_HTTP2);
	return call_end(ctx, regs_of(ctx)->ax, regs_of(ctx)->bx != 0);
}

SEC("uprobe")
int client_failed(struct pt_regs *ctx)
{
	return call_end(ctx, 0, 1);
}
