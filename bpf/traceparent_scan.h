/* The search for a W3C traceparent header in a request's raw header bytes, shared by
 * the BPF start probe (one bpf_loop step per byte) and user space (the unit tests run
 * the same code over crafted requests). Pure C: no helpers, no maps.
 *
 * The bytes are buf[0:n), the request line and headers as they sit in the connection's
 * read buffer, n <= TP_SCAN_MAX; buf must have TP_SCAN_SLACK readable bytes past n (the
 * parse looks ahead without a bounds check per byte, which the verifier would not
 * follow; those bytes only matter when they are inside [0:n)). */
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
/* Readable bytes the buffer needs past n: a line feed, the name, whitespace, value. */
#define TP_SCAN_SLACK 80

/* "traceparent:" as little-endian words, lower case. */
#define TP_NAME_LEN 12
#define TP_WORD8 0x7261706563617274ULL /* "tracepar" */
#define TP_WORD4 0x3a746e65U           /* "ent:" */
/* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define TP_VALUE_LEN 55

struct tp_scan {
	const __u8 *buf; /* buf[0:n) */
	__u32 n;
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

/* The value at p, which has TP_VALUE_LEN + 1 readable bytes and end - p of them in
 * the request. */
static TP_INLINE int tp_parse_value(const __u8 *p, __u32 avail, struct tp_scan *s)
{
	__u8 tid[16], sid[8], fl, ver, any_t = 0, any_s = 0;

	if (avail < TP_VALUE_LEN)
		return -1;
	if (tp_hexbyte(p, &ver) || ver == 0xff || p[2] != '-' || p[35] != '-' || p[52] != '-')
		return -1;
TP_UNROLL
	for (int i = 0; i < 16; i++) {
		if (tp_hexbyte(p + 3 + 2 * i, &tid[i]))
			return -1;
		any_t |= tid[i];
	}
TP_UNROLL
	for (int i = 0; i < 8; i++) {
		if (tp_hexbyte(p + 36 + 2 * i, &sid[i]))
			return -1;
		any_s |= sid[i];
	}
	if (tp_hexbyte(p + 53, &fl) || !any_t || !any_s)
		return -1;
	/* Version 00 ends there (trailing whitespace allowed); a later version may go on
	 * after a '-'. */
	if (avail > TP_VALUE_LEN) {
		__u8 c = p[TP_VALUE_LEN];

		if (c != '\r' && c != '\n' && c != ' ' && c != '\t' && (ver == 0 || c != '-'))
			return -1;
	}
	__builtin_memcpy(s->trace_id, tid, 16);
	__builtin_memcpy(s->span_id, sid, 8);
	s->flags = fl;
	return 0;
}

/* One step, at position i. Returns 1 to stop (the end of the headers), else 0. */
static long tp_scan_step(__u32 i, void *ctx)
{
	struct tp_scan *s = ctx;
	__u32 at = i & (TP_SCAN_MAX - 1), start;
	const __u8 *p;
	__u64 w;
	__u32 w2;

	if (at >= s->n)
		return 1;
	p = s->buf + at;
	if (p[0] != '\n')
		return 0;
	/* A blank line ends a header block. buf[0:r] ends with the headers of the request
	 * being served; a block that ends earlier was a previous pipelined request's, and
	 * what was found in it does not count. */
	if (p[1] == '\r' || p[1] == '\n') {
		if (at + (p[1] == '\r' ? 3 : 2) >= s->n)
			return 1;
		s->found = 0;
		return 0;
	}
	if (at + 1 + TP_NAME_LEN + TP_VALUE_LEN > s->n)
		return 0;
	__builtin_memcpy(&w, p + 1, 8);
	__builtin_memcpy(&w2, p + 9, 4);
	/* Header names are case-insensitive: ASCII lower-casing (':' is unchanged by it). */
	if ((w | 0x2020202020202020ULL) != TP_WORD8 || (w2 | 0x00202020U) != TP_WORD4)
		return 0;
	start = at + 1 + TP_NAME_LEN;
	/* Optional whitespace after the colon. */
TP_UNROLL
	for (int k = 0; k < 4; k++) {
		if (s->buf[start & (TP_SCAN_MAX - 1)] != ' ' &&
		    s->buf[start & (TP_SCAN_MAX - 1)] != '\t')
			break;
		start++;
	}
	start &= TP_SCAN_MAX - 1;
	if (start < s->n && tp_parse_value(s->buf + start, s->n - start, s) == 0)
		s->found = 1;
	return 0;
}

#ifndef __bpf__
/* The whole search, as the BPF program runs it with bpf_loop: 0 with s->trace_id,
 * s->span_id and s->flags set when found, else -1. */
static inline int tp_scan_run(struct tp_scan *s)
{
	s->found = 0;
	for (__u32 i = 0; i < s->n && i < TP_SCAN_MAX; i++) {
		if (tp_scan_step(i, s))
			break;
	}
	return s->found ? 0 : -1;
}
#endif

#endif
