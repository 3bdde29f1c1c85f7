/* The Traceparent of a Go http.Header (a map[string][]string) in the traced process's
 * memory, for requests whose header bytes are gone by the time a probe sees them (HTTP/2:
 * HPACK-decoded by the connection's goroutine into the request's map). BPF only:
 * included by bpf/http_server.bpf.c after bpf/go_memory.h and bpf/traceparent_scan.h.
 *
 * Nothing hashes the key (that would need the map's seed and Go's AES hash): the search
 * reads the map's groups (swiss tables, Go 1.24 on) or buckets (hmap, before), one read
 * each, and looks at every full slot whose key is 11 bytes long, reading those keys'
 * bytes; the one named Traceparent (any case) with exactly one value has that value
 * read and parsed. A map of up to 8 headers is one group or bucket: for a request
 * without a traceparent that is three reads (the map, its group, an 11-byte key now and
 * then). Everything it reads is bounded: H2_MAP_MAX_GROUPS groups, 64 value bytes. */
#ifndef AUTOTRACE_BPF_GO_HEADER_MAP_H
#define AUTOTRACE_BPF_GO_HEADER_MAP_H

#include "bpf/http2_server.h"

#define GHM_GROUP_BUF 512 /* a group or bucket, indexed masked to this */
#define GHM_VALUE_MAX 64

struct ghm_scratch {
	__u8 group[GHM_GROUP_BUF + 32];
	__u8 key[16];
	__u8 value[GHM_VALUE_MAX + 8];
	struct tp_scan tp; /* what tp_parse_value found */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ghm_scratch);
} ghm_scratch SEC(".maps");

/* The walk over the groups, one bpf_loop step each. */
struct ghm_walk {
	__u64 next;      /* the group or bucket to read next; 0: done */
	__u64 base;      /* the array of groups (buckets) being walked */
	__u64 old;       /* hmap: oldbuckets, walked after buckets; 0: none */
	__u32 idx, count, old_count;
	__u32 swiss;
	__u8 found, stop;
};

/* "tracepar" and "ent" as little-endian words, and the bits that lower-case them. */
#define GHM_WORD0 0x7261706563617274ULL
#define GHM_WORD1 0x746e65ULL
#define GHM_LOWER0 0x2020202020202020ULL
#define GHM_LOWER1 0x202020ULL

/* The key whose string header is at key_at in the group in the scratch is
 * Traceparent, in any case. */
static __always_inline int ghm_key_matches(struct ghm_scratch *g, __u32 key_at)
{
	const __u64 *k = (const __u64 *)(g->group + (key_at & (GHM_GROUP_BUF - 8)));
	__u64 w0, w1;

	if (k[1] != 11 || !k[0])
		return 0;
	if (bpf_probe_read_user(g->key, 11, (const void *)k[0]))
		return 0;
	w0 = *(const __u64 *)g->key;
	w1 = *(const __u32 *)(g->key + 8) & 0xffffff;
	return (w0 | GHM_LOWER0) == GHM_WORD0 && (w1 | GHM_LOWER1) == GHM_WORD1;
}

/* The value of the slot whose element (a []string header) is at elem_at in the group
 * in the scratch, parsed into g->tp; 0 when it is one valid traceparent (more than one
 * is no valid parent: W3C). A global function: the verifier checks the parse once, not
 * once for each way the walk reaches it. Its argument may be null. */
__noinline int ghm_value(struct ghm_scratch *g, __u32 elem_at)
{
	const __u64 *e;
	struct go_string v;
	__u64 vlen;

	if (!g)
		return -1;
	e = (const __u64 *)(g->group + (elem_at & (GHM_GROUP_BUF - 8)));
	if (e[1] != 1 || !e[0])
		return -1;
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)e[0]) || !v.ptr)
		return -1;
	vlen = (__u64)v.len;
	if (vlen < TP_VALUE_LEN || vlen > 512)
		return -1;
	/* The value and the byte after it, when there is one (tp_parse_value looks). */
	g->value[TP_VALUE_LEN] = 0;
	if (bpf_probe_read_user(g->value, vlen > TP_VALUE_LEN ? TP_VALUE_LEN + 1 : TP_VALUE_LEN,
				v.ptr))
		return -1;
	return tp_parse_value(g->value, (__u32)vlen, &g->tp);
}

static long ghm_step(__u32 i, void *ctx)
{
	struct ghm_walk *w = ctx;
	__u32 zero = 0, size, hit = 8;
	struct ghm_scratch *g = bpf_map_lookup_elem(&ghm_scratch, &zero);
	__u64 ovf;

	(void)i;
	if (!g || !w->next)
		return 1;
	size = w->swiss ? H2_SWISS_GROUP : H2_HMAP_BUCKET;
	if (bpf_probe_read_user(g->group, size, (const void *)w->next))
		return 1;
#pragma unroll
	for (__u32 j = 0; j < 8; j++) {
		__u8 c = g->group[j];

		if (w->swiss ? (c & 0x80) != 0 : c < H2_HMAP_MIN_TOPHASH)
			continue; /* empty, deleted, or (hmap) moved to the new buckets */
		if (ghm_key_matches(g, w->swiss ? 8 + j * H2_SWISS_SLOT : H2_HMAP_KEYS + j * 16)) {
			hit = j;
			break;
		}
	}
	if (hit < 8) {
		w->found = ghm_value(g, w->swiss ? 8 + hit * H2_SWISS_SLOT + 16 :
						   H2_HMAP_ELEMS + hit * 24) == 0;
		w->stop = 1;
		return 1;
	}
	w->idx++;
	if (w->swiss) {
		w->next = w->idx < w->count ? w->base + (__u64)w->idx * H2_SWISS_GROUP : 0;
		return w->next ? 0 : 1;
	}
	ovf = *(const __u64 *)(g->group + H2_HMAP_OVERFLOW);
	if (ovf) {
		w->idx--; /* the overflow bucket belongs to the same one */
		w->next = ovf;
	} else if (w->idx < w->count) {
		w->next = w->base + (__u64)w->idx * H2_HMAP_BUCKET;
	} else if (w->old) {
		w->base = w->old;
		w->old = 0;
		w->idx = 0;
		w->count = w->old_count;
		w->next = w->base;
	} else {
		w->next = 0;
	}
	return w->next ? 0 : 1;
}

/* Sets up the walk of the map whose header is at m (the map value of http.Header);
 * -1 when there is nothing to walk. */
static __always_inline int ghm_walk_init(const struct h2_offsets *off, __u64 m, __u8 *block,
					 struct ghm_walk *w)
{
	__u64 dir, table, mask, b;

	if (!m || read_block(block, 64, m))
		return -1;
	if (off->map_kind == H2_MAP_SWISS) {
		w->swiss = 1;
		dir = block_u64(block, off->map_dir_ptr);
		if (!dir)
			return -1;
		if (block_u64(block, off->map_dir_len) == 0) { /* a small map: one group */
			w->base = dir;
			w->count = 1;
		} else { /* the first table (a header map has one) */
			table = read_u64((const void *)dir);
			if (!table || read_block(block, 64, table))
				return -1;
			w->base = block_u64(block, off->table_groups_data);
			mask = block_u64(block, off->table_groups_mask);
			w->count = mask + 1 < H2_MAP_MAX_GROUPS ? (__u32)mask + 1 : H2_MAP_MAX_GROUPS;
		}
	} else if (off->map_kind == H2_MAP_HMAP) {
		w->swiss = 0;
		b = block[off->hmap_b & 63];
		w->base = block_u64(block, off->hmap_buckets);
		w->old = block_u64(block, off->hmap_oldbuckets);
		w->count = b < 4 ? 1u << b : H2_MAP_MAX_GROUPS;
		w->old_count = w->count > 1 ? w->count / 2 : 1;
	} else {
		return -1;
	}
	w->next = w->base;
	return w->base ? 0 : -1;
}

/* The traceparent in the header map at m, into *parent; 0 when found. */
static __always_inline int ghm_find_traceparent(const struct h2_offsets *off, __u64 m,
						__u8 *block, struct parent_ids *parent)
{
	struct ghm_walk w = {};
	__u32 zero = 0;
	struct ghm_scratch *g;

	if (ghm_walk_init(off, m, block, &w))
		return -1;
	bpf_loop(H2_MAP_MAX_GROUPS * 2, ghm_step, &w, 0);
	if (!w.found)
		return -1;
	g = bpf_map_lookup_elem(&ghm_scratch, &zero);
	if (!g)
		return -1;
	__builtin_memcpy(parent->trace_id, g->tp.trace_id, 16);
	__builtin_memcpy(parent->span_id, g->tp.span_id, 8);
	parent->flags = g->tp.flags;
	return 0;
}

#endif
