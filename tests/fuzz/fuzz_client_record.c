/* Bytes that reach the client side of the agent from places it does not control:
 *  - a client ring-buffer record (bpf/http_client.bpf.c), whose strings were read from
 *    a traced process's memory, becomes a span or is refused; the span's strings lie
 *    within its arena, and url.full never depends on user info in the host nor shows
 *    a signature-like query value (agent/client_span_builder.c);
 *  - the first bytes of a message a traced process sends, as the sk_msg program judges
 *    them (bpf/http_request_head.h): the verdict and the insertion point must be what a
 *    plain reading of HTTP/1.x's request line and header block gives, and its word
 *    steps must end where its byte steps do.
 * Inputs of a record's size are also taken as one record; longer ones give one from
 * their first bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/client_span_builder.h"
#include "bpf/http_client.h"
#include "bpf/http_request_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_span(const struct otlp_span *s)
{
	struct otlp_attrs_view v = otlp_span_attrs(s);

	if (s->name_len > OTLP_SPAN_NAME_MAX || s->text_used > OTLP_SPAN_TEXT_MAX ||
	    v.count > OTLP_SPAN_MAX_ATTRS)
		abort();
	for (size_t i = 0; i < v.count; i++) {
		const struct otlp_attr *a = &v.items[i];

		if ((size_t)a->key_off + a->key_len > s->text_used)
			abort();
		if (a->type == OTLP_VALUE_STRING && (size_t)a->str_off + a->str_len > s->text_used)
			abort();
	}
}

/* --- the request head, read plainly --------------------------------------------- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The verdict on b[0..n) by a direct reading, and where the request line ends. */
static enum hrh_verdict plain_verdict(const uint8_t *b, size_t n, size_t *ret_line_end)
{
	static const char name[] = "traceparent:";
	size_t i = 0, m = 0, t = 0;

	while (i < n && b[i] >= 'A' && b[i] <= 'Z' && m < HRH_METHOD_MAX) {
		i++;
		m++;
	}
	if (i >= n || m == 0 || b[i] != ' ')
		return HRH_NOT_REQUEST;
	i++;
	while (i < n && b[i] > ' ' && b[i] != 0x7f) {
		i++;
		t++;
	}
	if (i >= n || t == 0 || b[i] != ' ')
		return HRH_NOT_REQUEST;
	i++;
	if (n - i < 10 || memcmp(b + i, "HTTP/1.", 7) != 0 || b[i + 7] < '0' || b[i + 7] > '9' ||
	    b[i + 8] != '\r' || b[i + 9] != '\n')
		return HRH_NOT_REQUEST;
	i += 10;
	*ret_line_end = i;
	/* Header lines, each to its LF: a blank one ("" or "\r") ends the block; one whose
	 * first 12 bytes are "traceparent:" in any case decides as soon as they are seen. */
	while (i < n) {
		size_t start = i, len;
		const uint8_t *lf = memchr(b + i, '\n', n - i);

		len = lf ? (size_t)(lf - (b + start)) : n - start;
		if (len >= 12 || !lf) {
			size_t k = 0;

			while (k < 12 && k < len && lower(b[start + k]) == name[k])
				k++;
			if (k == 12)
				return HRH_HAS_TRACEPARENT;
		}
		if (!lf)
			return HRH_UNSURE;
		if (len == 0 || (len == 1 && b[start] == '\r'))
			return HRH_INSERT;
		i = start + len + 1;
	}
	return HRH_UNSURE;
}

static void check_request_head(const uint8_t *data, size_t size)
{
	static uint8_t buf[HRH_SCAN_MAX];
	struct hrh_state s, w;
	size_t n = size < HRH_SCAN_MAX - 1 ? size : HRH_SCAN_MAX - 1, line_end = 0, steps = 0;
	enum hrh_verdict got, want;

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < n; i++) {
		if (hrh_step(&s, data[i]))
			break;
	}
	got = hrh_verdict(&s);
	want = plain_verdict(data, n, &line_end);
	/* A word a step where bytes cannot matter: the same state as a byte at a time. */
	memset(buf, '\n', sizeof(buf));
	memcpy(buf, data, n);
	memset(&w, 0, sizeof(w));
	while (!hrh_advance(&w, buf, (uint32_t)n)) {
		if (++steps > n)
			abort();
	}
	if (w.pos != s.pos || w.phase != s.phase || w.line_end != s.line_end ||
	    w.has_tp != s.has_tp)
		abort();
	if (got != want)
		abort();
	/* Where the sk_msg program inserts: after the request line, inside the bytes. */
	if (got == HRH_INSERT && (s.line_end != line_end || s.line_end >= n))
		abort();
}

/* --- url.full ------------------------------------------------------------------- */

static int redacted_key(const char *k, size_t n)
{
	static const char *const keys[] = { "AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0)
			return 1;
	}
	return 0;
}

/* The query alone ("?" + what url.full makes of it) has as many pairs as q, and each
 * pair whose key is a signature's has the value REDACTED. */
static void check_query(const char *q, size_t qlen)
{
	static char out[4 * HC_QUERY_MAX + 64];
	size_t n = client_span_url_full("", 0, "", 0, "", 0, q, qlen, out, sizeof(out)), pairs = 1,
	       out_pairs = 1;

	if (n >= sizeof(out) || strlen(out) != n)
		abort();
	if (qlen == 0) {
		if (n != 0)
			abort();
		return;
	}
	if (out[0] != '?')
		abort();
	for (size_t i = 0; i < qlen; i++)
		pairs += q[i] == '&';
	for (const char *p = out + 1, *end = out + n; p <= end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));

		if (eq && redacted_key(p, (size_t)(eq - p)) &&
		    ((size_t)(stop - eq - 1) != 8 || memcmp(eq + 1, "REDACTED", 8) != 0))
			abort();
		if (!amp)
			break;
		out_pairs++;
		p = amp + 1;
	}
	if (pairs != out_pairs)
		abort();
}

/* Parts from the input: the first three bytes give the scheme's, host's and path's
 * lengths, the rest after them is the query. */
static void check_url(const uint8_t *data, size_t size)
{
	static char a[1024], b[1024];
	const char *p = (const char *)data + 3, *end = (const char *)data + size;
	size_t sl, hl, pl, ql, na, nb;
	const char *scheme, *host, *path, *query, *at;

	if (size < 3)
		return;
	sl = data[0] % (HC_SCHEME_MAX + 1);
	hl = data[1] % (HC_HOST_MAX + 1);
	pl = data[2] % (HC_PATH_MAX + 1);
	scheme = p;
	sl = sl < (size_t)(end - p) ? sl : (size_t)(end - p);
	p += sl;
	host = p;
	hl = hl < (size_t)(end - p) ? hl : (size_t)(end - p);
	p += hl;
	path = p;
	pl = pl < (size_t)(end - p) ? pl : (size_t)(end - p);
	p += pl;
	query = p;
	ql = (size_t)(end - p) < HC_QUERY_MAX ? (size_t)(end - p) : HC_QUERY_MAX;
	na = client_span_url_full(scheme, sl, host, hl, path, pl, query, ql, a, sizeof(a));
	if (na >= sizeof(a) || strlen(a) != na) {
		/* A NUL in the parts ends the C string early; the length says what was put. */
		if (na >= sizeof(a) || a[na] != '\0')
			abort();
	}
	/* User info in the host changes nothing: the same URL as from the host after it. */
	at = NULL;
	for (size_t i = 0; i < hl; i++)
		at = host[i] == '@' ? host + i : at;
	if (at) {
		nb = client_span_url_full(scheme, sl, at + 1, hl - (size_t)(at + 1 - host), path, pl,
					  query, ql, b, sizeof(b));
		if (na != nb || memcmp(a, b, na) != 0)
			abort();
	}
	if (!memchr(query, '\0', ql))
		check_query(query, ql);
	/* Any size of buffer: NUL-terminated within it. */
	for (size_t cap = 0; cap < 24; cap += 7) {
		char small[24];

		memset(small, 'x', sizeof(small));
		nb = client_span_url_full(scheme, sl, host, hl, path, pl, query, ql, small, cap);
		if (cap ? (nb >= cap || small[nb] != '\0') : nb != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct otlp_span span;
	struct hc_span_record rec;

	if (client_span_builder_build(data, size, (int64_t)size * 1000, &span) == 0)
		check_span(&span);
	if (size >= sizeof(rec)) {
		memcpy(&rec, data, sizeof(rec));
		if (client_span_builder_build(&rec, sizeof(rec), 0, &span) == 0)
			check_span(&span);
	}
	check_request_head(data, size);
	check_url(data, size);
	return 0;
}
