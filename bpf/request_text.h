/* Where a sampled span's path and host are in the request's own bytes: after the
 * traceparent search (bpf/traceparent_scan.h) went over the connection's read buffer,
 * its last header block's request line and Host line give what http.Request.URL.Path
 * and http.Request.Host hold, without reading those from the process (a read of user
 * memory costs ~70 ns; these bytes were copied anyway). Pure C, shared by
 * bpf/http_server.bpf.c and the unit tests.
 *
 * Only what Go would have parsed the same way is vouched for: a request line
 * "METHOD SP target SP HTTP/1.d" whose target starts with '/' (origin form; an
 * absolute-form target carries its own host, "*" and CONNECT's authority no path), in a
 * header block whose end was seen, and at most one Host line not folded onto the next.
 * The target is kept raw, escaped and with its query: the agent cuts it at '?' and
 * decodes it as net/url does (HS_REC_RAW_TARGET). Anything else: the end probe reads
 * http.Request as before. */
#ifndef AUTOTRACE_BPF_REQUEST_TEXT_H
#define AUTOTRACE_BPF_REQUEST_TEXT_H

#include "bpf/http_method.h"
#include "bpf/http_server.h"
#include "bpf/traceparent_scan.h"

/* " HTTP/1." as a little-endian word, then one digit. */
#define RT_PROTO_LEN 9
#define RT_PROTO_WORD 0x2e312f5054544820ULL

struct rt_text {
	__u32 target_at, target_len; /* the raw target, in s->buf */
	__u32 host_at, host_len;     /* the Host value, trimmed; 0 bytes: none was sent */
};

static TP_INLINE int rt_is_ows(__u8 c)
{
	return c == ' ' || c == '\t';
}

/* From a finished search s over buf (with its slack) whose last block's request line
 * has method (hs_method_of_line): HS_TEXT_* for what t now locates. */
static TP_INLINE __u8 rt_locate(const struct tp_scan *s, __u8 method, struct rt_text *t)
{
	const __u8 *b = s->buf;
	__u32 mlen = hs_method_len(method), a, e;
	__u8 have = 0;
	__u64 w;

	if (!s->lf->ended || !s->lf->reqline_set || mlen == 0)
		return 0;
	e = s->lf->reqline_end;
	if (e > s->block_at && b[(e - 1) & (TP_SCAN_MAX - 1)] == '\r')
		e--;
	a = s->block_at + mlen + 1;
	if (e >= a + 1 + RT_PROTO_LEN) {
		__u8 digit = b[(e - 1) & (TP_SCAN_MAX - 1)];

		__builtin_memcpy(&w, b + ((e - RT_PROTO_LEN) & (TP_SCAN_MAX - 1)), 8);
		if (w == RT_PROTO_WORD && digit >= '0' && digit <= '9' &&
		    b[a & (TP_SCAN_MAX - 1)] == '/') {
			t->target_at = a;
			t->target_len = e - RT_PROTO_LEN - a;
			have |= HS_TEXT_PATH;
		}
	}
	/* An absolute-form target's host is Go's Host, whatever the header says: the
	 * host is taken only with an origin-form target. */
	if (!have)
		return 0;
	if (s->lf->host_state == TP_HOST_NONE) {
		t->host_at = 0;
		t->host_len = 0;
		have |= HS_TEXT_HOST;
	} else if (s->lf->host_state == TP_HOST_FOUND && s->lf->host_end >= s->lf->host_at) {
		/* Go trims the value's leading and trailing whitespace. */
		a = s->lf->host_at;
		e = s->lf->host_end;
		if (e > a && b[(e - 1) & (TP_SCAN_MAX - 1)] == '\r')
			e--;
		TP_UNROLL
		for (int k = 0; k < TP_MAX_OWS; k++) {
			if (a < e && rt_is_ows(b[a & (TP_SCAN_MAX - 1)]))
				a++;
		}
		TP_UNROLL
		for (int k = 0; k < TP_MAX_OWS; k++) {
			if (e > a && rt_is_ows(b[(e - 1) & (TP_SCAN_MAX - 1)]))
				e--;
		}
		if (a >= e || (!rt_is_ows(b[a & (TP_SCAN_MAX - 1)]) &&
			       !rt_is_ows(b[(e - 1) & (TP_SCAN_MAX - 1)]))) {
			t->host_at = a;
			t->host_len = e - a;
			have |= HS_TEXT_HOST;
		}
	}
	return have;
}

#endif
