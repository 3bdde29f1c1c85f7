// SPDX-License-Identifier: GPL-2.0
/* Outgoing W3C trace context on the wire, with programs kernel lockdown allows (no
 * bpf_probe_write_user): a cgroup sock_ops program puts the TCP connections that traced
 * processes open into a sockhash, and an sk_msg program on that sockhash, run as such a
 * socket sends, inserts a traceparent header after the request line of a plaintext
 * HTTP/1.x request whose connection has a trace context waiting (bpf/http_client.bpf.c
 * files it, keyed by the connection as Go's net.TCPAddr values name it), unless the
 * request carries a traceparent already. On an HTTP/2 connection a gRPC client call
 * goes over in plaintext (h2c), it follows the frames (bpf/h2_frame_walk.h) and appends
 * a traceparent field to the header block of each HEADERS frame whose stream
 * bpf/grpc.bpf.c filed a trace context for (by connection and stream id).
 *
 * Only connections opened by a process the client probes saw (traced_tgids) are put in
 * the sockhash: the other sockets of the cgroup never run the sk_msg program.
 * Connections a process had open before are added from user space when it is attached
 * (agent/propagation_adopt.h). */
/* The UAPI's context structs, not vmlinux.h's: the verifier rewrites their fields'
 * offsets itself, and without a CO-RE relocation libbpf does not read and parse the
 * kernel's BTF (~5 MB, 100-250 ms of the agent's start and ~10 MB of its peak RSS) to
 * load this object. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/http_client.h"
#include "bpf/http_request_head.h"
#include "bpf/h2_frame_walk.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10

/* Shared with bpf/http_client.bpf.c (the loader reuses its maps). */
#define PROPAGATION_MAPS_HTTP1
#define PROPAGATION_MAPS_H2
#include "bpf/propagation_maps.h"

/* Connections being opened by a traced process, by socket cookie, until established. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} connecting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HC_INJ_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} inject_stats SEC(".maps");

struct inject_scratch {
	__u8 buf[HRH_SCAN_MAX];
	struct hrh_state st;
	__u32 n;
	__u8 line[HC_TP_LINE_LEN + 2];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct inject_scratch);
} inject_scratch SEC(".maps");

static __always_inline void inj_stat(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&inject_stats, &which);

	if (v)
		*v += 1;
}

SEC("sockops")
int tp_sockops(struct bpf_sock_ops *skops)
{
	__u64 cookie;
	__u32 tgid;

	if (skops->family != AF_INET && skops->family != AF_INET6)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		/* connect(2), in the connecting process. */
		tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
		if (!bpf_map_lookup_elem(&traced_tgids, &tgid))
			return 1;
		cookie = bpf_get_socket_cookie(skops);
		bpf_map_update_elem(&connecting, &cookie, &(__u8){ 1 }, BPF_ANY);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		cookie = bpf_get_socket_cookie(skops);
		if (!bpf_map_lookup_elem(&connecting, &cookie))
			return 1;
		bpf_map_delete_elem(&connecting, &cookie);
		bpf_sock_hash_update(skops, &socks, &cookie, BPF_ANY);
		break;
	}
	return 1;
}

/* An HTTP/2 write being walked: its bytes' address once pulled into one piece, the
 * walk, and the HEADERS frames found waiting for a field (offset, payload length,
 * stream), in the order they come. */
struct h2_scratch {
	__u64 data;
	struct h2w_walk w;
	struct hc_stream_key sk;
	__u32 nhits;
	__u32 hit_off[H2W_HITS_MAX];
	__u32 hit_len[H2W_HITS_MAX];
	__u32 hit_stream[H2W_HITS_MAX];
	__u8 field[H2W_FIELD_LEN + 3];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_scratch);
} h2_scratch SEC(".maps");

/* A write over this size is not walked: the connection falls out of step until a write
 * whose frames end with it (a frame cut across writes is rare below it). */
#define H2_WRITE_MAX 65536

/* bpf_loop's context must be on the stack: it points at the scratch. */
struct scan_ctx {
	struct inject_scratch *sc;
};

/* One step: a byte, or a word of a header line that cannot matter (hrh_advance). */
static long scan_step(__u64 i, void *ctx)
{
	struct inject_scratch *sc = ((struct scan_ctx *)ctx)->sc;

	return hrh_advance(&sc->st, sc->buf, sc->n);
}


struct h2_ctx {
	struct h2_scratch *sc;
};

/* One frame header of the write: a HEADERS frame whose stream waits for a field is
 * noted. Returns 1 to stop. */
static long h2_step(__u64 i, void *ctx)
{
	struct h2_scratch *sc = ((struct h2_ctx *)ctx)->sc;
	struct h2w_frame f;
	__u8 b[H2W_HEADER_LEN];
	__u32 at = sc->w.off, k;

	if (!h2w_more(&sc->w))
		return 1;
	if (bpf_probe_read_kernel(b, sizeof(b), (const void *)(sc->data + at)) ||
	    h2w_step(&sc->w, b, &f)) {
		sc->w.bad = 1;
		return 1;
	}
	if (!h2w_can_append(&f))
		return 0;
	sc->sk.stream_id = f.stream_id;
	if (!bpf_map_lookup_elem(&h2_streams, &sc->sk))
		return 0;
	if (!h2w_whole(&sc->w)) {
		inj_stat(HC_INJ_H2_CUT);
		return 0;
	}
	if (sc->nhits >= H2W_HITS_MAX) {
		inj_stat(HC_INJ_H2_HITS_FULL);
		return 0;
	}
	k = sc->nhits & (H2W_HITS_MAX - 1);
	sc->hit_off[k] = at;
	sc->hit_len[k] = f.length;
	sc->hit_stream[k] = f.stream_id;
	sc->nhits++;
	return 0;
}

/* Appends the field to the HEADERS frame at off (payload len): the bytes pushed at the
 * block's end, then the frame's length grown. 0, or -1 with the write as it was. */
static __always_inline int h2_append(struct sk_msg_md *msg, struct h2_scratch *sc, __u32 off,
				     __u32 len)
{
	__u32 ins = off + H2W_HEADER_LEN + len;
	void *data, *data_end;

	if (bpf_msg_push_data(msg, ins, H2W_FIELD_LEN, 0))
		return -1;
	/* The pushed bytes are an element of their own: pulling just them copies nothing. */
	if (bpf_msg_pull_data(msg, ins, ins + H2W_FIELD_LEN, 0))
		goto undo;
	data = (void *)(long)msg->data;
	data_end = (void *)(long)msg->data_end;
	if (data + H2W_FIELD_LEN > data_end)
		goto undo;
	__builtin_memcpy(data, sc->field, H2W_FIELD_LEN);
	if (bpf_msg_pull_data(msg, off, off + H2W_HEADER_LEN, 0))
		goto undo;
	data = (void *)(long)msg->data;
	data_end = (void *)(long)msg->data_end;
	if (data + H2W_HEADER_LEN > data_end)
		goto undo;
	h2w_grow(data, len);
	return 0;
undo:
	bpf_msg_pop_data(msg, ins, H2W_FIELD_LEN, 0);
	return -1;
}

/* Gives the k-th HEADERS frame found its stream's field. A function of its own, which
 * the verifier checks once rather than at each of the caller's H2W_HITS_MAX turns.
 * Returns 0, or -1 when nothing was appended. */
__attribute__((noinline)) int h2_give(struct sk_msg_md *msg, struct h2_scratch *sc, __u32 k)
{
	struct hc_conn_tp *tp;

	if (!msg || !sc)
		return -1;
	k &= H2W_HITS_MAX - 1;
	sc->sk.stream_id = sc->hit_stream[k];
	tp = bpf_map_lookup_elem(&h2_streams, &sc->sk);
	if (!tp)
		return -1;
	h2w_field(sc->field, tp->trace_id, tp->span_id, tp->flags);
	bpf_map_delete_elem(&h2_streams, &sc->sk);
	if (h2_append(msg, sc, sc->hit_off[k], sc->hit_len[k] & (H2W_MAX_FRAME - 1))) {
		inj_stat(HC_INJ_FAILED);
		return -1;
	}
	inj_stat(HC_INJ_H2_INJECTED);
	return 0;
}

/* A write on an HTTP/2 connection with client streams (bpf/h2_frame_walk.h): follows
 * its frames and appends a traceparent field to each HEADERS frame whose stream waits
 * for one, when the connection is in step. */
static __always_inline int h2_write(struct sk_msg_md *msg, const struct hc_conn_key *key,
				    struct hc_h2_conn *hc)
{
	__u32 zero = 0, size = msg->size, n, skip;
	struct h2_scratch *sc;
	enum h2w_end end;
	void *data, *data_end;
	int in_step = hc->in_step;

	if (in_step && hc->skip >= size) {
		hc->skip -= size; /* all of it inside one frame */
		return SK_PASS;
	}
	sc = bpf_map_lookup_elem(&h2_scratch, &zero);
	if (!sc)
		return SK_PASS;
	/* All of the write in one piece, to read frame headers anywhere in it. */
	n = size < H2_WRITE_MAX ? size : H2_WRITE_MAX;
	if (bpf_msg_pull_data(msg, 0, n, 0))
		goto lost;
	data = (void *)(long)msg->data;
	data_end = (void *)(long)msg->data_end;
	if ((__u64)(data_end - data) < n)
		goto lost;
	sc->data = (__u64)(long)data;
	h2w_begin(&sc->w, n, in_step ? hc->skip : 0);
	sc->sk.conn = *key;
	sc->sk.pad = 0;
	sc->nhits = 0;
	bpf_loop(H2W_FRAMES_MAX, h2_step, &(struct h2_ctx){ .sc = sc }, 0);
	end = h2w_finish(&sc->w, size, &skip);
	/* Out of step, only a write whose frames end with it is trusted to start with one. */
	if (end == H2W_END_LOST || (!in_step && end != H2W_END_EXACT))
		goto lost;
	hc->in_step = 1;
	hc->skip = skip;
	/* The last frame first: the offsets of those before it stay as they were. */
	for (int j = H2W_HITS_MAX - 1; j >= 0; j--) {
		if ((__u32)j < sc->nhits)
			h2_give(msg, sc, (__u32)j);
	}
	return SK_PASS;
lost:
	hc->in_step = 0;
	hc->skip = 0;
	inj_stat(HC_INJ_H2_OUT_OF_STEP);
	return SK_PASS;
}

SEC("sk_msg")
int tp_sk_msg(struct sk_msg_md *msg)
{
	struct hc_conn_key key = {};
	struct hc_conn_tp *tp;
	struct hc_h2_conn *h2;
	struct inject_scratch *sc;
	__u32 zero = 0, n, at, rp;
	void *data, *data_end;
	__u8 *l;

	key.tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	key.local_port = (__u16)msg->local_port;
	/* Network byte order in the u32's upper half, as the kernel fills it on little-endian
	 * machines (a 16-bit load shifted left 16); in its lower half where it is not. */
	rp = bpf_ntohl(msg->remote_port);
	key.remote_port = rp > 0xffff ? bpf_ntohs((__u16)msg->remote_port) : (__u16)rp;
	if (msg->family == AF_INET) {
		key.remote_ip[10] = 0xff;
		key.remote_ip[11] = 0xff;
		__builtin_memcpy(key.remote_ip + 12, &(__u32){ msg->remote_ip4 }, 4);
	} else {
		__u32 ip6[4] = { msg->remote_ip6[0], msg->remote_ip6[1], msg->remote_ip6[2],
				 msg->remote_ip6[3] };

		__builtin_memcpy(key.remote_ip, ip6, 16);
	}
	h2 = bpf_map_lookup_elem(&h2_conns, &key);
	if (h2)
		return h2_write(msg, &key, h2);
	tp = bpf_map_lookup_elem(&conn_tp, &key);
	if (!tp)
		return SK_PASS;
	sc = bpf_map_lookup_elem(&inject_scratch, &zero);
	if (!sc)
		return SK_PASS;
	/* At most HRH_SCAN_MAX - 1 bytes, so that a mask bounds the copy's size for the
	 * verifier. */
	n = msg->size < HRH_SCAN_MAX - 1 ? msg->size : HRH_SCAN_MAX - 1;
	if (bpf_msg_pull_data(msg, 0, n, 0))
		return SK_PASS;
	data = msg->data;
	data_end = msg->data_end;
	if ((__u64)(data_end - data) < n)
		n = (__u32)(data_end - data);
	n &= HRH_SCAN_MAX - 1;
	if (n == 0 || bpf_probe_read_kernel(sc->buf, n, data))
		return SK_PASS;
	__builtin_memset(&sc->st, 0, sizeof(sc->st));
	sc->n = n;
	bpf_loop(HRH_SCAN_MAX, scan_step, &(struct scan_ctx){ .sc = sc }, 0);
	switch (hrh_verdict(&sc->st)) {
	case HRH_INSERT:
		break;
	case HRH_HAS_TRACEPARENT:
		/* The application's own context goes as it is: never a second one. */
		inj_stat(HC_INJ_HAD_TRACEPARENT);
		bpf_map_delete_elem(&conn_tp, &key);
		return SK_PASS;
	default:
		/* Not a request's start (a body, another protocol): the context waits for
		 * the request. */
		inj_stat(HC_INJ_NOT_HTTP);
		return SK_PASS;
	}
	/* "traceparent: 00-<trace id>-<span id>-<flags>\r\n" */
	l = sc->line;
	__builtin_memcpy(l, "traceparent: 00-", 16);
	h2w_put_hex(l + 16, tp->trace_id, 16);
	l[48] = '-';
	h2w_put_hex(l + 49, tp->span_id, 8);
	l[65] = '-';
	h2w_put_hex(l + 66, &tp->flags, 1);
	l[68] = '\r';
	l[69] = '\n';
	bpf_map_delete_elem(&conn_tp, &key);
	at = sc->st.line_end;
	/* The pushed bytes are a scatterlist element of their own, and the kernel sends
	 * each element as a segment of its own (no MSG_MORE between them): a receiver
	 * that reads between two of them can consume the request line and the
	 * traceparent, then slide them out of its read buffer while it waits for the
	 * rest (Go's bufio.Reader does), where a uprobe on its ServeHTTP no longer finds
	 * them. Pulling the whole header block into one element sends it as one segment,
	 * as the application wrote it. */
	if (at == 0 || at >= n || bpf_msg_push_data(msg, at, HC_TP_LINE_LEN, 0) ||
	    bpf_msg_pull_data(msg, 0, n + HC_TP_LINE_LEN, 0)) {
		inj_stat(HC_INJ_FAILED);
		return SK_PASS;
	}
	data = msg->data;
	data_end = msg->data_end;
	at &= HRH_SCAN_MAX - 1;
	if (data + at + HC_TP_LINE_LEN > data_end) {
		inj_stat(HC_INJ_FAILED);
		return SK_PASS;
	}
	__builtin_memcpy(data + at, l, HC_TP_LINE_LEN);
	inj_stat(HC_INJ_INJECTED);
	return SK_PASS;
}
