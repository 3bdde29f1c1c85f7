#include "lib/otlp/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct otlp_queue {
	size_t capacity, head, len; /* head: index of the oldest span */
	struct otlp_span spans[];
};

int otlp_queue_new(size_t capacity, struct otlp_queue **ret_queue)
{
	struct otlp_queue *q;

	if (capacity == 0 || capacity > (SIZE_MAX - sizeof(*q)) / sizeof(struct otlp_span))
		return -EINVAL;
	q = malloc(sizeof(*q) + capacity * sizeof(struct otlp_span));
	if (!q)
		return -ENOMEM;
	q->capacity = capacity;
	q->head = q->len = 0;
	*ret_queue = q;
	return 0;
}

struct otlp_queue *otlp_queue_free(struct otlp_queue *q)
{
	free(q);
	return NULL;
}

bool otlp_queue_push(struct otlp_queue *q, const struct otlp_span *span)
{
	bool dropped = false;
	size_t tail;

	if (q->len == q->capacity) {
		q->head = (q->head + 1) % q->capacity;
		q->len--;
		dropped = true;
	}
	tail = (q->head + q->len) % q->capacity;
	otlp_span_copy(&q->spans[tail], span);
	q->len++;
	return dropped;
}

size_t otlp_queue_pop(struct otlp_queue *q, struct otlp_span *dst, size_t max)
{
	size_t n = max < q->len ? max : q->len;

	for (size_t i = 0; i < n; i++) {
		otlp_span_copy(&dst[i], &q->spans[q->head]);
		q->head = q->head + 1 == q->capacity ? 0 : q->head + 1;
	}
	q->len -= n;
	return n;
}

size_t otlp_queue_len(const struct otlp_queue *q)
{
	return q->len;
}

size_t otlp_queue_capacity(const struct otlp_queue *q)
{
	return q->capacity;
}
