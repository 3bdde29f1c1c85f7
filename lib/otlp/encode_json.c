#include "lib/otlp/encode_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/otlp/utf8.h"

/* Appends stop at the first failure and remember it, so that the encoder reads as the
 * document it writes and checks once at the end. */
struct json_writer {
	struct otlp_buf *b;
	int err;
};

static void put(struct json_writer *w, const void *p, size_t n)
{
	if (!w->err)
		w->err = otlp_buf_append(w->b, p, n);
}

static void put_lit(struct json_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_u64(struct json_writer *w, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);

	put(w, tmp, (size_t)n);
}

static void put_i64(struct json_writer *w, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);

	put(w, tmp, (size_t)n);
}

/* A quoted JSON string; bytes that are not well-formed UTF-8 become U+FFFD. */
static void put_str(struct json_writer *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	put(w, "\"", 1);
	while (i < len && !w->err) {
		size_t run = i, n;
		char esc[6];

		while (run < len && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' &&
		       u[run] != '\\')
			run++;
		put(w, s + i, run - i);
		i = run;
		if (i >= len)
			break;
		if (u[i] >= 0x80) {
			n = utf8_char_len(u + i, len - i);
			if (n)
				put(w, s + i, n);
			else
				put(w, "\xEF\xBF\xBD", 3);
			i += n ? n : 1;
			continue;
		}
		esc[0] = '\\';
		switch (u[i]) {
		case '"': esc[1] = '"'; n = 2; break;
		case '\\': esc[1] = '\\'; n = 2; break;
		case '\n': esc[1] = 'n'; n = 2; break;
		case '\r': esc[1] = 'r'; n = 2; break;
		case '\t': esc[1] = 't'; n = 2; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 15];
			n = 6;
		}
		put(w, esc, n);
		i++;
	}
	put(w, "\"", 1);
}

static void put_hex(struct json_writer *w, const uint8_t *id, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[2 * OTLP_TRACE_ID_SIZE + 2];
	size_t k = 0;

	tmp[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		tmp[k++] = hex[id[i] >> 4];
		tmp[k++] = hex[id[i] & 15];
	}
	tmp[k++] = '"';
	put(w, tmp, k);
}

static void put_double(struct json_writer *w, double d)
{
	char tmp[32];
	int n;

	if (isnan(d)) {
		put_lit(w, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		put_lit(w, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	put(w, tmp, (size_t)n);
}

static void put_attrs(struct json_writer *w, const struct otlp_attrs_view *v)
{
	put_lit(w, "\"attributes\":[");
	for (size_t i = 0; i < v->count; i++) {
		const struct otlp_attr *a = &v->items[i];

		put_lit(w, i ? ",{\"key\":" : "{\"key\":");
		put_str(w, v->text + a->key_off, a->key_len);
		switch (a->type) {
		case OTLP_VALUE_STRING:
			put_lit(w, ",\"value\":{\"stringValue\":");
			put_str(w, v->text + a->str_off, a->str_len);
			break;
		case OTLP_VALUE_INT:
			put_lit(w, ",\"value\":{\"intValue\":\"");
			put_i64(w, a->v.i);
			put_lit(w, "\"");
			break;
		case OTLP_VALUE_BOOL:
			put_lit(w, a->v.b ? ",\"value\":{\"boolValue\":true" :
					    ",\"value\":{\"boolValue\":false");
			break;
		default:
			put_lit(w, ",\"value\":{\"doubleValue\":");
			put_double(w, a->v.d);
		}
		put_lit(w, "}}");
	}
	put_lit(w, "]");
	if (v->dropped) {
		put_lit(w, ",\"droppedAttributesCount\":");
		put_u64(w, v->dropped);
	}
}

static void put_span(struct json_writer *w, const struct otlp_span *s)
{
	struct otlp_attrs_view attrs = otlp_span_attrs(s);

	put_lit(w, "{\"traceId\":");
	put_hex(w, s->trace_id, OTLP_TRACE_ID_SIZE);
	put_lit(w, ",\"spanId\":");
	put_hex(w, s->span_id, OTLP_SPAN_ID_SIZE);
	if (!otlp_span_is_root(s)) {
		put_lit(w, ",\"parentSpanId\":");
		put_hex(w, s->parent_span_id, OTLP_SPAN_ID_SIZE);
	}
	if (s->flags) {
		put_lit(w, ",\"flags\":");
		put_u64(w, s->flags);
	}
	put_lit(w, ",\"name\":");
	put_str(w, s->name, s->name_len);
	if (s->kind) {
		put_lit(w, ",\"kind\":");
		put_u64(w, s->kind);
	}
	put_lit(w, ",\"startTimeUnixNano\":\"");
	put_u64(w, s->start_unix_nano);
	put_lit(w, "\",\"endTimeUnixNano\":\"");
	put_u64(w, s->end_unix_nano);
	put_lit(w, "\",");
	put_attrs(w, &attrs);
	if (s->status_code || s->status_msg_len) {
		put_lit(w, ",\"status\":{");
		if (s->status_msg_len) {
			put_lit(w, "\"message\":");
			put_str(w, s->text + s->status_msg_off, s->status_msg_len);
		}
		if (s->status_code) {
			put_lit(w, s->status_msg_len ? ",\"code\":" : "\"code\":");
			put_u64(w, s->status_code);
		}
		put_lit(w, "}");
	}
	put_lit(w, "}");
}

static void put_resource_spans(struct json_writer *w, const struct otlp_resource *res,
			       const char *scope_version, const struct otlp_resource_group *groups,
			       size_t n_groups, size_t g, const struct otlp_span *spans, size_t n)
{
	struct otlp_attrs_view rv = otlp_resource_attrs(res);
	int first = 1;

	put_lit(w, "{\"resource\":{");
	put_attrs(w, &rv);
	put_lit(w, "},\"scopeSpans\":[{\"scope\":{\"name\":");
	put_str(w, OTLP_SCOPE_NAME, strlen(OTLP_SCOPE_NAME));
	if (scope_version && *scope_version) {
		put_lit(w, ",\"version\":");
		put_str(w, scope_version, strlen(scope_version));
	}
	put_lit(w, "},\"spans\":[");
	for (size_t i = 0; i < n; i++) {
		if (n_groups && !otlp_resource_group_has(groups, n_groups, g, &spans[i]))
			continue;
		if (!first)
			put_lit(w, ",");
		first = 0;
		put_span(w, &spans[i]);
	}
	put_lit(w, "]}]}");
}

static int group_has_spans(const struct otlp_resource_group *groups, size_t n_groups, size_t g,
			   const struct otlp_span *spans, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (otlp_resource_group_has(groups, n_groups, g, &spans[i]))
			return 1;
	return 0;
}

int otlp_encode_json(const struct otlp_resource *res, const char *scope_version,
		     const struct otlp_span *spans, size_t n, struct otlp_buf *out)
{
	struct otlp_resource_group all = { .id = 0, .res = res };

	return otlp_encode_json_groups(&all, 0, scope_version, spans, n, out);
}

int otlp_encode_json_groups(const struct otlp_resource_group *groups, size_t n_groups,
			    const char *scope_version, const struct otlp_span *spans, size_t n,
			    struct otlp_buf *out)
{
	struct json_writer w = { .b = out };
	size_t saved_len = out->len, passes = n_groups ? n_groups : 1;

	put_lit(&w, "{\"resourceSpans\":[");
	for (size_t g = 0; g < passes; g++) {
		if (g && !group_has_spans(groups, n_groups, g, spans, n))
			continue;
		if (g)
			put_lit(&w, ",");
		put_resource_spans(&w, groups[g].res, scope_version, groups, n_groups, g, spans, n);
	}
	put_lit(&w, "]}");
	if (w.err)
		out->len = saved_len;
	return w.err;
}
