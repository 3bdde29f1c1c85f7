/* Spans from the tracer to the exporter no faster than the exporter's queue takes
 * them. A queued span is a fixed struct otlp_span (~1.7 KB, touched in full as the
 * queue wraps), a ring-buffer record 328 bytes: the daemon keeps a queue of about a
 * batch, and what does not fit waits in the kernel's ring (its own memory, counted in
 * the agent's RSS whether used or not) for the next poll, instead of being dropped
 * from the queue. The ring fills, and drops (counted), only when the collector falls
 * behind for longer than the ring lasts.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_SPAN_FLOW_H
#define AUTOTRACE_AGENT_SPAN_FLOW_H

#include "agent/tracer.h"
#include "lib/otlp/exporter.h"

/* Delivers as many spans as the exporter's queue has room for. 1 when the room ran out
 * first (the ring may hold more: poll again once the exporter took a batch), 0 when
 * the ring was drained, or a negative errno. */
int span_flow_poll(struct tracer *t, struct otlp_exporter *ex);

/* At shutdown: polls until the ring is drained, flushing the queue whenever it fills,
 * or until deadline_ms (CLOCK_MONOTONIC) passes. */
int span_flow_drain(struct tracer *t, struct otlp_exporter *ex, long deadline_ms);

#endif
