/* The per-CPU scratch space of bpf/http_server.bpf.c's probes, and its layout: the
 * request's bytes copied for the traceparent search, blocks of Go structs read at
 * once, and what a probe keeps there rather than on its stack (the verifier allows a
 * chain of calls 512 bytes of stack). Included by bpf/http_server.bpf.c only, after
 * bpf/http_server.h, bpf/traceparent_scan.h, bpf/request_text.h and
 * bpf/sampling_decision.h. BPF only. */
#ifndef AUTOTRACE_BPF_SERVER_SCRATCH_H
#define AUTOTRACE_BPF_SERVER_SCRATCH_H

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

#endif
