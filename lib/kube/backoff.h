/* Exponential backoff with jitter, for reconnects and retries: the n-th delay is
 * min(max, base * 2^n), shortened by a random fraction up to `jitter` so that many
 * clients that failed together do not come back together. Pure arithmetic. */
#ifndef AUTOTRACE_KUBE_BACKOFF_H
#define AUTOTRACE_KUBE_BACKOFF_H

#include <stdint.h>

struct backoff {
	long base_ms;
	long max_ms;
	double jitter;     /* 0..1 */
	unsigned attempt;  /* delays handed out since the last reset */
	uint64_t rng;      /* xorshift state; any non-zero seed */
};

void backoff_init(struct backoff *b, long base_ms, long max_ms, double jitter, uint64_t seed);
/* The next delay, in [d * (1 - jitter), d] for d = min(max, base * 2^attempt). */
long backoff_next_ms(struct backoff *b);
/* The un-jittered delay for a given attempt, capped. */
long backoff_delay_for(long base_ms, long max_ms, unsigned attempt);
void backoff_reset(struct backoff *b);

#endif
