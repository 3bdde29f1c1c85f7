/* The ring reader's drain on any ring contents and positions: the kernel writes the
 * headers, but a drain must stay inside the ring and its copy whatever they say. The
 * input is the consumer and producer positions (8 bytes each) and the ring's bytes
 * (padded or cut to 4 KiB); every record handed out must lie within the data area or
 * the reader's copy, and the consumer must never pass the producer by more than one
 * record's span. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ring_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RING 4096

static uint8_t ring[RING], scratch[RING];

static int check(void *ud, const void *rec, size_t n)
{
	const uint8_t *p = rec;

	if (n > RING ||
	    !((p >= ring && p + n <= ring + RING) || (p >= scratch && p + n <= scratch + RING / 2)))
		abort();
	if (n)
		(void)(p[0] + p[n - 1]); /* read its ends: ASan checks them */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t cons = 0, prod = 0;
	struct ring_view v = { .consumer_pos = &cons, .producer_pos = &prod, .data = ring,
			       .size = RING, .scratch = scratch, .scratch_size = RING / 2 };

	if (size < 16)
		return 0;
	memcpy(&cons, data, 8);
	memcpy(&prod, data + 8, 8);
	/* Positions as the kernel keeps them: 8-byte aligned, at most a ring apart. */
	cons &= ~7ULL;
	prod = cons + ((prod & ~7ULL) % (RING + 8));
	memset(ring, 0, sizeof(ring));
	memcpy(ring, data + 16, size - 16 < RING ? size - 16 : RING);
	ring_view_drain(&v, check, NULL);
	return 0;
}
