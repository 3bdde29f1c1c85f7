/* The tracer's sampler as the kernel reads it: a type and, for the ratio samplers, a
 * threshold on the trace id's last 8 bytes (big-endian), which is how every
 * OpenTelemetry SDK's TraceIdRatioBased decides, so services sampling at the same
 * ratio keep the same traces. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_SAMPLER_H
#define AUTOTRACE_AGENT_SAMPLER_H

#include <stdint.h>

#include "agent/tracer.h"
#include "bpf/http_server.h"

/* -EINVAL for an unknown type or a ratio outside [0, 1] (or NaN). */
int sampler_to_bpf(const struct tracer_sampler *sampler, uint64_t revision,
		   struct hs_sampler *ret_value);
/* ratio * 2^64, saturated: 0 keeps nothing, UINT64_MAX keeps everything. */
uint64_t sampler_ratio_threshold(double ratio);
/* What the kernel decides for a root span with this trace id (tests, benchmarks). */
int sampler_keeps_trace(const struct hs_sampler *value, const uint8_t trace_id[16]);

#endif
