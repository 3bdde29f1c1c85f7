/* Reads of the traced Go process's memory the probes share: a Go string through its
 * header, a struct's first bytes into a scratch block and fields out of that block, a
 * word. Every read is bounded (HS_BLOCK_MAX, the caller's cap). Included by
 * bpf/http_server.bpf.c only: it needs vmlinux.h and the BPF helpers first. */
#ifndef AUTOTRACE_BPF_GO_MEMORY_H
#define AUTOTRACE_BPF_GO_MEMORY_H

#include "bpf/http_server.h"

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

#endif
