/* Ring-buffer records come from the kernel, but their bytes were read from traced
 * processes, and a record of another layout must not crash the agent: any bytes, at any
 * size, become a span or are refused. Inputs of a record's size are taken as one record;
 * others as they are. The span that results must encode as OTLP (both encodings) and
 * every string in it must be within its arena. The same bytes also go through the
 * kernel's traceparent search, as request header bytes: what it finds and notes must be
 * what the word-a-step search finds and notes in them, and what the start probe takes
 * from them for a sampled span must lie within them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/span_builder.h"
#include "bpf/http_server.h"
#include "bpf/request_text.h"
#include "bpf/traceparent_scan.h"

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

/* Whether two finished searches over the same bytes (their notes started out alike)
 * found and noted the same. */
static int same_search(const struct tp_scan *a, const struct tp_scan *b)
{
	const struct tp_lf *x = a->lf, *y = b->lf;

	if (a->found != b->found || a->block_at != b->block_at || a->candidate != b->candidate ||
	    (a->candidate && a->value_at != b->value_at))
		return 0;
	if (a->found && (memcmp(a->trace_id, b->trace_id, 16) || memcmp(a->span_id, b->span_id, 8) ||
			 a->flags != b->flags))
		return 0;
	return x->ended == y->ended && x->reqline_set == y->reqline_set &&
	       x->reqline_end == y->reqline_end && x->host_state == y->host_state &&
	       x->host_at == y->host_at && x->host_end == y->host_end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t headers[TP_SCAN_MAX + TP_SCAN_SLACK];
	static struct otlp_span span;
	static struct tp_lf lf, words_lf;
	struct tp_scan scan, words;
	int found;
	struct rt_text text;
	uint8_t method = HS_METHOD_UNKNOWN, have = 0;
	const char *host;
	size_t host_len;
	unsigned port;

	if (span_builder_build(data, size, (int64_t)size * 1000, &span) == 0)
		check_span(&span);
	span_builder_split_host_port((const char *)data, size, &host, &host_len, &port);
	if (host < (const char *)data || host + host_len > (const char *)data + size || port > 65535)
		abort();

	memset(headers, 0, sizeof(headers));
	memset(&scan, 0, sizeof(scan));
	memset(&lf, 0, sizeof(lf));
	memset(&words_lf, 0, sizeof(words_lf));
	scan.n = (uint32_t)(size < TP_SCAN_MAX ? size : TP_SCAN_MAX);
	memcpy(headers, data, scan.n);
	scan.buf = headers;
	words = scan;
	found = tp_scan_run_with(&scan, &lf);
	if (found != tp_scan_run_words_with(&words, &words_lf) || !same_search(&scan, &words))
		abort();
	if (scan.block_at < scan.n)
		method = hs_method_of_line(headers + scan.block_at, scan.n - scan.block_at);
	if (method < HS_METHOD_COUNT)
		have = rt_locate(&scan, method, &text);
	if ((have & HS_TEXT_PATH) &&
	    ((uint64_t)text.target_at + text.target_len > scan.n || text.target_len == 0 ||
	     headers[text.target_at] != '/'))
		abort();
	if ((have & HS_TEXT_HOST) && (uint64_t)text.host_at + text.host_len > scan.n)
		abort();
	return 0;
}
