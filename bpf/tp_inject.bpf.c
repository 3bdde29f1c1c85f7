// SPDX-License-Identifier: GPL-2.0
/* Outgoing W3C trace context on the wire, with programs kernel lockdown allows (no
 * bpf_probe_write_user): a cgroup sock_ops program puts the TCP connections that traced
 * processes open into a sockhash, and an sk_msg program on that sockhash, run as such a
 * socket sends, inserts a traceparent header after the request line of a plaintext
 * HTTP/1.x request whose connection has a trace context waiting (bpf/http_client.bpf.c
 * files it, keyed by the connection as Go's net.TCPAddr values name it), unless the
 * request carries a traceparent already.
 *
 * Only connections opened by a process the client probes saw (traced_tgids) are put in
 * the sockhash: the other sockets of the cgroup never run the sk_msg program. A
 * connection opened before its process's first traced call is not tracked (its calls
 * are traced, their context is not carried). */
/* The UAPI's context structs, not vmlinux.h's: the verifier rewrites their fields'
 * offsets itself, and without a CO-RE relocation libbpf does not read and parse the
 * kernel's BTF (~5 MB, 100-250 ms of the agent's start and ~10 MB of its peak RSS) to
 * load this object. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/http_client.h"
#include "bpf/http_request_head.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10

/* Shared with bpf/http_client.bpf.c (the loader reuses its maps). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hc_conn_key);
	__type(value, struct hc_conn_tp);
} conn_tp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

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

/* A hex digit by arithmetic: a table would be a constant clang moves to a mergeable
 * section (.rodata.str1.1 or .rodata.cst16), where the object's BTF offsets no longer
 * hold and the kernel refuses its BTF. */
static __always_inline __u8 hex_digit(__u8 d)
{
	return d < 10 ? '0' + d : 'a' + d - 10;
}

static __always_inline void put_hex(__u8 *dst, const __u8 *src, int n)
{
#pragma unroll
	for (int i = 0; i < n; i++) {
		dst[2 * i] = hex_digit(src[i] >> 4);
		dst[2 * i + 1] = hex_digit(src[i] & 15);
	}
}

SEC("sk_msg")
int tp_sk_msg(struct sk_msg_md *msg)
{
	struct hc_conn_key key = {};
	struct hc_conn_tp *tp;
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
	put_hex(l + 16, tp->trace_id, 16);
	l[48] = '-';
	put_hex(l + 49, tp->span_id, 8);
	l[65] = '-';
	put_hex(l + 66, &tp->flags, 1);
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
