/* The tracing core wired as the agent wires it, for the agent rung: a tracer
 * (agent/tracer.h) whose spans go through lib/otlp's exporter to the real OTLP receiver
 * (tests/support/otlp_receiver.h). Tests drive the tracer's scan and poll themselves.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_TESTS_SUPPORT_TRACER_HARNESS_H
#define AUTOTRACE_TESTS_SUPPORT_TRACER_HARNESS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/tracer.h"
#include "lib/otlp/exporter.h"
#include "tests/support/otlp_receiver.h"

struct tracer_harness {
	struct otlp_receiver *rx;
	struct otlp_exporter *ex;
	struct tracer *tracer;
	uint64_t spans; /* handed to the exporter */
};

/* Starts a receiver, an exporter to it (resource service.name=svc-under-test,
 * k8s.namespace.name=shop) and a tracer with this sampler, tracing executables called
 * target_exe (a base name or path; NULL: any Go program). Returns a new harness. */
int tracer_harness_start(const struct tracer_sampler *sampler, const char *target_exe,
			 struct tracer_harness **ret_harness);
/* Accepts NULL; returns NULL. */
struct tracer_harness *tracer_harness_free(struct tracer_harness *h);

/* Polls the tracer every 10 ms for ms milliseconds. */
void tracer_harness_pump(struct tracer_harness *h, int ms);
/* Polls until the tracer delivered at least n spans (since the start) or timeout_ms
 * passed, polls settle_ms more for any extra span, flushes the exporter and returns
 * what the receiver got, as otlp_receiver_spans does. */
int tracer_harness_collect(struct tracer_harness *h, size_t n, int timeout_ms, int settle_ms,
			   json_t **ret_spans);

/* Where most agent tests start: a Go test service built from the fixture (go_prefix and
 * stripped as traced_service_fixture() takes them) running, and a harness whose tracer
 * targets its binary, scanned once. */
struct traced_world {
	struct traced_service *svc;
	struct tracer_harness *h;
};

/* A new world in *ret_world; free with traced_world_free(). */
int traced_world_start(const char *go_prefix, int stripped, const struct tracer_sampler *sampler,
		       struct traced_world **ret_world);
/* Accepts NULL; returns NULL. */
struct traced_world *traced_world_free(struct traced_world *w);

/* Helpers on the receiver's JSON spans, borrowed strings. */
const char *span_attr_string(json_t *span, const char *key);
long long span_attr_int(json_t *span, const char *key); /* -1 when absent */

#endif
