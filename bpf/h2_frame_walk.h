/* Following HTTP/2 frames through the writes of one connection, as an sk_msg program
 * sees them (bpf/tp_inject.bpf.c), to give a client stream's HEADERS frame a
 * traceparent: a frame header at a time, and where a write leaves off. Pure C, no
 * helpers and no maps: the program runs it from a bpf_loop, the unit tests and the
 * fuzz target over any bytes.
 *
 * A writer (grpc-go's loopy writer) batches whole frames into a write, but a frame may
 * be cut across two writes when its buffer fills. A connection is "in step" when the
 * offset of its next frame header in the next write is known: from the first write
 * whose frames end exactly where the write ends (a connection the program meets in
 * the middle, or after it lost step), and from then on by carrying over how far the
 * last frame reaches past its write. Only a connection in step has its frames
 * changed; a write whose bytes do not read as frames takes it out of step.
 *
 * The field appended to a header block is an HPACK "literal header field without
 * indexing, new name": it leaves both ends' dynamic tables as they were, so the rest
 * of the connection decodes as before. */
#ifndef AUTOTRACE_BPF_H2_FRAME_WALK_H
#define AUTOTRACE_BPF_H2_FRAME_WALK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __bpf__
#define H2W_INLINE __attribute__((always_inline)) inline
#else
#define H2W_INLINE inline
#endif

#define H2W_HEADER_LEN 9
/* 0x00, 0x0b "traceparent", 0x37 "00-<32 hex>-<16 hex>-<2 hex>" */
#define H2W_FIELD_LEN (1 + 1 + 11 + 1 + 55)
/* SETTINGS_MAX_FRAME_SIZE's initial value: a peer may allow more, never less. */
#define H2W_MAX_FRAME 16384
/* Frame headers looked at in one write, and HEADERS frames given a field in one. */
#define H2W_FRAMES_MAX 2048
#define H2W_HITS_MAX 128

#define H2W_DATA 0x0
#define H2W_HEADERS 0x1
#define H2W_PRIORITY 0x2
#define H2W_RST_STREAM 0x3
#define H2W_SETTINGS 0x4
#define H2W_PUSH_PROMISE 0x5
#define H2W_PING 0x6
#define H2W_GOAWAY 0x7
#define H2W_WINDOW_UPDATE 0x8
#define H2W_CONTINUATION 0x9

#define H2W_FLAG_END_HEADERS 0x4
#define H2W_FLAG_PADDED 0x8

struct h2w_frame {
	__u32 length;    /* the payload's */
	__u32 stream_id;
	__u8 type, flags;
	__u8 pad[2];
};

/* A walk over one write's first n bytes. */
struct h2w_walk {
	__u32 n;      /* bytes of the write that can be read */
	__u32 off;    /* where the next frame header is (may be past n) */
	__u32 frames; /* headers read */
	__u8 bad;     /* bytes that are no frame header were met */
	__u8 pad[3];
};

/* How a write ended, for the next one. */
enum h2w_end {
	H2W_END_EXACT = 0, /* its last frame ends with it */
	H2W_END_OVER,      /* its last frame goes on in the next write(s) */
	H2W_END_LOST,      /* unknown: not frames, a header cut in two, or too many */
};

static H2W_INLINE __u32 h2w_be24(const __u8 *b)
{
	return ((__u32)b[0] << 16) | ((__u32)b[1] << 8) | b[2];
}

/* b[0..9) as a frame header into f; -1 when it cannot be one a client sends (an
 * unknown type, the reserved bit, a stream id or length its type forbids). */
static H2W_INLINE int h2w_parse(const __u8 *b, struct h2w_frame *f)
{
	f->length = h2w_be24(b);
	f->type = b[3];
	f->flags = b[4];
	f->stream_id = ((__u32)b[5] << 24) | ((__u32)b[6] << 16) | ((__u32)b[7] << 8) | b[8];
	if (f->stream_id & 0x80000000u)
		return -1;
	switch (f->type) {
	case H2W_DATA:
	case H2W_HEADERS:
	case H2W_CONTINUATION:
		return f->stream_id ? 0 : -1;
	case H2W_PRIORITY:
		return f->stream_id && f->length == 5 ? 0 : -1;
	case H2W_RST_STREAM:
		return f->stream_id && f->length == 4 ? 0 : -1;
	case H2W_SETTINGS:
		return !f->stream_id && f->length % 6 == 0 ? 0 : -1;
	case H2W_PING:
		return !f->stream_id && f->length == 8 ? 0 : -1;
	case H2W_GOAWAY:
		return !f->stream_id && f->length >= 8 ? 0 : -1;
	case H2W_WINDOW_UPDATE:
		return f->length == 4 ? 0 : -1;
	default: /* PUSH_PROMISE is a server's; extensions are not written here */
		return -1;
	}
}

/* Starts a walk over the n readable bytes of a write, its first frame header at
 * skip (0 for a connection out of step). */
static H2W_INLINE void h2w_begin(struct h2w_walk *w, __u32 n, __u32 skip)
{
	w->n = n;
	w->off = skip;
	w->frames = 0;
	w->bad = 0;
}

/* Whether the header at w->off lies within the readable bytes. */
static H2W_INLINE int h2w_more(const struct h2w_walk *w)
{
	return !w->bad && w->frames < H2W_FRAMES_MAX && w->off <= w->n &&
	       w->n - w->off >= H2W_HEADER_LEN;
}

/* Takes the frame header b (the 9 bytes at w->off) into f and moves past its frame;
 * -1 (the walk is bad) when they are no frame header. */
static H2W_INLINE int h2w_step(struct h2w_walk *w, const __u8 *b, struct h2w_frame *f)
{
	if (h2w_parse(b, f)) {
		w->bad = 1;
		return -1;
	}
	w->frames++;
	w->off += H2W_HEADER_LEN + f->length;
	return 0;
}

/* How the write of size bytes ended, once h2w_more says no more; *ret_skip gets where
 * the next write's first frame header is (H2W_END_OVER). */
static H2W_INLINE enum h2w_end h2w_finish(const struct h2w_walk *w, __u32 size, __u32 *ret_skip)
{
	*ret_skip = 0;
	if (w->bad || w->frames >= H2W_FRAMES_MAX)
		return H2W_END_LOST;
	if (w->off == size)
		return H2W_END_EXACT;
	if (w->off > size) {
		*ret_skip = w->off - size;
		return H2W_END_OVER;
	}
	return H2W_END_LOST; /* a header cut by the write's end, or past the readable bytes */
}

/* Whether the frame h2w_step just took ends within the readable bytes (one cut by the
 * write's end cannot be grown: its block ends in a later write). */
static H2W_INLINE int h2w_whole(const struct h2w_walk *w)
{
	return w->off <= w->n;
}

/* Whether a client's HEADERS frame can take the field at the end of its header block:
 * the block whole in it (END_HEADERS), no padding after it, room under the frame size
 * limit. */
static H2W_INLINE int h2w_can_append(const struct h2w_frame *f)
{
	return f->type == H2W_HEADERS && (f->stream_id & 1) &&
	       (f->flags & (H2W_FLAG_END_HEADERS | H2W_FLAG_PADDED)) == H2W_FLAG_END_HEADERS &&
	       f->length + H2W_FIELD_LEN <= H2W_MAX_FRAME;
}

/* A hex digit by arithmetic: a table would be a constant clang moves to a mergeable
 * section (.rodata.str1.1 or .rodata.cst16), where a BPF object's BTF offsets no longer
 * hold and the kernel refuses its BTF. */
static H2W_INLINE __u8 h2w_hex(__u8 d)
{
	return d < 10 ? '0' + d : 'a' + d - 10;
}

/* src[0..n) as 2n lower-case hex digits into dst (the traceparent's fields; the HTTP/1
 * header line bpf/tp_inject.bpf.c writes uses it too). */
static H2W_INLINE void h2w_put_hex(__u8 *dst, const __u8 *src, int n)
{
#ifdef __bpf__
#pragma unroll
#endif
	for (int i = 0; i < n; i++) {
		dst[2 * i] = h2w_hex(src[i] >> 4);
		dst[2 * i + 1] = h2w_hex(src[i] & 15);
	}
}

/* The field for (trace id, span id, flags) into out[0..H2W_FIELD_LEN). */
static H2W_INLINE void h2w_field(__u8 *out, const __u8 *trace_id, const __u8 *span_id,
				 __u8 flags)
{
	__u8 *v = out + 14;

	/* Byte by byte: a string constant would land in a mergeable .rodata section,
	 * where a BPF object's BTF offsets no longer hold. */
	out[0] = 0x00; /* literal, not indexed, a new name */
	out[1] = 11;   /* its length, not Huffman-coded */
	out[2] = 't';
	out[3] = 'r';
	out[4] = 'a';
	out[5] = 'c';
	out[6] = 'e';
	out[7] = 'p';
	out[8] = 'a';
	out[9] = 'r';
	out[10] = 'e';
	out[11] = 'n';
	out[12] = 't';
	out[13] = 55;
	v[0] = '0';
	v[1] = '0';
	v[2] = '-';
	h2w_put_hex(v + 3, trace_id, 16);
	v[35] = '-';
	h2w_put_hex(v + 36, span_id, 8);
	v[52] = '-';
	h2w_put_hex(v + 53, &flags, 1);
}

/* The frame's length grown by the field, into its header's first three bytes. */
static H2W_INLINE void h2w_grow(__u8 *header, __u32 length)
{
	__u32 l = length + H2W_FIELD_LEN;

	header[0] = (__u8)(l >> 16);
	header[1] = (__u8)(l >> 8);
	header[2] = (__u8)l;
}

#endif
