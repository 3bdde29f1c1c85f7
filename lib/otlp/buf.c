#include "lib/otlp/buf.h"

#include <errno.h>
#include <stdlib.h>

int otlp_buf_grow(struct otlp_buf *b, size_t extra)
{
	size_t want, cap;
	uint8_t *p;

	if (extra > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	want = b->len + extra;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

void otlp_buf_free(struct otlp_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
