/* The maps of bpf/http_server.bpf.c that the other probe families' objects share (their
 * loaders reuse the server's map fds: agent/client_loader.c, grpc_loader.c,
 * db_loader.c), and the rodata that goes with them: the ring buffer every record goes
 * into, the requests in flight and their sampled ids, the sampler slots, and the
 * context slots that link a call to its request. Declared here once, so that every
 * object lays them out alike, bpf/http_server.bpf.c's own included. Included after
 * vmlinux.h, the BPF helpers, bpf/http_server.h and bpf/http_client.h. BPF only. */
#ifndef AUTOTRACE_BPF_SERVER_MAPS_H
#define AUTOTRACE_BPF_SERVER_MAPS_H

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
	__uint(max_entries, HS_MAX_SAMPLERS);
	__type(key, __u32);
	__type(value, struct hs_sampler);
} sampler SEC(".maps");

/* See struct hc_ctx_slot: written by the server probes, read by the calls'. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HC_CTX_SLOTS);
	__type(key, __u32);
	__type(value, struct hc_ctx_slot);
} ctx_slots SEC(".maps");

#endif
