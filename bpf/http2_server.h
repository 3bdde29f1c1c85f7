/* What the HTTP/2 server probes of bpf/http_server.bpf.c and the agent share: the
 * struct offsets of one traced binary's HTTP/2 server (net/http's bundle up to Go 1.26,
 * net/http/internal/http2 from 1.27) and of its header maps. Fixed-width types only,
 * sizes asserted. Included by the BPF program (after vmlinux.h) and by the agent.
 *
 * An HTTP/2 request is served on a goroutine of its own, which runs
 * (*serverConn).runHandler(sc, rw, req, handler) (the start: RBX = rw, RCX = req) and
 * ends in (*responseWriter).handlerDone(w) (the end: RAX = w, the same rw), called
 * from runHandler's deferred function once the handler returned: the in-flight slot is
 * keyed by that goroutine, as an HTTP/1 request's is. The handler's ServeHTTP probe
 * (net/http.serverHandler.ServeHTTP) then finds the slot the start took for the same
 * ResponseWriter and leaves it alone. Spans go out as struct hs_span_record. */
#ifndef AUTOTRACE_BPF_HTTP2_SERVER_H
#define AUTOTRACE_BPF_HTTP2_SERVER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* HTTP/2 offsets slots: a binary's net/http server at its offsets slot, its
 * golang.org/x/net/http2 server (when it has one too) at that slot +
 * HS_MAX_BINARIES: the attach cookie of each server's probes carries its own. */
#define H2_OFFSETS_SLOTS (2 * HS_MAX_BINARIES)

/* The header map's layout (a Go map[string][]string). */
#define H2_MAP_SWISS 1 /* internal/runtime/maps, Go 1.24 on */
#define H2_MAP_HMAP 2  /* runtime.hmap, before */

struct h2_offsets {
	/* The request runHandler gets (*http.Request, or *http2.ServerRequest from 1.27),
	 * its fields read in one block of req_block bytes (at most HS_BLOCK_MAX). */
	__u32 req_method, req_url, req_host, req_remote_addr, req_header;
	__u32 req_ctx;       /* its context.Context (an interface), when has_ctx */
	__u32 req_block;
	__u32 url_path;      /* net/url.URL.Path */
	__u32 rw_rws;        /* responseWriter.rws (*responseWriterState) */
	__u32 rws_status;    /* responseWriterState.status (int) */
	/* Header maps. Swiss tables: Map.dirPtr, Map.dirLen, and a table's groups' data
	 * and lengthMask (table.groups + groupsReference's). hmap: B, buckets,
	 * oldbuckets. */
	__u32 map_kind;      /* H2_MAP_*; 0: the traceparent is not searched */
	__u32 map_dir_ptr, map_dir_len;
	__u32 table_groups_data, table_groups_mask;
	__u32 hmap_b, hmap_buckets, hmap_oldbuckets;
	__u32 valid;         /* 1 once the agent filled the slot */
	__u32 has_ctx;       /* the start files the context for client calls */
};
_Static_assert(sizeof(struct h2_offsets) == 80, "h2_offsets layout changed");

/* A map[string][]string's groups (swiss) and buckets (hmap) on amd64: they follow from
 * the key and element types, not from a struct the DWARF names. A swiss group is a
 * control word (a byte a slot: high bit clear when full) and 8 slots of key (a string
 * header, 16 bytes) and element (a slice header, 24 bytes); an hmap bucket is 8 top
 * hashes (a full slot's is at least 5), the 8 keys, the 8 elements and the overflow
 * bucket's pointer. */
#define H2_SWISS_GROUP 328
#define H2_SWISS_SLOT 40
#define H2_HMAP_BUCKET 336
#define H2_HMAP_KEYS 8
#define H2_HMAP_ELEMS 136
#define H2_HMAP_OVERFLOW 328
#define H2_HMAP_MIN_TOPHASH 5
/* Groups or buckets the search reads at most: a header map of up to ~50 entries. */
#define H2_MAP_MAX_GROUPS 16

#endif
