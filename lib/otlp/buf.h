/* A growable byte buffer for encoded request bodies. The owner frees data with
 * otlp_buf_free; len is what is written, cap what is allocated. */
#ifndef AUTOTRACE_OTLP_BUF_H
#define AUTOTRACE_OTLP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct otlp_buf {
	uint8_t *data;
	size_t len, cap;
};

/* Makes room for extra more bytes past len. 0 or -ENOMEM (the buffer is unchanged). */
int otlp_buf_grow(struct otlp_buf *b, size_t extra);
void otlp_buf_free(struct otlp_buf *b);

static inline int otlp_buf_reserve(struct otlp_buf *b, size_t extra)
{
	return extra <= b->cap - b->len ? 0 : otlp_buf_grow(b, extra);
}

static inline int otlp_buf_append(struct otlp_buf *b, const void *p, size_t n)
{
	int r = otlp_buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

#endif
