/* The search for a W3C traceparent header in a request's raw header bytes, shared by
 * the BPF start probe (with bpf_loop) and user space (the unit tests run the same
 * code over crafted requests). Pure C: no helpers, no maps.
 *
 * The bytes are buf[0:n), the request line and headers as they sit in the connection's
 * read buffer, n <= TP_SCAN_MAX; buf must have TP_SCAN_SLACK readable bytes past n (the
 * steps read whole 8-byte words and look a header name ahead without a bounds check
 * per byte, which the verifier would not follow; what lies past n is never used).
 *
 * Two passes, each a bpf_loop (a step costs ~8 ns of call overhead): the first looks
 * at 32 bytes a step, a word without a line feed costing a load and a few ALU
 * operations, and notes where the line feeds are, without a branch per byte; the
 * second takes one line feed a step. At each line start it compares the next 12 bytes
 * with "traceparent:" (case-insensitively) and remembers where the value of the last
 * such line starts; a blank line ends a header block, and the next one (the request
 * being served) starts after it. The value is parsed once, after the loops
 * (tp_scan_finish). Bytes with more line feeds than TP_MAX_LF are searched a word a
 * step instead, with the same result.
 *
 * On the way it notes, for the last header block, where its request line ends and
 * where a Host line's value is, so that a sampled span can take its path and host from
 * these bytes (bpf/request_text.h) instead of reading them from http.Request. */
#ifndef AUTOTRACE_BPF_TRACEPARENT_SCAN_H
#define AUTOTRACE_BPF_TRACEPARENT_SCAN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __bpf__
#define TP_INLINE __attribute__((always_inline)) inline
#define TP_UNROLL _Pragma("unroll")
#else
#define TP_INLINE inline
#define TP_UNROLL
#endif

/* Bytes scanned at most; a power of two (indices are masked with it). */
#define TP_SCAN_MAX 4096
/* Bytes a step of the word-a-step search looks at (more per step are fewer calls, but
 * the verifier's work grows with the line-feed paths of a step). */
#define TP_STEP_BYTES 8
/* Bytes a step of the first pass looks at (64 is more than the verifier follows),
 * and the line feeds it notes at most. */
#define TP_LF_STEP_BYTES 32
#define TP_MAX_LF 1024

/* The line feeds the first pass found, and what the second notes of the last header
 * block. In BPF it lives in map memory, whose contents the verifier does not track: a
 * count or a state kept on the stack would be, and every step's possible values would
 * be verified apart. */
struct tp_lf {
	__u32 n;
	__u32 reqline_end; /* the line feed that ends the last block's first line */
	__u32 host_at;     /* the last block's Host value starts here ... */
	__u32 host_end;    /* ... and its line ends with the line feed here */
	__u8 reqline_set;  /* reqline_end is set */
	__u8 host_state;   /* enum tp_host_state */
	__u8 ended;        /* the blank line that ends the headers was seen */
	__u8 pad;
	__u16 pos[TP_MAX_LF];
};
/* Readable bytes the buffer needs past n: a step's words, or a line feed's look-ahead
 * (name, whitespace, value). */
#define TP_SCAN_SLACK 96

/* "traceparent:" as little-endian words, lower case. */
#define TP_NAME_LEN 12
#define TP_WORD8 0x7261706563617274ULL /* "tracepar" */
#define TP_WORD4 0x3a746e65U           /* "ent:" */
/* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define TP_VALUE_LEN 55
/* Whitespace allowed between the colon and the value. */
#define TP_MAX_OWS 4
/* "host:" as a little-endian word, lower case. */
#define TP_HOST_NAME_LEN 5
#define TP_HOST_WORD 0x3a74736f68ULL

/* The last header block's Host line. */
enum tp_host_state {
	TP_HOST_NONE = 0, /* none (yet) */
	TP_HOST_PENDING,  /* a Host line, whose end is not seen yet */
	TP_HOST_FOUND,    /* one Host line, its value at [host_at, host_end) */
	TP_HOST_BAD,      /* more than one, or folded onto a next line: not taken */
};

struct tp_scan {
	const __u8 *buf; /* buf[0:n) */
	struct tp_lf *lf; /* where the line feeds are */
	__u32 n;
	__u32 value_at;  /* where the last "traceparent:" line's value may start */
	__u32 block_at;  /* where the last header block (its request line) starts */
	__u8 candidate;  /* value_at is set */
	__u8 found;      /* the results, valid when found */
	__u8 flags;
	__u8 trace_id[16];
	__u8 span_id[8];
};

static TP_INLINE int tp_hexval(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is invalid in traceparent */
}

static TP_INLINE int tp_hexbyte(const __u8 *p, __u8 *out)
{
	int hi = tp_hexval(p[0]), lo = tp_hexval(p[1]);

	if (hi < 0 || lo < 0)
		return -1;
	*out = (__u8)(hi << 4 | lo);
	return 0;
}

/* The value at p, of which avail bytes are the request's; p has TP_VALUE_LEN + 1
 * readable bytes. Writes s->trace_id, s->span_id and s->flags (meaningful only when
 * it returns 0). */
static TP_INLINE int tp_parse_value(const __u8 *p, __u32 avail, struct tp_scan *s)
{
	__u8 ver, any_t = 0, any_s = 0;

	if (avail < TP_VALUE_LEN)
		return -1;
	if (tp_hexbyte(p, &ver) || ver == 0xff || p[2] != '-' || p[35] != '-' || p[52] != '-')
		return -1;
	TP_UNROLL
	for (int i = 0; i < 16; i++) {
		if (tp_hexbyte(p + 3 + 2 * i, &s->trace_id[i]))
			return -1;
		any_t |= s->trace_id[i];
	}
	TP_UNROLL
	for (int i = 0; i < 8; i++) {
		if (tp_hexbyte(p + 36 + 2 * i, &s->span_id[i]))
			return -1;
		any_s |= s->span_id[i];
	}
	if (tp_hexbyte(p + 53, &s->flags) || !any_t || !any_s)
		return -1;
	/* Version 00 ends there (trailing whitespace allowed); a later version may go on
	 * after a '-'. */
	if (avail > TP_VALUE_LEN) {
		__u8 c = p[TP_VALUE_LEN];

		if (c != '\r' && c != '\n' && c != ' ' && c != '\t' && (ver == 0 || c != '-'))
			return -1;
	}
	return 0;
}

/* A line feed at pos: a blank line, or a header line that may be traceparent or Host.
 * Returns 1 when the headers end here. */
static TP_INLINE int tp_line_feed(struct tp_scan *s, __u32 pos)
{
	const __u8 *p = s->buf + (pos & (TP_SCAN_MAX - 1));
	__u64 w;
	__u32 w2;

	/* The first line feed of a header block ends its request line (one in the blank
	 * line before the block is not: block_at is past it). */
	if (!s->lf->reqline_set && pos >= s->block_at) {
		s->lf->reqline_end = pos;
		s->lf->reqline_set = 1;
	}
	/* This line feed ends a Host line; a next line that starts with whitespace would
	 * continue its value (obs-fold), which is not followed here. */
	if (s->lf->host_state == TP_HOST_PENDING) {
		s->lf->host_end = pos;
		s->lf->host_state = p[1] == ' ' || p[1] == '\t' ? TP_HOST_BAD : TP_HOST_FOUND;
	}
	/* A blank line ends a header block. buf[0:r] ends with the headers of the request
	 * being served; a block that ends earlier was a previous pipelined request's, and
	 * what was found in it does not count. */
	if (p[1] == '\r' || p[1] == '\n') {
		__u32 next = pos + (p[1] == '\r' ? 3 : 2);

		if (next >= s->n) {
			s->lf->ended = 1;
			return 1;
		}
		s->candidate = 0;
		s->block_at = next;
		s->lf->reqline_set = 0;
		s->lf->host_state = TP_HOST_NONE;
		return 0;
	}
	__builtin_memcpy(&w, p + 1, 8);
	/* Header names are case-insensitive: ASCII lower-casing (':' is unchanged by it). */
	if (pos + 1 + TP_HOST_NAME_LEN <= s->n &&
	    ((w | 0x2020202020ULL) & 0xffffffffffULL) == TP_HOST_WORD) {
		/* Go refuses a request with two Host lines; either way, none is taken. */
		s->lf->host_state = s->lf->host_state == TP_HOST_NONE ? TP_HOST_PENDING : TP_HOST_BAD;
		s->lf->host_at = pos + 1 + TP_HOST_NAME_LEN;
		return 0;
	}
	if (pos + 1 + TP_NAME_LEN > s->n)
		return 0;
	__builtin_memcpy(&w2, p + 9, 4);
	if ((w | 0x2020202020202020ULL) == TP_WORD8 && (w2 | 0x00202020U) == TP_WORD4) {
		s->value_at = pos + 1 + TP_NAME_LEN;
		s->candidate = 1;
	}
	return 0;
}

/* One word at byte at (< s->n): 1 when the headers end in it. */
static TP_INLINE int tp_scan_word(struct tp_scan *s, __u32 at)
{
	__u64 w, x;

	__builtin_memcpy(&w, s->buf + (at & (TP_SCAN_MAX - 1)), 8);
	/* Bytes equal to '\n' become zero; the classic test for a zero byte. */
	x = w ^ 0x0a0a0a0a0a0a0a0aULL;
	if (!((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL))
		return 0;
	TP_UNROLL
	for (__u32 k = 0; k < 8; k++) {
		if (((w >> (8 * k)) & 0xff) == '\n' && at + k < s->n &&
		    tp_line_feed(s, at + k))
			return 1;
	}
	return 0;
}

/* One step: the words at bytes [i * TP_STEP_BYTES, (i + 1) * TP_STEP_BYTES). Returns
 * 1 to stop, else 0. */
static long tp_scan_step(__u32 i, void *ctx)
{
	struct tp_scan *s = ctx;
	__u32 at = (i * TP_STEP_BYTES) & (TP_SCAN_MAX - 1);

	TP_UNROLL
	for (__u32 k = 0; k < TP_STEP_BYTES; k += 8) {
		if (at + k >= s->n || tp_scan_word(s, at + k))
			return 1;
	}
	return 0;
}

/* First pass, one step: notes the line feeds in the step's bytes in s->lf; an
 * entry is written for every byte of a word that has one, and kept (the count
 * advanced) only for line feeds. Returns 1 past the end, else 0. */
static long tp_lf_collect(__u32 i, void *ctx)
{
	struct tp_scan *s = ctx;
	__u32 at = (i * TP_LF_STEP_BYTES) & (TP_SCAN_MAX - 1);

	TP_UNROLL
	for (__u32 k = 0; k < TP_LF_STEP_BYTES; k += 8) {
		__u32 pos = at + k;
		__u64 w, x;

		if (pos >= s->n)
			return 1;
		__builtin_memcpy(&w, s->buf + (pos & (TP_SCAN_MAX - 1)), 8);
		x = w ^ 0x0a0a0a0a0a0a0a0aULL;
		if (!((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL))
			continue;
		TP_UNROLL
		for (__u32 b = 0; b < 8; b++) {
			/* 1 when byte b is a line feed inside the request, without a branch. */
			__u64 is_lf = ((((w >> (8 * b)) & 0xff) ^ 0x0a) - 1) >> 63;
			__u64 inside = ((__u64)(pos + b) - s->n) >> 63;

			s->lf->pos[s->lf->n & (TP_MAX_LF - 1)] = (__u16)(pos + b);
			s->lf->n += (__u32)(is_lf & inside);
		}
	}
	return 0;
}

/* Second pass, one step: the j-th line feed. Returns 1 when the headers end there. */
static long tp_lf_step(__u32 j, void *ctx)
{
	struct tp_scan *s = ctx;

	return tp_line_feed(s, s->lf->pos[j & (TP_MAX_LF - 1)]);
}

/* Steps of the first pass over n bytes. */
static TP_INLINE __u32 tp_lf_collect_steps(__u32 n)
{
	return (n + TP_LF_STEP_BYTES - 1) / TP_LF_STEP_BYTES;
}

/* After the steps: parses the remembered value. 0 when found. A function of its own in
 * BPF, so that its frame does not add to the probe's. */
#ifdef __bpf__
static __attribute__((noinline)) int tp_scan_finish(struct tp_scan *s)
#else
static inline int tp_scan_finish(struct tp_scan *s)
#endif
{
	__u32 at = s->value_at & (TP_SCAN_MAX - 1);

	s->found = 0;
	if (!s->candidate)
		return -1;
	/* Optional whitespace after the colon. */
	TP_UNROLL
	for (int k = 0; k < TP_MAX_OWS; k++) {
		if (at < s->n && (s->buf[at] == ' ' || s->buf[at] == '\t'))
			at++;
	}
	at &= TP_SCAN_MAX - 1;
	if (at >= s->n || tp_parse_value(s->buf + at, s->n - at, s))
		return -1;
	s->found = 1;
	return 0;
}

/* Steps a search over n bytes takes. */
static TP_INLINE __u32 tp_scan_steps(__u32 n)
{
	return (n + TP_STEP_BYTES - 1) / TP_STEP_BYTES;
}

#ifndef __bpf__
/* The whole search, as the BPF program runs it with bpf_loop, with lf for the line
 * feeds and the notes (which rt_locate reads after it): 0 with s->trace_id,
 * s->span_id and s->flags set when found, else -1. */
static inline int tp_scan_run_with(struct tp_scan *s, struct tp_lf *lf)
{
	lf->n = 0;
	lf->reqline_set = 0;
	lf->host_state = TP_HOST_NONE;
	lf->ended = 0;
	s->lf = lf;
	s->candidate = 0;
	s->block_at = 0;
	for (__u32 i = 0; i < tp_lf_collect_steps(s->n); i++) {
		if (tp_lf_collect(i, s))
			break;
	}
	if (lf->n <= TP_MAX_LF) {
		for (__u32 j = 0; j < lf->n; j++) {
			if (tp_lf_step(j, s))
				break;
		}
	} else {
		for (__u32 i = 0; i < tp_scan_steps(s->n); i++) {
			if (tp_scan_step(i, s))
				break;
		}
	}
	return tp_scan_finish(s);
}

/* The same, with line feeds of its own. */
static inline int tp_scan_run(struct tp_scan *s)
{
	struct tp_lf lf;
	int r = tp_scan_run_with(s, &lf);

	s->lf = NULL;
	return r;
}
#endif

#endif
