/* The search for a W3C traceparent header in a request's raw header bytes, shared by
 * the BPF start probe (with bpf_loop) and user space (the unit tests run the same
 * code over crafted requests). Pure C: no helpers, no maps.
 *
 * The bytes are buf[0:n), the request line and headers as they sit in the connection's
 * read buffer, n <= TP_SCAN_MAX; buf must have TP_SCAN_SLACK readable bytes past n (the
 * steps read whole 8-byte words and look a header name ahead without a bounds check
 * per byte, which the verifier would not follow; what lies past n is never used).
 *
 * Two passes, each a bpf_loop. The first looks at TP_LF_STEP_BYTES a step, a word at a
 * time: the word's line feeds come out of a few ALU operations as a mask (tp_lf_mask),
 * a word without any costs its load and those, and a word with some gets an entry
 * (where it starts) and adds their number to a count, without a branch per byte. The
 * second takes the line feeds in order with a cursor (the current word and its line
 * feeds still to take, the lowest found with a multiply). At each line start it compares
 * the next 12 bytes with "traceparent:" (case-insensitively) and remembers where the
 * value of the last such line starts; a blank line ends a header block, and the next one
 * (the request being served) starts after it. Line feeds that cannot change anything
 * (once a block's request line has ended and no Host line waits for its end, those
 * whose next line cannot be blank, Host or traceparent: most of a browser's) are passed
 * over inside a step, several a step. The value is parsed once, after the loops
 * (tp_scan_finish). A plain search a word a step (tp_scan_run_words_with) is the
 * reference the unit tests and the fuzz target hold the two passes to (same results,
 * same notes); BPF does not run it.
 *
 * The verifier inlines a bpf_loop whose call has one callback (a direct call a step
 * instead of an indirect one from the helper): the second pass is one bpf_loop call.
 * State lives in map memory (struct tp_lf), which keeps the verifier's work small.
 * What the verifier checks is each callback's body, until its states repeat: the
 * word-a-step search once shared the second pass's callback, for bytes with more than
 * 1,024 line feeds, and its eight possible line feeds a word made it some 430,000 of
 * the ~450,000 instructions the verifier went through for the search (seconds of CPU
 * at every agent start); the second pass takes any number of line feeds (one step each
 * at most: the same work per line feed as the word-a-step search did) for ~18,000.
 *
 * Cost, the start program's kernel time per run in bench_tracer_overhead (BPF run-time
 * statistics, 1 s rounds, three runs each, interleaved, on a 6.18 kernel): wrk's ~45-byte
 * request 727-755 ns before, 662-699 ns now; a browser's 11 headers (~520 bytes)
 * 1,326-1,439 ns before, 927-966 ns now. The search alone, run over the same bytes with
 * BPF_PROG_TEST_RUN: wrk's ~95 ns before, ~52 ns now; the browser's ~610 ns before
 * (first pass ~330, second ~280), ~200 ns now (~110 and ~85). Before, the first pass
 * updated its count in map memory for every byte of a word with a line feed (a store the
 * next byte loaded again), words were read a byte at a time (clang does not assume a
 * memcpy's alignment for BPF), and the second pass's loop was not inlined (two callbacks
 * at the merged call). The verifier's work on the start program went from ~951,000
 * instructions (of its 1,000,000 limit) to ~216,000.
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
/* v as clang computed it so far: it cannot put off (and spill for later) what v needs. */
#define TP_OPAQUE(v) asm volatile("" : "+r"(v))
#else
#define TP_INLINE inline
#define TP_UNROLL
#define TP_OPAQUE(v) ((void)0)
#endif

/* Bytes scanned at most; a power of two (indices are masked with it). */
#define TP_SCAN_MAX 4096
/* Bytes a step of the word-a-step search looks at (more per step are fewer calls, but
 * the verifier's work grows with the line-feed paths of a step). */
#define TP_STEP_BYTES 8
/* Bytes a step of the first pass looks at (a word is a few instructions and branches
 * to verify, and a step fewer is a call fewer). */
#define TP_LF_STEP_BYTES 256
/* Line feeds a step of the second pass takes at most: those that cannot change
 * anything, then one that may (tp_line_feed, inlined once for each). */
#define TP_LF_PASS_OVER 8
/* Words in the bytes scanned at most: the first pass's entries. */
#define TP_LF_WORDS (TP_SCAN_MAX / 8)

/* The line feeds the first pass found, and what the second notes of the last header
 * block. In BPF it lives in map memory, whose contents the verifier does not track: a
 * count or a state kept on the stack would be, and every step's possible values would
 * be verified apart. */
struct tp_lf {
	__u32 n;           /* line feeds in buf[0:n), the second pass's steps at most */
	__u32 reqline_end; /* the line feed that ends the last block's first line */
	__u32 host_at;     /* the last block's Host value starts here ... */
	__u32 host_end;    /* ... and its line ends with the line feed here */
	__u8 reqline_set;  /* reqline_end is set */
	__u8 host_state;   /* enum tp_host_state */
	__u8 ended;        /* the blank line that ends the headers was seen */
	__u8 pad;
	__u32 words;       /* entries in word_at */
	__u32 next;        /* the second pass's next entry ... */
	__u32 cur_at;      /* ... the word it is in ... */
	__u64 cur_left;    /* ... and that word's line feeds it has still to take */
	__u16 word_at[TP_LF_WORDS]; /* where the words with a line feed start, in order */
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

/* The 8 or 4 bytes at p as a little-endian word. In BPF a plain load: clang cannot
 * assume a memcpy's alignment there and would emit a load a byte, and map values (where
 * the bytes are) may be read at any alignment on the architectures the agent runs on. */
static TP_INLINE __u64 tp_load64(const __u8 *p)
{
#ifdef __bpf__
	return *(const __u64 *)p;
#else
	__u64 w;

	__builtin_memcpy(&w, p, 8);
	return w;
#endif
}

static TP_INLINE __u32 tp_load32(const __u8 *p)
{
#ifdef __bpf__
	return *(const __u32 *)p;
#else
	__u32 w;

	__builtin_memcpy(&w, p, 4);
	return w;
#endif
}

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
 * it returns 0). Each id byte is stored as soon as it is parsed, and a bad digit is
 * noted rather than returned on: clang otherwise held the 24 bytes until the end,
 * spilled to a 184-byte stack frame, which the verifier counts against the 512 bytes a
 * chain of calls may have. */
static TP_INLINE int tp_parse_value(const __u8 *p, __u32 avail, struct tp_scan *s)
{
	__u8 ver, any_t = 0, any_s = 0;
	int bad = 0;

	if (avail < TP_VALUE_LEN)
		return -1;
	if (tp_hexbyte(p, &ver) || ver == 0xff || p[2] != '-' || p[35] != '-' || p[52] != '-')
		return -1;
	TP_UNROLL
	for (int i = 0; i < 16; i++) {
		int hi = tp_hexval(p[3 + 2 * i]), lo = tp_hexval(p[4 + 2 * i]);

		bad |= hi | lo; /* negative once a digit is not one */
		s->trace_id[i] = (__u8)((__u32)hi << 4 | (__u32)lo);
		any_t |= s->trace_id[i];
		TP_OPAQUE(bad);
		TP_OPAQUE(any_t);
	}
	TP_UNROLL
	for (int i = 0; i < 8; i++) {
		int hi = tp_hexval(p[36 + 2 * i]), lo = tp_hexval(p[37 + 2 * i]);

		bad |= hi | lo;
		s->span_id[i] = (__u8)((__u32)hi << 4 | (__u32)lo);
		any_s |= s->span_id[i];
		TP_OPAQUE(bad);
		TP_OPAQUE(any_s);
	}
	if (bad < 0 || tp_hexbyte(p + 53, &s->flags) || !any_t || !any_s)
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
	w = tp_load64(p + 1);
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
	w2 = tp_load32(p + 9);
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

	w = tp_load64(s->buf + (at & (TP_SCAN_MAX - 1)));
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

/* One step of the word-a-step search: the words at bytes [i * TP_STEP_BYTES, (i + 1) *
 * TP_STEP_BYTES). Returns 1 to stop, else 0. */
static TP_INLINE long tp_scan_words(struct tp_scan *s, __u32 i)
{
	__u32 at = (i * TP_STEP_BYTES) & (TP_SCAN_MAX - 1);

	TP_UNROLL
	for (__u32 k = 0; k < TP_STEP_BYTES; k += 8) {
		if (at + k >= s->n || tp_scan_word(s, at + k))
			return 1;
	}
	return 0;
}

/* The line feeds in the word w: 0x80 in each byte that is one, else 0. Exact (the
 * classic zero-byte test also marks bytes above a zero one): a byte's low seven bits
 * plus 0x7f carry into its top bit unless they are all zero, and its own top bit or
 * the carry marks it as not zero. */
static TP_INLINE __u64 tp_lf_mask(__u64 w)
{
	__u64 x = w ^ 0x0a0a0a0a0a0a0a0aULL;

	return ~(((x & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL) | x |
		 0x7f7f7f7f7f7f7f7fULL);
}

/* First pass, one step: the words at bytes [i * TP_LF_STEP_BYTES, (i + 1) *
 * TP_LF_STEP_BYTES). A word with a line feed in the request gets an entry, and its line
 * feeds are added to the count: two memory updates a word that has any (a store the
 * next such word loads again), not one a byte. Returns 1 past the end, else 0. */
static long tp_lf_collect(__u32 i, void *ctx)
{
	struct tp_scan *s = ctx;
	struct tp_lf *lf = s->lf;
	__u32 n = s->n, at = (i * TP_LF_STEP_BYTES) & (TP_SCAN_MAX - 1);

	/* The probe resets what the notes need; the entries and the cursor start here. */
	if (i == 0) {
		lf->words = 0;
		lf->next = 0;
		lf->cur_left = 0;
	}
	TP_UNROLL
	for (__u32 k = 0; k < TP_LF_STEP_BYTES; k += 8) {
		__u32 pos = at + k;
		__u64 w, m;

		if (pos >= n)
			return 1;
		w = tp_load64(s->buf + (pos & (TP_SCAN_MAX - 1)));
		m = tp_lf_mask(w);
		/* Bytes past n are not the request's (n - pos is 1 to 7 here). */
		if (n - pos < 8)
			m &= ~0ULL >> (64 - 8 * (n - pos));
		if (!m)
			continue;
		lf->word_at[lf->words & (TP_LF_WORDS - 1)] = (__u16)pos;
		lf->words++;
		/* The number of bytes marked: their bits, moved to bit 0 of each byte, summed
		 * into the top byte by the multiply. */
		lf->n += (__u32)(((m >> 7) * 0x0101010101010101ULL) >> 56);
	}
	return 0;
}

/* The second pass's next line feed: the lowest one of the current word still to take,
 * or else the first of the next word with any. 0 with *ret_pos set, or -1 when all
 * have been taken. */
static TP_INLINE int tp_lf_next(struct tp_scan *s, __u32 *ret_pos)
{
	struct tp_lf *lf = s->lf;
	__u64 left = lf->cur_left, low;
	__u32 at;

	if (left) {
		at = lf->cur_at;
	} else {
		if (lf->next >= lf->words)
			return -1;
		at = lf->word_at[lf->next & (TP_LF_WORDS - 1)];
		lf->next++;
		lf->cur_at = at;
		left = tp_lf_mask(tp_load64(s->buf + (at & (TP_SCAN_MAX - 1))));
		/* As the first pass counted them: not past n. */
		if (s->n - at < 8)
			left &= ~0ULL >> (64 - 8 * (s->n - at));
		if (!left)
			return -1;
	}
	low = left & -left;
	lf->cur_left = left ^ low;
	/* low is 0x80 << 8b for byte b: (low >> 7) * the constant puts b in its top byte. */
	*ret_pos = at + (__u32)(((low >> 7) * 0x0001020304050607ULL) >> 56);
	return 0;
}

/* Whether tp_line_feed can change anything at a line feed followed by the byte c: once
 * the block's request line has ended and while no Host line waits for its end, it does
 * something only when the next line is blank or may be Host or traceparent. */
static TP_INLINE int tp_lf_matters(const struct tp_scan *s, __u8 c)
{
	__u8 lower = c | 0x20;

	return !s->lf->reqline_set || s->lf->host_state == TP_HOST_PENDING || c == '\r' ||
	       c == '\n' || lower == 'h' || lower == 't';
}

/* Second pass, one step: the next line feeds in order, passing over up to
 * TP_LF_PASS_OVER - 1 that cannot change anything, to the first that can. A step takes
 * at least one, so the first pass's count of them is steps enough. Returns 1 when the
 * headers end there or no line feed is left. */
static long tp_lf_step(__u32 i, void *ctx)
{
	struct tp_scan *s = ctx;

	TP_UNROLL
	for (__u32 k = 0; k < TP_LF_PASS_OVER; k++) {
		__u32 pos;

		if (tp_lf_next(s, &pos))
			return 1;
		if (k + 1 < TP_LF_PASS_OVER &&
		    !tp_lf_matters(s, s->buf[(pos & (TP_SCAN_MAX - 1)) + 1]))
			continue;
		return tp_line_feed(s, pos);
	}
	return 0;
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

/* Steps of the second pass (tp_lf_step): one per line feed at most. */
static TP_INLINE __u32 tp_pass2_steps(const struct tp_scan *s)
{
	return s->lf->n;
}

#ifndef __bpf__
/* Resets s (whose buf and n are set) and lf for a search, as the probe does. */
static inline void tp_scan_reset(struct tp_scan *s, struct tp_lf *lf)
{
	lf->n = 0;
	lf->reqline_set = 0;
	lf->host_state = TP_HOST_NONE;
	lf->ended = 0;
	s->lf = lf;
	s->candidate = 0;
	s->block_at = 0;
}

/* The whole search, as the BPF program runs it with bpf_loop, with lf for the line
 * feeds and the notes (which rt_locate reads after it): 0 with s->trace_id,
 * s->span_id and s->flags set when found, else -1. */
static inline int tp_scan_run_with(struct tp_scan *s, struct tp_lf *lf)
{
	tp_scan_reset(s, lf);
	for (__u32 i = 0; i < tp_lf_collect_steps(s->n); i++) {
		if (tp_lf_collect(i, s))
			break;
	}
	for (__u32 i = 0; i < tp_pass2_steps(s); i++) {
		if (tp_lf_step(i, s))
			break;
	}
	return tp_scan_finish(s);
}

/* The word-a-step search alone, whatever the number of line feeds: what the two passes
 * must agree with (for tests). Returns as tp_scan_run_with. */
static inline int tp_scan_run_words_with(struct tp_scan *s, struct tp_lf *lf)
{
	tp_scan_reset(s, lf);
	for (__u32 i = 0; i < tp_scan_steps(s->n); i++) {
		if (tp_scan_words(s, i))
			break;
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
