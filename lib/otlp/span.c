#include "lib/otlp/span.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lib/otlp/utf8.h"

/* The parts of a span or a resource that hold attributes, so that both share one
 * implementation of the setters. */
struct attr_store {
	struct otlp_attr *items;
	uint16_t *count, *dropped, *used;
	size_t max_items;
	char *text;
	size_t text_cap;
	size_t value_max; /* bytes of one string value */
};

static struct attr_store span_store(struct otlp_span *span)
{
	return (struct attr_store){
		.items = span->attrs,
		.count = &span->attr_count,
		.dropped = &span->dropped_attrs,
		.used = &span->text_used,
		.max_items = OTLP_SPAN_MAX_ATTRS,
		.text = span->text,
		.text_cap = sizeof(span->text),
		.value_max = OTLP_SPAN_VALUE_MAX,
	};
}

static struct attr_store resource_store(struct otlp_resource *res)
{
	return (struct attr_store){
		.items = res->attrs,
		.count = &res->attr_count,
		.dropped = &res->dropped_attrs,
		.used = &res->text_used,
		.max_items = OTLP_RESOURCE_MAX_ATTRS,
		.text = res->text,
		.text_cap = sizeof(res->text),
		.value_max = OTLP_RESOURCE_VALUE_MAX,
	};
}

static void count_dropped(struct attr_store *st)
{
	if (*st->dropped < UINT16_MAX)
		(*st->dropped)++;
}

/* Appends sanitized text to the arena, at most max bytes; the offset and length go to
 * ret_*. Returns 0, or -E2BIG when truncated. */
static int store_text(struct attr_store *st, const char *s, size_t len, size_t max,
		      uint16_t *ret_off, uint16_t *ret_len)
{
	size_t room = st->text_cap - *st->used;
	bool truncated;
	size_t n = utf8_copy_sanitized(st->text + *st->used, room < max ? room : max, s, len,
				       &truncated);

	*ret_off = *st->used;
	*ret_len = (uint16_t)n;
	*st->used = (uint16_t)(*st->used + n);
	return truncated ? -E2BIG : 0;
}

/* Reserves an attribute with its key copied whole (a truncated key would name a
 * different attribute, so a key that does not fit drops the attribute). */
static int attr_begin(struct attr_store *st, const char *key, struct otlp_attr **ret_attr)
{
	struct otlp_attr *a;
	size_t key_len;
	uint16_t saved_used = *st->used;

	if (!key || !*key)
		return -EINVAL;
	key_len = strlen(key);
	if (*st->count >= st->max_items || key_len > st->text_cap - *st->used)
		goto full;
	a = &st->items[*st->count];
	memset(a, 0, sizeof(*a));
	if (store_text(st, key, key_len, SIZE_MAX, &a->key_off, &a->key_len) < 0) {
		*st->used = saved_used; /* U+FFFD replacements made the key grow */
		goto full;
	}
	*ret_attr = a;
	return 0;
full:
	count_dropped(st);
	return -ENOSPC;
}

static int store_add_string(struct attr_store *st, const char *key, const char *value,
			    size_t len)
{
	struct otlp_attr *a;
	int r;

	if (!value)
		return -EINVAL;
	r = attr_begin(st, key, &a);
	if (r < 0)
		return r;
	a->type = OTLP_VALUE_STRING;
	r = store_text(st, value, len, st->value_max, &a->str_off, &a->str_len);
	(*st->count)++;
	return r;
}

static int store_add_scalar(struct attr_store *st, const char *key, enum otlp_value_type type,
			    int64_t i, bool b, double d)
{
	struct otlp_attr *a;
	int r = attr_begin(st, key, &a);

	if (r < 0)
		return r;
	a->type = (uint8_t)type;
	if (type == OTLP_VALUE_INT)
		a->v.i = i;
	else if (type == OTLP_VALUE_BOOL)
		a->v.b = b;
	else
		a->v.d = d;
	(*st->count)++;
	return 0;
}

void otlp_span_init(struct otlp_span *span)
{
	/* Only the header: the arenas are read through offsets and lengths alone. */
	memset(span, 0, offsetof(struct otlp_span, name));
}

int otlp_span_set_name(struct otlp_span *span, const char *name, size_t len)
{
	bool truncated;

	span->name_len = (uint16_t)utf8_copy_sanitized(span->name, sizeof(span->name), name, len,
						       &truncated);
	return truncated ? -E2BIG : 0;
}

int otlp_span_set_status(struct otlp_span *span, enum otlp_status_code code, const char *msg)
{
	struct attr_store st = span_store(span);

	span->status_code = (uint8_t)code;
	span->status_msg_off = 0;
	span->status_msg_len = 0;
	if (!msg || !*msg)
		return 0;
	return store_text(&st, msg, strlen(msg), st.value_max, &span->status_msg_off,
			  &span->status_msg_len);
}

int otlp_span_add_string(struct otlp_span *span, const char *key, const char *value)
{
	return otlp_span_add_string_len(span, key, value, value ? strlen(value) : 0);
}

int otlp_span_add_string_len(struct otlp_span *span, const char *key, const char *value,
			     size_t len)
{
	struct attr_store st = span_store(span);

	return store_add_string(&st, key, value, len);
}

int otlp_span_add_int(struct otlp_span *span, const char *key, int64_t value)
{
	struct attr_store st = span_store(span);

	return store_add_scalar(&st, key, OTLP_VALUE_INT, value, false, 0);
}

int otlp_span_add_bool(struct otlp_span *span, const char *key, bool value)
{
	struct attr_store st = span_store(span);

	return store_add_scalar(&st, key, OTLP_VALUE_BOOL, 0, value, 0);
}

int otlp_span_add_double(struct otlp_span *span, const char *key, double value)
{
	struct attr_store st = span_store(span);

	return store_add_scalar(&st, key, OTLP_VALUE_DOUBLE, 0, false, value);
}

void otlp_span_copy(struct otlp_span *dst, const struct otlp_span *src)
{
	memcpy(dst, src, offsetof(struct otlp_span, name));
	memcpy(dst->name, src->name, src->name_len);
	memcpy(dst->attrs, src->attrs, src->attr_count * sizeof(src->attrs[0]));
	memcpy(dst->text, src->text, src->text_used);
}

bool otlp_span_is_root(const struct otlp_span *span)
{
	static const uint8_t zero[OTLP_SPAN_ID_SIZE];

	return memcmp(span->parent_span_id, zero, sizeof(zero)) == 0;
}

struct otlp_attrs_view otlp_span_attrs(const struct otlp_span *span)
{
	return (struct otlp_attrs_view){
		.items = span->attrs,
		.count = span->attr_count,
		.dropped = span->dropped_attrs,
		.text = span->text,
	};
}

const struct otlp_attr *otlp_span_find_attr(const struct otlp_span *span, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; i < span->attr_count; i++) {
		const struct otlp_attr *a = &span->attrs[i];

		if (a->key_len == len && memcmp(span->text + a->key_off, key, len) == 0)
			return a;
	}
	return NULL;
}

void otlp_resource_init(struct otlp_resource *res)
{
	res->attr_count = 0;
	res->dropped_attrs = 0;
	res->text_used = 0;
}

int otlp_resource_add_string(struct otlp_resource *res, const char *key, const char *value)
{
	struct attr_store st = resource_store(res);

	return store_add_string(&st, key, value, value ? strlen(value) : 0);
}

int otlp_resource_add_int(struct otlp_resource *res, const char *key, int64_t value)
{
	struct attr_store st = resource_store(res);

	return store_add_scalar(&st, key, OTLP_VALUE_INT, value, false, 0);
}

int otlp_resource_add_bool(struct otlp_resource *res, const char *key, bool value)
{
	struct attr_store st = resource_store(res);

	return store_add_scalar(&st, key, OTLP_VALUE_BOOL, 0, value, 0);
}

int otlp_resource_add_double(struct otlp_resource *res, const char *key, double value)
{
	struct attr_store st = resource_store(res);

	return store_add_scalar(&st, key, OTLP_VALUE_DOUBLE, 0, false, value);
}

struct otlp_attrs_view otlp_resource_attrs(const struct otlp_resource *res)
{
	return (struct otlp_attrs_view){
		.items = res->attrs,
		.count = res->attr_count,
		.dropped = res->dropped_attrs,
		.text = res->text,
	};
}
