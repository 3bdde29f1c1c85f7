/* The span record the agent builds from probe events and the exporter queues, and the
 * resource and instrumentation scope it is exported under.
 *
 * A span is one fixed-size value with no pointers: strings live in an arena inside it,
 * so the exporter's queue copies spans with memcpy and its memory is bounded by its
 * capacity alone. What does not fit is truncated (names, values, at a UTF-8 character
 * boundary) or dropped and counted (attributes, OTLP's dropped_attributes_count).
 * Strings are stored as valid UTF-8: invalid bytes read from a traced process become
 * U+FFFD, so both encodings carry them as proper OTLP strings.
 *
 * Errors: functions return 0 or a negative errno. */
#ifndef AUTOTRACE_OTLP_SPAN_H
#define AUTOTRACE_OTLP_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTLP_TRACE_ID_SIZE 16
#define OTLP_SPAN_ID_SIZE 8

#define OTLP_SPAN_NAME_MAX 128    /* bytes kept of a span name */
#define OTLP_SPAN_MAX_ATTRS 16    /* attributes per span */
#define OTLP_SPAN_TEXT_MAX 1024   /* bytes for attribute keys, string values, status message */
#define OTLP_SPAN_VALUE_MAX 512   /* bytes of one string value, so one long URL cannot
				     crowd out the attributes set after it */
#define OTLP_RESOURCE_MAX_ATTRS 64
#define OTLP_RESOURCE_TEXT_MAX 8192
#define OTLP_RESOURCE_VALUE_MAX 1024

/* Values are OTLP's Span.SpanKind. */
enum otlp_span_kind {
	OTLP_SPAN_KIND_UNSPECIFIED = 0,
	OTLP_SPAN_KIND_INTERNAL = 1,
	OTLP_SPAN_KIND_SERVER = 2,
	OTLP_SPAN_KIND_CLIENT = 3,
	OTLP_SPAN_KIND_PRODUCER = 4,
	OTLP_SPAN_KIND_CONSUMER = 5,
};

/* Values are OTLP's Status.StatusCode. */
enum otlp_status_code {
	OTLP_STATUS_UNSET = 0,
	OTLP_STATUS_OK = 1,
	OTLP_STATUS_ERROR = 2,
};

enum otlp_value_type {
	OTLP_VALUE_STRING,
	OTLP_VALUE_INT,
	OTLP_VALUE_BOOL,
	OTLP_VALUE_DOUBLE,
};

/* One key-value attribute; its strings are offsets into the owning arena, so the
 * record stays valid when the span or resource holding it is copied. */
struct otlp_attr {
	uint16_t key_off, key_len;
	uint16_t str_off, str_len; /* OTLP_VALUE_STRING only */
	uint8_t type;              /* enum otlp_value_type */
	union {
		int64_t i;
		double d;
		bool b;
	} v;
};

/* A read-only view of an attribute list, what the encoders take. */
struct otlp_attrs_view {
	const struct otlp_attr *items;
	size_t count;
	uint32_t dropped;
	const char *text;
};

struct otlp_span {
	uint8_t trace_id[OTLP_TRACE_ID_SIZE];
	uint8_t span_id[OTLP_SPAN_ID_SIZE];
	uint8_t parent_span_id[OTLP_SPAN_ID_SIZE]; /* all zero: a root span */
	uint32_t flags;                            /* W3C trace flags in the low 8 bits */
	uint8_t kind;                              /* enum otlp_span_kind */
	uint8_t status_code;                       /* enum otlp_status_code */
	uint64_t start_unix_nano, end_unix_nano;
	uint16_t name_len;
	uint16_t status_msg_off, status_msg_len;
	uint16_t attr_count, dropped_attrs, text_used;
	/* Which of its exporter's resources the span is exported under: 0, the exporter's
	 * own; else one set with otlp_exporter_put_resource (a node agent's pods). */
	uint32_t resource_id;
	char name[OTLP_SPAN_NAME_MAX];
	struct otlp_attr attrs[OTLP_SPAN_MAX_ATTRS];
	char text[OTLP_SPAN_TEXT_MAX];
};

/* Resource attributes (service.name, k8s.*, ...), set once per exporter. */
struct otlp_resource {
	uint16_t attr_count, dropped_attrs, text_used;
	struct otlp_attr attrs[OTLP_RESOURCE_MAX_ATTRS];
	char text[OTLP_RESOURCE_TEXT_MAX];
};

/* The instrumentation scope every span is exported under: name "autotrace". */
#define OTLP_SCOPE_NAME "autotrace"

/* Clears a span: no name, no attributes, kind unspecified, status unset. */
void otlp_span_init(struct otlp_span *span);

/* Copies name[0..len), truncated to OTLP_SPAN_NAME_MAX at a character boundary.
 * Returns 0, or -E2BIG when it had to truncate (the span keeps the prefix). */
int otlp_span_set_name(struct otlp_span *span, const char *name, size_t len);
/* Status code and an optional message (NULL: none). -E2BIG: the message was
 * truncated or, when the arena is full, left out. */
int otlp_span_set_status(struct otlp_span *span, enum otlp_status_code code, const char *msg);

/* Attribute setters: copy the key (and a string value). A string value is truncated to
 * OTLP_SPAN_VALUE_MAX or to what the arena has left; -E2BIG then, and the attribute is
 * still set. -ENOSPC: no
 * room for the attribute at all; it is dropped and counted in dropped_attrs.
 * -EINVAL: a NULL or empty key. Keys are not checked for duplicates. */
int otlp_span_add_string(struct otlp_span *span, const char *key, const char *value);
int otlp_span_add_string_len(struct otlp_span *span, const char *key, const char *value,
			     size_t len);
int otlp_span_add_int(struct otlp_span *span, const char *key, int64_t value);
int otlp_span_add_bool(struct otlp_span *span, const char *key, bool value);
int otlp_span_add_double(struct otlp_span *span, const char *key, double value);

/* Copies the parts of src in use (a typical span is a third of its full size): what
 * the queue does with every span. */
void otlp_span_copy(struct otlp_span *dst, const struct otlp_span *src);

bool otlp_span_is_root(const struct otlp_span *span);
/* Views borrow from the span or resource; valid while it is unchanged. */
struct otlp_attrs_view otlp_span_attrs(const struct otlp_span *span);
/* Looks up a span attribute by key; NULL when absent. Borrowed. */
const struct otlp_attr *otlp_span_find_attr(const struct otlp_span *span, const char *key);

void otlp_resource_init(struct otlp_resource *res);
/* Same contract as the span setters. */
int otlp_resource_add_string(struct otlp_resource *res, const char *key, const char *value);
int otlp_resource_add_int(struct otlp_resource *res, const char *key, int64_t value);
int otlp_resource_add_bool(struct otlp_resource *res, const char *key, bool value);
int otlp_resource_add_double(struct otlp_resource *res, const char *key, double value);
struct otlp_attrs_view otlp_resource_attrs(const struct otlp_resource *res);

#endif
