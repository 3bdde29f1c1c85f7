/* The header-map search of the HTTP/2 start probe (bpf/go_header_map.h), on bytes that
 * stand for a traced process's memory: the BPF code compiled as C, with
 * bpf_probe_read_user reading from the input (an address outside it fails, as an
 * unmapped one does) and bpf_loop a plain loop. The input is a control block (the
 * map's layout, as the agent would give it, and the map's address) and then the
 * memory, at FAKE_BASE. It must never read outside what it asked for, must stop within
 * its bounds, and what it finds must be a valid parent. */
#include <errno.h>
#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What the BPF headers expect of the BPF build. */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#define SEC(name)
#define __uint(name, val) int(*name)[val]
#define __type(name, val) __typeof__(val) *name
#define BPF_MAP_TYPE_PERCPU_ARRAY 6

static const uint8_t *mem;
static size_t mem_len;
static unsigned reads;
#define FAKE_BASE 0x10000ULL

static long bpf_probe_read_user(void *dst, uint32_t size, const void *src)
{
	uint64_t a = (uint64_t)(uintptr_t)src;

	reads++;
	if (a < FAKE_BASE || a - FAKE_BASE > mem_len || size > mem_len - (a - FAKE_BASE)) {
		memset(dst, 0, size);
		return -EFAULT;
	}
	memcpy(dst, mem + (a - FAKE_BASE), size);
	return 0;
}

static void *scratch_value;
static void *bpf_map_lookup_elem(void *map, const void *key)
{
	(void)map;
	(void)key;
	return scratch_value;
}

static long bpf_loop(uint32_t n, long (*cb)(uint32_t, void *), void *ctx, uint64_t flags)
{
	uint32_t i;

	(void)flags;
	for (i = 0; i < n; i++) {
		if (cb(i, ctx))
			return i + 1;
	}
	return i;
}

static uint32_t bpf_get_prandom_u32(void)
{
	return 4; /* not called by the search; sampling_decision.h refers to it */
}

#include "bpf/http_server.h"
#include "bpf/go_memory.h"
#include "bpf/traceparent_scan.h"
#include "bpf/sampling_decision.h"
#include "bpf/go_header_map.h"

/* Whether the last input had a traceparent found (for a seed check). */
int fuzz_header_map_found;

struct ctl {
	uint8_t kind;
	uint8_t dir_ptr, dir_len, groups_data, groups_mask, hmap_b, buckets, oldbuckets;
	uint64_t map;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct h2_offsets off = { 0 };
	struct parent_ids parent;
	struct ghm_scratch *g;
	struct ctl c;
	uint8_t block[HS_BLOCK_MAX];
	int r;

	if (size < sizeof(c))
		return 0;
	memcpy(&c, data, sizeof(c));
	/* As agent/h2_server_probes.c gives them: 8-aligned and below 64. */
	off.map_kind = c.kind % 3;
	off.map_dir_ptr = c.dir_ptr & 56;
	off.map_dir_len = c.dir_len & 56;
	off.table_groups_data = c.groups_data & 56;
	off.table_groups_mask = c.groups_mask & 56;
	off.hmap_b = c.hmap_b & 63;
	off.hmap_buckets = c.buckets & 56;
	off.hmap_oldbuckets = c.oldbuckets & 56;
	mem = data + sizeof(c);
	mem_len = size - sizeof(c);
	reads = 0;
	g = calloc(1, sizeof(*g));
	if (!g)
		return 0;
	scratch_value = g;
	memset(&parent, 0, sizeof(parent));
	r = ghm_find_traceparent(&off, c.map, block, &parent);
	fuzz_header_map_found = r == 0;
	/* The map's header, a table's, and per group (at most 2 * H2_MAP_MAX_GROUPS
	 * steps): the group, 8 keys, the value's header and bytes. */
	if (reads > 3 + 2 * H2_MAP_MAX_GROUPS * (1 + 8 + 2))
		abort();
	if (r == 0) {
		uint8_t any_t = 0, any_s = 0;

		for (int i = 0; i < 16; i++)
			any_t |= parent.trace_id[i];
		for (int i = 0; i < 8; i++)
			any_s |= parent.span_id[i];
		if (!any_t || !any_s)
			abort();
	}
	free(g);
	return 0;
}
