#include "lib/kube/backoff.h"

void backoff_init(struct backoff *b, long base_ms, long max_ms, double jitter, uint64_t seed)
{
	b->base_ms = base_ms > 0 ? base_ms : 1;
	b->max_ms = max_ms >= b->base_ms ? max_ms : b->base_ms;
	b->jitter = jitter < 0 ? 0 : (jitter > 1 ? 1 : jitter);
	b->attempt = 0;
	b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

long backoff_delay_for(long base_ms, long max_ms, unsigned attempt)
{
	long d = base_ms;

	/* Double until the cap; no shift can overflow this way. */
	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d = d > max_ms / 2 ? max_ms : d * 2;
	return d < max_ms ? d : max_ms;
}

static double next_unit(struct backoff *b)
{
	uint64_t x = b->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	return (double)(x >> 11) / (double)(1ull << 53);
}

long backoff_next_ms(struct backoff *b)
{
	long d = backoff_delay_for(b->base_ms, b->max_ms, b->attempt);

	if (b->attempt < 64)
		b->attempt++;
	return d - (long)((double)d * b->jitter * next_unit(b));
}

void backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
