/* What the exporter's tests against the real OTLP receiver share
 * (tests/agent/atest_otlp_export*.c): spans and a resource with every field set, the
 * check that a span arrived intact, and a cmocka fixture holding a receiver and the
 * exporter under test. */
#ifndef AUTOTRACE_TESTS_OTLP_EXPORT_FIXTURE_H
#define AUTOTRACE_TESTS_OTLP_EXPORT_FIXTURE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/exporter.h"
#include "tests/support/otlp_receiver.h"

/* Span start times of the test spans. */
#define OX_BASE_NS 1763900000000000000ULL

uint64_t ox_mono_ms(void);
void ox_sleep_ms(int ms);
/* Span i of run `run`: ids, times and attributes derived from both. */
void ox_make_span(struct otlp_span *s, uint32_t run, uint32_t i);
void ox_make_resource(struct otlp_resource *res);
void ox_span_id_hex(uint32_t run, uint32_t i, char out[17]);
/* n bytes as 2n lower-case hex digits and a NUL, into out. */
void ox_hex(const uint8_t *b, size_t n, char *out);
/* got (a span as the receiver wrote it) is span i of run, received in encoding. */
void ox_assert_span_arrived_intact(json_t *got, uint32_t run, uint32_t i, const char *encoding);
uint64_t ox_dropped_total(const struct otlp_exporter_stats *st);

struct ox_fixture {
	struct otlp_receiver *rx;
	struct otlp_exporter *ex; /* the test's; freed by ox_teardown */
	struct otlp_resource res;
};

/* cmocka setup and teardown: *state is a struct ox_fixture with a running receiver. */
int ox_setup(void **state);
int ox_teardown(void **state);
/* Options that make batches, retries and backoff fast. */
struct otlp_exporter_options ox_fast_options(struct ox_fixture *f);

#endif
