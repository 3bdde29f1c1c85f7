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

enum export_verdict export_backpressure_decide_in_poll(struct export_backpressure *b,
						       uint64_t poll, uint64_t now_ms,
						       export_room_fn room_fn, void *ud,
						       uint32_t max_ms)
{
	enum export_verdict v;

	if (b->room_poll != poll) {
		b->room = room_fn(ud);
		b->room_poll = poll;
	}
	v = export_backpressure_decide(b, b->room, now_ms, max_ms);
	if (v == EXPORT_ENQUEUE)
		b->room--;
	return v;
}
