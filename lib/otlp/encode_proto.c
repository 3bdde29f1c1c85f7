#include "lib/otlp/encode_proto.h"

#include <errno.h>
#include <string.h>

#include "lib/otlp/protowire.h"

/* Field numbers, from the OTLP .proto files. */
enum {
	F_REQUEST_RESOURCE_SPANS = 1,
	F_RESOURCE_SPANS_RESOURCE = 1,
	F_RESOURCE_SPANS_SCOPE_SPANS = 2,
	F_RESOURCE_ATTRIBUTES = 1,
	F_RESOURCE_DROPPED_ATTRIBUTES = 2,
	F_SCOPE_SPANS_SCOPE = 1,
	F_SCOPE_SPANS_SPANS = 2,
	F_SCOPE_NAME = 1,
	F_SCOPE_VERSION = 2,
	F_SPAN_TRACE_ID = 1,
	F_SPAN_SPAN_ID = 2,
	F_SPAN_PARENT_SPAN_ID = 4,
	F_SPAN_NAME = 5,
	F_SPAN_KIND = 6,
	F_SPAN_START = 7,
	F_SPAN_END = 8,
	F_SPAN_ATTRIBUTES = 9,
	F_SPAN_DROPPED_ATTRIBUTES = 10,
	F_SPAN_STATUS = 15,
	F_SPAN_FLAGS = 16,
	F_STATUS_MESSAGE = 2,
	F_STATUS_CODE = 3,
	F_KEYVALUE_KEY = 1,
	F_KEYVALUE_VALUE = 2,
	F_ANYVALUE_STRING = 1,
	F_ANYVALUE_BOOL = 2,
	F_ANYVALUE_INT = 3,
	F_ANYVALUE_DOUBLE = 4,
};

/* ---- sizes ---- */

static size_t anyvalue_size(const struct otlp_attr *a)
{
	switch (a->type) {
	case OTLP_VALUE_STRING:
		return pb_len_field_size(F_ANYVALUE_STRING, a->str_len);
	case OTLP_VALUE_INT:
		return 1 + pb_varint_size((uint64_t)a->v.i);
	case OTLP_VALUE_BOOL:
		return 2;
	default:
		return 1 + 8;
	}
}

static size_t keyvalue_size(const struct otlp_attr *a)
{
	return pb_len_field_size(F_KEYVALUE_KEY, a->key_len) +
	       pb_len_field_size(F_KEYVALUE_VALUE, anyvalue_size(a));
}

static size_t attrs_size(uint32_t field, const struct otlp_attrs_view *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->count; i++)
		n += pb_len_field_size(field, keyvalue_size(&v->items[i]));
	return n;
}

static size_t dropped_size(uint32_t field, uint32_t dropped)
{
	return dropped ? pb_tag_size(field) + pb_varint_size(dropped) : 0;
}

static size_t status_size(const struct otlp_span *s)
{
	size_t n = 0;

	if (s->status_msg_len)
		n += pb_len_field_size(F_STATUS_MESSAGE, s->status_msg_len);
	if (s->status_code)
		n += 1 + pb_varint_size(s->status_code);
	return n;
}

static size_t span_size(const struct otlp_span *s)
{
	struct otlp_attrs_view attrs = otlp_span_attrs(s);
	size_t n = pb_len_field_size(F_SPAN_TRACE_ID, OTLP_TRACE_ID_SIZE) +
		   pb_len_field_size(F_SPAN_SPAN_ID, OTLP_SPAN_ID_SIZE);
	size_t st;

	if (!otlp_span_is_root(s))
		n += pb_len_field_size(F_SPAN_PARENT_SPAN_ID, OTLP_SPAN_ID_SIZE);
	if (s->name_len)
		n += pb_len_field_size(F_SPAN_NAME, s->name_len);
	if (s->kind)
		n += 1 + pb_varint_size(s->kind);
	if (s->start_unix_nano)
		n += 1 + 8;
	if (s->end_unix_nano)
		n += 1 + 8;
	n += attrs_size(F_SPAN_ATTRIBUTES, &attrs);
	n += dropped_size(F_SPAN_DROPPED_ATTRIBUTES, attrs.dropped);
	st = status_size(s);
	if (st)
		n += pb_len_field_size(F_SPAN_STATUS, st);
	if (s->flags)
		n += pb_tag_size(F_SPAN_FLAGS) + 4;
	return n;
}

static size_t resource_size(const struct otlp_attrs_view *v)
{
	return attrs_size(F_RESOURCE_ATTRIBUTES, v) +
	       dropped_size(F_RESOURCE_DROPPED_ATTRIBUTES, v->dropped);
}

static size_t scope_size(size_t version_len)
{
	size_t n = pb_len_field_size(F_SCOPE_NAME, strlen(OTLP_SCOPE_NAME));

	if (version_len)
		n += pb_len_field_size(F_SCOPE_VERSION, version_len);
	return n;
}

static size_t resource_spans_size(const struct otlp_attrs_view *res, size_t ss_size)
{
	return pb_len_field_size(F_RESOURCE_SPANS_RESOURCE, resource_size(res)) +
	       pb_len_field_size(F_RESOURCE_SPANS_SCOPE_SPANS, ss_size);
}

/* ---- writers: each writes exactly the size computed above ---- */

static uint8_t *put_anyvalue(uint8_t *p, const struct otlp_attr *a, const char *text)
{
	switch (a->type) {
	case OTLP_VALUE_STRING:
		return pb_put_bytes(p, F_ANYVALUE_STRING, text + a->str_off, a->str_len);
	case OTLP_VALUE_INT:
		p = pb_put_tag(p, F_ANYVALUE_INT, PB_WT_VARINT);
		return pb_put_varint(p, (uint64_t)a->v.i);
	case OTLP_VALUE_BOOL:
		p = pb_put_tag(p, F_ANYVALUE_BOOL, PB_WT_VARINT);
		return pb_put_varint(p, a->v.b ? 1 : 0);
	default: {
		uint64_t bits;

		memcpy(&bits, &a->v.d, sizeof(bits));
		p = pb_put_tag(p, F_ANYVALUE_DOUBLE, PB_WT_I64);
		return pb_put_fixed64(p, bits);
	}
	}
}

static uint8_t *put_attrs(uint8_t *p, uint32_t field, const struct otlp_attrs_view *v)
{
	for (size_t i = 0; i < v->count; i++) {
		const struct otlp_attr *a = &v->items[i];

		p = pb_put_len_header(p, field, keyvalue_size(a));
		p = pb_put_bytes(p, F_KEYVALUE_KEY, v->text + a->key_off, a->key_len);
		p = pb_put_len_header(p, F_KEYVALUE_VALUE, anyvalue_size(a));
		p = put_anyvalue(p, a, v->text);
	}
	return p;
}

static uint8_t *put_dropped(uint8_t *p, uint32_t field, uint32_t dropped)
{
	if (!dropped)
		return p;
	p = pb_put_tag(p, field, PB_WT_VARINT);
	return pb_put_varint(p, dropped);
}

static uint8_t *put_span(uint8_t *p, const struct otlp_span *s)
{
	struct otlp_attrs_view attrs = otlp_span_attrs(s);
	size_t st;

	p = pb_put_len_header(p, F_SCOPE_SPANS_SPANS, span_size(s));
	p = pb_put_bytes(p, F_SPAN_TRACE_ID, s->trace_id, OTLP_TRACE_ID_SIZE);
	p = pb_put_bytes(p, F_SPAN_SPAN_ID, s->span_id, OTLP_SPAN_ID_SIZE);
	if (!otlp_span_is_root(s))
		p = pb_put_bytes(p, F_SPAN_PARENT_SPAN_ID, s->parent_span_id, OTLP_SPAN_ID_SIZE);
	if (s->name_len)
		p = pb_put_bytes(p, F_SPAN_NAME, s->name, s->name_len);
	if (s->kind) {
		p = pb_put_tag(p, F_SPAN_KIND, PB_WT_VARINT);
		p = pb_put_varint(p, s->kind);
	}
	if (s->start_unix_nano) {
		p = pb_put_tag(p, F_SPAN_START, PB_WT_I64);
		p = pb_put_fixed64(p, s->start_unix_nano);
	}
	if (s->end_unix_nano) {
		p = pb_put_tag(p, F_SPAN_END, PB_WT_I64);
		p = pb_put_fixed64(p, s->end_unix_nano);
	}
	p = put_attrs(p, F_SPAN_ATTRIBUTES, &attrs);
	p = put_dropped(p, F_SPAN_DROPPED_ATTRIBUTES, attrs.dropped);
	st = status_size(s);
	if (st) {
		p = pb_put_len_header(p, F_SPAN_STATUS, st);
		if (s->status_msg_len)
			p = pb_put_bytes(p, F_STATUS_MESSAGE, s->text + s->status_msg_off,
					 s->status_msg_len);
		if (s->status_code) {
			p = pb_put_tag(p, F_STATUS_CODE, PB_WT_VARINT);
			p = pb_put_varint(p, s->status_code);
		}
	}
	if (s->flags) {
		p = pb_put_tag(p, F_SPAN_FLAGS, PB_WT_I32);
		p = pb_put_fixed32(p, s->flags);
	}
	return p;
}

/* The spans of group g (all of them when groups is NULL). */
struct span_set {
	const struct otlp_span *spans;
	size_t n;
	const struct otlp_resource_group *groups;
	size_t n_groups, g;
};

static bool in_set(const struct span_set *set, size_t i)
{
	return !set->groups ||
	       otlp_resource_group_has(set->groups, set->n_groups, set->g, &set->spans[i]);
}

static size_t scope_spans_size(size_t version_len, const struct span_set *set,
			       size_t *ret_count)
{
	size_t sz = pb_len_field_size(F_SCOPE_SPANS_SCOPE, scope_size(version_len)), count = 0;

	for (size_t i = 0; i < set->n; i++) {
		if (!in_set(set, i))
			continue;
		sz += pb_len_field_size(F_SCOPE_SPANS_SPANS, span_size(&set->spans[i]));
		count++;
	}
	*ret_count = count;
	return sz;
}

/* One ResourceSpans (field 1 of the request) for res and the spans of set: a request
 * of its own, and requests concatenate, since a repeated field's entries do. */
static size_t resource_spans_field_size(const struct otlp_resource *res, size_t vlen,
					const struct span_set *set, size_t *ret_ss_size,
					size_t *ret_count)
{
	struct otlp_attrs_view rv = otlp_resource_attrs(res);

	*ret_ss_size = scope_spans_size(vlen, set, ret_count);
	return pb_len_field_size(F_REQUEST_RESOURCE_SPANS, resource_spans_size(&rv, *ret_ss_size));
}

static uint8_t *put_resource_spans(uint8_t *p, const struct otlp_resource *res,
				   const char *scope_version, size_t vlen, size_t ss_size,
				   const struct span_set *set)
{
	struct otlp_attrs_view rv = otlp_resource_attrs(res);

	p = pb_put_len_header(p, F_REQUEST_RESOURCE_SPANS, resource_spans_size(&rv, ss_size));
	p = pb_put_len_header(p, F_RESOURCE_SPANS_RESOURCE, resource_size(&rv));
	p = put_attrs(p, F_RESOURCE_ATTRIBUTES, &rv);
	p = put_dropped(p, F_RESOURCE_DROPPED_ATTRIBUTES, rv.dropped);
	p = pb_put_len_header(p, F_RESOURCE_SPANS_SCOPE_SPANS, ss_size);
	p = pb_put_len_header(p, F_SCOPE_SPANS_SCOPE, scope_size(vlen));
	p = pb_put_bytes(p, F_SCOPE_NAME, OTLP_SCOPE_NAME, strlen(OTLP_SCOPE_NAME));
	if (vlen)
		p = pb_put_bytes(p, F_SCOPE_VERSION, scope_version, vlen);
	for (size_t i = 0; i < set->n; i++)
		if (in_set(set, i))
			p = put_span(p, &set->spans[i]);
	return p;
}

size_t otlp_encode_proto_size(const struct otlp_resource *res, const char *scope_version,
			      const struct otlp_span *spans, size_t n)
{
	struct span_set set = { .spans = spans, .n = n };
	size_t ss_size, count;

	return resource_spans_field_size(res, scope_version ? strlen(scope_version) : 0, &set,
					 &ss_size, &count);
}

int otlp_encode_proto(const struct otlp_resource *res, const char *scope_version,
		      const struct otlp_span *spans, size_t n, struct otlp_buf *out)
{
	struct otlp_resource_group all = { .id = 0, .res = res };

	return otlp_encode_proto_groups(&all, 0, scope_version, spans, n, out);
}

int otlp_encode_proto_groups(const struct otlp_resource_group *groups, size_t n_groups,
			     const char *scope_version, const struct otlp_span *spans, size_t n,
			     struct otlp_buf *out)
{
	size_t vlen = scope_version ? strlen(scope_version) : 0, total = 0;
	size_t passes = n_groups ? n_groups : 1;
	uint8_t *p, *start;
	int err;

	/* Sizes first (a pass per group: groups are few, a batch's pods), then one
	 * reservation, then the bytes. */
	for (size_t g = 0; g < passes; g++) {
		struct span_set set = { spans, n, n_groups ? groups : NULL, n_groups, g };
		size_t ss_size, count;
		size_t sz = resource_spans_field_size(groups[g].res, vlen, &set, &ss_size, &count);

		if (count || g == 0)
			total += sz;
	}
	err = otlp_buf_reserve(out, total);
	if (err < 0)
		return err;
	p = start = out->data + out->len;
	for (size_t g = 0; g < passes; g++) {
		struct span_set set = { spans, n, n_groups ? groups : NULL, n_groups, g };
		size_t ss_size, count;

		resource_spans_field_size(groups[g].res, vlen, &set, &ss_size, &count);
		if (count || g == 0)
			p = put_resource_spans(p, groups[g].res, scope_version, vlen, ss_size, &set);
	}
	out->len += (size_t)(p - start);
	return 0;
}
