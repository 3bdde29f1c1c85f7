/* A bounded FIFO of spans that never refuses one: when full, a push drops the oldest
 * span so that the newest survive a collector outage. Memory is allocated once, for
 * the capacity. Not synchronised: the exporter holds its lock around every call. */
#ifndef AUTOTRACE_OTLP_QUEUE_H
#define AUTOTRACE_OTLP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/otlp/span.h"

struct otlp_queue;

/* Returns a new queue for capacity (> 0) spans; free with otlp_queue_free.
 * 0, -EINVAL or -ENOMEM. */
int otlp_queue_new(size_t capacity, struct otlp_queue **ret_queue);
struct otlp_queue *otlp_queue_free(struct otlp_queue *q);

/* Copies span in. Returns true when the queue was full and its oldest span was dropped
 * to make room. */
bool otlp_queue_push(struct otlp_queue *q, const struct otlp_span *span);
/* Moves up to max of the oldest spans into dst, oldest first; returns how many. */
size_t otlp_queue_pop(struct otlp_queue *q, struct otlp_span *dst, size_t max);
size_t otlp_queue_len(const struct otlp_queue *q);
size_t otlp_queue_capacity(const struct otlp_queue *q);

#endif
