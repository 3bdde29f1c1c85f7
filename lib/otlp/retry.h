/* When to retry an export: which answers are retryable, the exponential backoff with
 * jitter between attempts, and a server's Retry-After. Pure functions: the caller
 * supplies the clock and the random numbers, so tests check the arithmetic exactly.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OTLP_RETRY_H
#define AUTOTRACE_OTLP_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct otlp_backoff {
	uint32_t initial_ms; /* interval before the first retry */
	uint32_t max_ms;     /* the interval stops growing here */
	double multiplier;   /* growth per attempt, >= 1 */
	double jitter;       /* randomization factor in [0, 1] */
};

/* The OpenTelemetry exporters' defaults: 1 s, growing 1.5x to 30 s, +-50%. */
#define OTLP_BACKOFF_DEFAULT                                                                \
	((struct otlp_backoff){                                                             \
		.initial_ms = 1000, .max_ms = 30000, .multiplier = 1.5, .jitter = 0.5 })

/* The delay before retry number `attempt` (0: the first retry). With interval =
 * min(initial * multiplier^attempt, max), the result is spread uniformly over
 * [interval * (1 - jitter), interval * (1 + jitter)] by rnd, a uniform 32-bit random
 * value (0 gives the low end, UINT32_MAX the high end). */
uint64_t otlp_backoff_delay_ms(const struct otlp_backoff *b, unsigned attempt, uint32_t rnd);

/* A Retry-After header value: delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015
 * 07:28:00 GMT", also the obsolete RFC 850 and asctime forms). *ret_delay_ms is the wait
 * from now (0 for a date already past), capped at one day. -EINVAL: neither form. */
int otlp_retry_after_parse(const char *value, time_t now, uint64_t *ret_delay_ms);

/* 429, 502, 503 and 504: the answers OTLP/HTTP says to retry. */
bool otlp_http_status_retryable(long status);

#endif
