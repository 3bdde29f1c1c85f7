/* The start of an outgoing HTTP/1.x request, as a socket is about to send it: is it a
 * request line (METHOD SP target SP HTTP/1.d CRLF), where does that line end, and does
 * the header block (to its blank line) carry a traceparent header already? A byte at a
 * time, a state machine of a few fields, with a word a step where bytes cannot matter
 * (hrh_advance): bpf/tp_inject.bpf.c runs it from a bpf_loop over a copy of the
 * message's first bytes, the unit tests and the fuzz target over any bytes, holding
 * the word steps to the byte steps. Pure C: no helpers, no maps.
 *
 * Only a block seen whole is judged: a request whose headers go past the bytes looked
 * at may carry a traceparent further on, and is left alone (HRH_UNSURE). */
#ifndef AUTOTRACE_BPF_HTTP_REQUEST_HEAD_H
#define AUTOTRACE_BPF_HTTP_REQUEST_HEAD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __bpf__
#define HRH_INLINE __attribute__((always_inline)) inline
#else
#define HRH_INLINE inline
#endif

/* Bytes looked at most (a power of two). */
#define HRH_SCAN_MAX 2048
#define HRH_METHOD_MAX 16

enum hrh_phase {
	HRH_METHOD = 0, /* in the method token */
	HRH_TARGET,     /* in the request target */
	HRH_VERSION,    /* in "HTTP/1.d\r\n" */
	HRH_HEADERS,    /* in the header lines */
	HRH_DONE,       /* the blank line was seen */
	HRH_BAD,        /* not an HTTP/1.x request line */
};

/* The verdict, once the bytes are through. */
enum hrh_verdict {
	HRH_INSERT = 0,         /* insert at line_end */
	HRH_HAS_TRACEPARENT,    /* it carries one: leave it */
	HRH_NOT_REQUEST,        /* not an HTTP/1.x request's start */
	HRH_UNSURE,             /* its header block goes past the bytes looked at */
};

struct hrh_state {
	__u32 pos;       /* bytes taken */
	__u32 line_end;  /* where the request line's CRLF ends (the insertion point) */
	__u16 tok;       /* bytes of the current token or line */
	__u8 phase;      /* enum hrh_phase */
	__u8 match;      /* bytes of "traceparent:" matched at the current line's start;
			  * 0xff: this line is not one */
	__u8 has_tp;
	__u8 pad[3];
};

static HRH_INLINE __u8 hrh_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? (__u8)(c + 32) : c;
}

/* At file scope: the kernel refuses BTF that names a function's static ("f.name"); and
 * of sizes clang does not move to a mergeable constant section (.rodata.cst16), where
 * the BTF's offsets no longer hold. */
static const char hrh_version[10] = { 'H', 'T', 'T', 'P', '/', '1', '.', '0', '\r', '\n' };
static const char hrh_name[12] = { 't', 'r', 'a', 'c', 'e', 'p', 'a', 'r', 'e', 'n', 't', ':' };

/* Takes one byte; returns 1 when the rest cannot change the verdict. */
static HRH_INLINE int hrh_step(struct hrh_state *s, __u8 c)
{
	__u16 t = s->tok;

	s->pos++;
	switch (s->phase) {
	case HRH_METHOD:
		if (c == ' ' && t > 0) {
			s->phase = HRH_TARGET;
			s->tok = 0;
		} else if (c >= 'A' && c <= 'Z' && t < HRH_METHOD_MAX) {
			s->tok = t + 1;
		} else {
			s->phase = HRH_BAD;
		}
		break;
	case HRH_TARGET:
		if (c == ' ' && t > 0) {
			s->phase = HRH_VERSION;
			s->tok = 0;
		} else if (c > ' ' && c != 0x7f) {
			s->tok = t < 0xffff ? t + 1 : t;
		} else {
			s->phase = HRH_BAD;
		}
		break;
	case HRH_VERSION:
		if (t >= 10 || (t == 7 ? (c < '0' || c > '9') : (__u8)hrh_version[t] != c)) {
			s->phase = HRH_BAD;
		} else if (t == 9) {
			s->phase = HRH_HEADERS;
			s->line_end = s->pos;
			s->tok = 0;
			s->match = 0;
		} else {
			s->tok = t + 1;
		}
		break;
	case HRH_HEADERS:
		if (c == '\n') {
			/* "\r\n" alone (or a bare "\n"): the header block ends. */
			if (t == 0 || (t == 1 && s->match == 0xfe)) {
				s->phase = HRH_DONE;
				return 1;
			}
			s->tok = 0;
			s->match = 0;
			break;
		}
		s->tok = t < 0xffff ? t + 1 : t;
		if (t == 0 && c == '\r') {
			s->match = 0xfe; /* a blank line, if LF follows */
		} else if (s->match < 12 && hrh_lower(c) == (__u8)hrh_name[s->match]) {
			s->match++;
			if (s->match == 12) {
				s->has_tp = 1;
				return 1;
			}
		} else if (s->match < 12 || s->match == 0xfe) {
			s->match = 0xff;
		}
		break;
	default:
		return 1;
	}
	return s->phase == HRH_BAD;
}

/* How many of the 8 bytes at buf + at come before the first line feed among them (8:
 * none), by word-wide operations, no branch per byte: the zero-byte test on the word
 * XOR line feeds flags each zero byte's top bit (and may flag bytes above the first
 * zero, never below it), and a multiply turns the lowest flag into its byte's index.
 * at <= HRH_SCAN_MAX - 8. */
static HRH_INLINE __u32 hrh_bytes_before_lf(const __u8 *buf, __u32 at)
{
	__u64 w, x, m;

#ifdef __bpf__
	/* A load of the word: clang makes a memcpy's eight bytes eight loads for BPF. */
	w = *(const __u64 *)(buf + at);
#else
	__builtin_memcpy(&w, buf + at, 8);
#endif
	x = w ^ 0x0a0a0a0a0a0a0a0aULL;
	m = (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
	if (!m)
		return 8;
	return (__u32)((((m & -m) >> 7) * 0x0001020304050607ULL) >> 56);
}

/* Takes the bytes of buf[0..n) at s->pos: inside a header line already known to be no
 * traceparent one, the bytes up to its line feed (hrh_step would only count them) a
 * word at a time; any other byte, the line feed included, through hrh_step. The same
 * state at the end as a byte at a time, in a fraction of the steps for Go's requests.
 * buf is readable to HRH_SCAN_MAX. Returns 1 when the rest cannot change the verdict
 * or the bytes are through. */
static HRH_INLINE int hrh_advance(struct hrh_state *s, const __u8 *buf, __u32 n)
{
	__u32 at = s->pos, k;

	if (at >= n)
		return 1;
	at &= HRH_SCAN_MAX - 1;
	if (s->phase == HRH_HEADERS && s->match == 0xff && at <= HRH_SCAN_MAX - 8 &&
	    at + 8 <= n) {
		k = hrh_bytes_before_lf(buf, at);
		if (k > 0) {
			s->pos = at + k;
			s->tok = s->tok < 0xffff - 8 ? (__u16)(s->tok + k) : 0xffff;
			return 0;
		}
	}
	return hrh_step(s, buf[at]);
}

static HRH_INLINE enum hrh_verdict hrh_verdict(const struct hrh_state *s)
{
	if (s->has_tp)
		return HRH_HAS_TRACEPARENT;
	if (s->phase == HRH_DONE)
		return HRH_INSERT;
	if (s->phase == HRH_HEADERS)
		return HRH_UNSURE;
	return HRH_NOT_REQUEST;
}

#endif
