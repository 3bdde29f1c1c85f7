/* The protobuf wire format, by hand: what the OTLP encoder writes and the response
 * parser reads. Writers put bytes at a cursor the caller has sized (encoders compute
 * exact message sizes first); the reader walks untrusted bytes with bounds checks.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OTLP_PROTOWIRE_H
#define AUTOTRACE_OTLP_PROTOWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum pb_wire_type {
	PB_WT_VARINT = 0,
	PB_WT_I64 = 1,
	PB_WT_LEN = 2,
	PB_WT_I32 = 5,
};

static inline size_t pb_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline size_t pb_tag_size(uint32_t field)
{
	return pb_varint_size((uint64_t)field << 3);
}

/* A length-delimited field of payload size n: tag, length, payload. */
static inline size_t pb_len_field_size(uint32_t field, size_t n)
{
	return pb_tag_size(field) + pb_varint_size(n) + n;
}

static inline uint8_t *pb_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline uint8_t *pb_put_tag(uint8_t *p, uint32_t field, enum pb_wire_type wt)
{
	return pb_put_varint(p, ((uint64_t)field << 3) | (uint64_t)wt);
}

static inline uint8_t *pb_put_fixed64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static inline uint8_t *pb_put_fixed32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

/* Tag and length of a length-delimited field whose payload the caller writes next. */
static inline uint8_t *pb_put_len_header(uint8_t *p, uint32_t field, size_t n)
{
	p = pb_put_tag(p, field, PB_WT_LEN);
	return pb_put_varint(p, n);
}

static inline uint8_t *pb_put_bytes(uint8_t *p, uint32_t field, const void *data, size_t n)
{
	p = pb_put_len_header(p, field, n);
	if (n)
		memcpy(p, data, n);
	return p + n;
}

struct pb_reader {
	const uint8_t *p, *end;
};

/* One decoded field. For PB_WT_LEN, data/len is the payload (borrowed from the input);
 * otherwise value holds the varint or the fixed-width bits. */
struct pb_field {
	uint32_t number;
	enum pb_wire_type wire_type;
	uint64_t value;
	const uint8_t *data;
	size_t len;
};

static inline struct pb_reader pb_reader_init(const void *data, size_t len)
{
	return (struct pb_reader){ .p = data, .end = (const uint8_t *)data + len };
}

/* Reads the next field. 1: a field was read into *ret_field; 0: end of input;
 * -EBADMSG: malformed (truncated, over-long varint, field 0, groups or unknown wire
 * types). */
int pb_next_field(struct pb_reader *r, struct pb_field *ret_field);

#endif
