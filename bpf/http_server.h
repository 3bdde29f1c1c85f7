/* What bpf/http_server.bpf.c and the agent share: the ring-buffer span record, the
 * per-binary struct offsets, the sampler, the RED histogram and the statistics.
 * Fixed-width types only, sizes asserted, so the two sides cannot drift. Included by
 * the BPF program (after vmlinux.h) and by the agent (with <linux/types.h>). */
#ifndef AUTOTRACE_BPF_HTTP_SERVER_H
#define AUTOTRACE_BPF_HTTP_SERVER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define HS_METHOD_MAX 16
#define HS_PATH_MAX 128
#define HS_HOST_MAX 64
#define HS_REMOTE_MAX 48
/* Distinct traced binaries (attach cookie -> offsets slot). */
#define HS_MAX_BINARIES 256
/* Live samplers (attach cookie -> sampler slot): slot 0 is a sidecar's one sampler; a
 * node agent gives each Instrumentation it serves a slot, so that each pod samples as
 * its own Instrumentation says, in the kernel. */
#define HS_MAX_SAMPLERS 64

/* The attach cookie: the process's pid (high half), its sampler slot (bits 16-31) and
 * its binary's offsets slot (bits 0-15). */
#define HS_COOKIE(pid, sampler_slot, offsets_slot)                                     \
	((__u64)(__u32)(pid) << 32 | (__u64)((sampler_slot) & 0xffff) << 16 |            \
	 ((offsets_slot) & 0xffff))

enum hs_method {
	HS_METHOD_OTHER = 0,
	HS_METHOD_GET,
	HS_METHOD_HEAD,
	HS_METHOD_POST,
	HS_METHOD_PUT,
	HS_METHOD_DELETE,
	HS_METHOD_CONNECT,
	HS_METHOD_OPTIONS,
	HS_METHOD_TRACE,
	HS_METHOD_PATCH,
	HS_METHOD_COUNT,
};
/* Not known yet: the end probe reads http.Request.Method. */
#define HS_METHOD_UNKNOWN 0xff

/* Record flags. */
#define HS_REC_HAS_PARENT 0x1 /* the request carried a valid traceparent */
#define HS_REC_RAW_TARGET 0x2 /* path holds the request line's target as the client sent
			       * it (escaped, with any query): the agent cuts it at '?'
			       * and decodes it, as Go does for http.Request.URL.Path */

/* One sampled request, as the end probe submits it to the ring buffer. */
struct hs_span_record {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8]; /* zero when there is no parent */
	__u64 start_ns;         /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 end_ns;
	__u32 pid;              /* tgid, in the agent's PID namespace */
	__u16 status;           /* HTTP status; 0 was turned into 200 by the probe */
	__u8 trace_flags;       /* W3C flags to export (bit 0: sampled) */
	__u8 rec_flags;         /* HS_REC_* */
	__u8 method_len, path_len, host_len, remote_len; /* bytes used below */
	__u8 method_id;         /* enum hs_method */
	__u8 pad[3];
	char method[HS_METHOD_MAX];
	char path[HS_PATH_MAX];
	char host[HS_HOST_MAX];
	char remote[HS_REMOTE_MAX];
};
_Static_assert(sizeof(struct hs_span_record) == 320, "hs_span_record layout changed");

/* Struct field offsets of one traced binary (agent/go_fields.def), indexed by the
 * attach cookie of its probes. */
struct hs_offsets {
	__u32 req_method, req_url, req_host, req_remote_addr;
	__u32 url_path;
	__u32 resp_req, resp_status, resp_conn;
	__u32 conn_bufr;
	__u32 bufio_buf, bufio_r;
	__u32 bufio_rd_data; /* the data word of bufio.Reader.rd (an io.Reader) */
	/* Bytes read at once from the start of each struct, to cover the fields above
	 * (one read instead of one per field): at most HS_BLOCK_MAX. */
	__u32 resp_block, req_block, bufio_block;
	__u32 valid; /* 1 once the agent filled the slot */
	/* http.Request.ctx: the start files the request's context in the context slots
	 * (bpf/http_client.h) for client calls to find; 0: it does not. */
	__u32 req_ctx;
	__u32 pad;
};
_Static_assert(sizeof(struct hs_offsets) == 72, "hs_offsets layout changed");
/* Field offsets must be 8-byte aligned (pointers, ints and string headers on amd64),
 * and within a block of this size. */
#define HS_BLOCK_MAX 256

enum hs_sampler_type {
	HS_SAMPLER_ALWAYS_ON = 0,
	HS_SAMPLER_ALWAYS_OFF,
	HS_SAMPLER_RATIO,
	HS_SAMPLER_PARENT_ALWAYS_ON,
	HS_SAMPLER_PARENT_ALWAYS_OFF,
	HS_SAMPLER_PARENT_RATIO,
};

/* The live sampler, one ARRAY slot the agent rewrites. A ratio sampler keeps a trace
 * iff the trace id's last 8 bytes, read as a big-endian number, are below threshold
 * (threshold == UINT64_MAX keeps every trace), so every service agrees. */
struct hs_sampler {
	__u32 type; /* enum hs_sampler_type */
	__u32 pad;
	__u64 threshold;
	__u64 revision;
};
_Static_assert(sizeof(struct hs_sampler) == 24, "hs_sampler layout changed");

/* OTel HTTP semconv duration buckets (seconds): 0.005 ... 10, then +Inf. */
#define HS_RED_BOUNDS 14
#define HS_RED_BUCKETS (HS_RED_BOUNDS + 1)

struct hs_red_key {
	__u16 method_id; /* enum hs_method */
	__u16 status;
};
_Static_assert(sizeof(struct hs_red_key) == 4, "hs_red_key layout changed");

/* Per CPU; user space sums the CPUs. Buckets are not cumulative. */
struct hs_red_value {
	__u64 buckets[HS_RED_BUCKETS];
	__u64 count;
	__u64 sum_ns;
};
_Static_assert(sizeof(struct hs_red_value) == 136, "hs_red_value layout changed");

/* The RED series live in a per-CPU array indexed by method and status (an array slot
 * costs a few ns, a hash lookup ~30): statuses 100-599 whose last two digits are below
 * HS_RED_STATUS_PER_CLASS have a slot; the others go to a small per-CPU hash. */
#define HS_RED_STATUS_PER_CLASS 32
#define HS_RED_STATUS_SLOTS (5 * HS_RED_STATUS_PER_CLASS)
#define HS_RED_SLOTS (HS_METHOD_COUNT * HS_RED_STATUS_SLOTS)
#define HS_RED_OTHER_MAX 1024

/* The status slot of status, or -1 when it goes to the hash. */
static inline int hs_red_status_slot(__u32 status)
{
	__u32 class = status / 100, rest = status % 100;

	if (class < 1 || class > 5 || rest >= HS_RED_STATUS_PER_CLASS)
		return -1;
	return (int)((class - 1) * HS_RED_STATUS_PER_CLASS + rest);
}

/* The status of a status slot, its inverse. */
static inline __u32 hs_red_slot_status(__u32 slot)
{
	return (slot / HS_RED_STATUS_PER_CLASS + 1) * 100 + slot % HS_RED_STATUS_PER_CLASS;
}

enum hs_stat {
	HS_STAT_REQUESTS = 0,    /* requests that ended (end probe) */
	HS_STAT_SAMPLED,         /* of those, sampled */
	HS_STAT_RINGBUF_FULL,    /* sampled, but no room in the ring buffer */
	HS_STAT_INFLIGHT_FULL,   /* a start could not be stored (lost a race for its slot) */
	HS_STAT_MISSING_START,   /* an end without a start (evicted, or attached mid-request) */
	HS_STAT_TRACEPARENT,     /* starts that carried a valid traceparent */
	HS_STAT_STALE_START,     /* a slot taken from a request that had not ended: one that
				  * never will (its handler panicked), or the oldest of a
				  * full window (if it ends after all: a missing start) */
	HS_STAT_BAD_OFFSETS,     /* a probe hit for a binary without offsets */
	HS_STAT_COUNT,
};

/* The in-flight requests: an array of slots, a request's slot found from its key (the
 * goroutine serving it, which for net/http's server is its connection's, one request at
 * a time: a connection's requests come back to the same slot, whose cache line is warm)
 * and pid by hashing, then up to HS_INFLIGHT_WINDOW slots on. A start claims the first
 * free slot with one compare-and-swap of owner and the end frees it, a few ns each
 * where a hash map's insert and delete cost ~200 ns. A start that finds its window full
 * takes the oldest slot (counted: a request that never ended, or an eviction). */
#define HS_INFLIGHT_WINDOW 4

/* A slot is one cache line: an unsampled request touches nothing else of the maps.
 * Besides the request in flight, it remembers the connection's bufio.Reader as the last
 * start found it, which saves the start two reads of the three that lead to it (~75 ns
 * each: response.conn and conn.bufr). The remembered reader is taken for the same
 * goroutine and process while it still reads from the connReader it read from then: a
 * goroutine whose connection closed may serve a new one, but the old connection's reader
 * went back to a pool, where its rd is reset, or to another connection, with that one's
 * rd. What that check cannot tell apart (the reader given to a connection whose
 * connReader sits where the first one's did, after a garbage collection) the end finds
 * out, as it reads response.conn anyway: it forgets the reader and searches the right
 * connection's buffer itself. The start also walks the chain again every
 * HS_READER_RECHECK uses. */
#define HS_READER_RECHECK 16
struct hs_inflight {
	__u64 owner;     /* the key's tag; 0: free */
	__u64 start_ns;
	__u64 response;  /* the *http.response: a second start hit with the same one is a
			  * restart (morestack), and the end checks it is its own */
	__u32 pid;       /* the owner's pid (as the agent sees it), written after the claim */
	__u8 sampled;
	__u8 method_id;  /* from the request line; HS_METHOD_UNKNOWN: read it at the end */
	__u16 reader_uses;  /* starts since the reader chain was walked */
	/* Kept when the slot is freed. */
	__u64 reader_owner; /* the owner tag the reader was found for; 0: none */
	__u64 reader;       /* the *bufio.Reader */
	__u64 reader_src;   /* its rd's data word then (the *connReader) */
	__u64 reader_conn;  /* the *http.conn whose reader it was */
};
_Static_assert(sizeof(struct hs_inflight) == 64, "hs_inflight layout changed");

/* What a sampled request keeps from its start to its end, beside its in-flight slot
 * (same index), written only for sampled requests: its ids, and its path and Host,
 * taken at the start from the request's bytes in the connection's read buffer (which
 * the traceparent search copied anyway) instead of read from http.Request at the end. */
#define HS_TEXT_PATH 0x1 /* path holds the raw request target (HS_REC_RAW_TARGET) */
#define HS_TEXT_HOST 0x2 /* host holds the Host header's value (empty: none was sent) */
struct hs_sampled {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8];
	char path[HS_PATH_MAX];
	char host[HS_HOST_MAX];
	__u8 path_len, host_len;
	__u8 have; /* HS_TEXT_*: what the end must not read from http.Request */
	__u8 trace_flags;
	__u8 rec_flags;
	__u8 pad[3];
};
_Static_assert(sizeof(struct hs_sampled) == 232, "hs_sampled layout changed");

#endif
