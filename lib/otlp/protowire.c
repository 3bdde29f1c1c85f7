#include "lib/otlp/protowire.h"

#include <errno.h>

static int read_varint(struct pb_reader *r, uint64_t *ret_value)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (r->p >= r->end)
			return -EBADMSG;
		b = *r->p++;
		v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*ret_value = v;
			return 0;
		}
	}
	return -EBADMSG; /* more than 10 bytes */
}

static int read_fixed(struct pb_reader *r, size_t n, uint64_t *ret_value)
{
	uint64_t v = 0;

	if ((size_t)(r->end - r->p) < n)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	*ret_value = v;
	return 0;
}

int pb_next_field(struct pb_reader *r, struct pb_field *ret_field)
{
	struct pb_field f = { 0 };
	uint64_t key, len;
	int err;

	if (r->p >= r->end)
		return 0;
	err = read_varint(r, &key);
	if (err < 0)
		return err;
	if ((key >> 3) == 0 || (key >> 3) > UINT32_MAX / 8)
		return -EBADMSG;
	f.number = (uint32_t)(key >> 3);
	f.wire_type = (enum pb_wire_type)(key & 7);
	switch (f.wire_type) {
	case PB_WT_VARINT:
		err = read_varint(r, &f.value);
		break;
	case PB_WT_I64:
		err = read_fixed(r, 8, &f.value);
		break;
	case PB_WT_I32:
		err = read_fixed(r, 4, &f.value);
		break;
	case PB_WT_LEN:
		err = read_varint(r, &len);
		if (err < 0)
			break;
		if (len > (uint64_t)(r->end - r->p))
			return -EBADMSG;
		f.data = r->p;
		f.len = (size_t)len;
		r->p += len;
		break;
	default:
		return -EBADMSG;
	}
	if (err < 0)
		return err;
	*ret_field = f;
	return 1;
}
