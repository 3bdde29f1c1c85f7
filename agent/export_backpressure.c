#include "agent/export_backpressure.h"

enum export_verdict export_backpressure_decide(struct export_backpressure *b, size_t room,
					       uint64_t now_ms, uint32_t max_ms)
{
	if (room > 0) {
		b->full_since_ms = 0;
		b->shedding = 0;
		return EXPORT_ENQUEUE;
	}
	if (b->full_since_ms == 0)
		b->full_since_ms = now_ms;
	if (b->shedding)
		return EXPORT_SHED;
	if (now_ms - b->full_since_ms < max_ms)
		return EXPORT_HOLD;
	b->shedding = 1;
	b->sheds++;
	return EXPORT_SHED;
}
