/* Whether a span whose exporter has no room waits in the kernel's ring or goes into the
 * queue anyway (which drops the queue's oldest). A node agent reads one ring for many
 * exporters, so a span held back holds back every span behind it, whichever
 * Instrumentation they are for: holding is right while a collector is merely slower
 * than a burst (the ring absorbs it and nothing is lost), wrong once it lags for good
 * (one broken collector would stall every pod of the node). So an exporter is held for
 * at most max_ms from the moment it first had no room; past that, until it has room
 * again, its own spans are shed and the others flow.
 *
 * Pure: the caller passes the time. */
#ifndef AUTOTRACE_AGENT_EXPORT_BACKPRESSURE_H
#define AUTOTRACE_AGENT_EXPORT_BACKPRESSURE_H

#include <stddef.h>
#include <stdint.h>

struct export_backpressure {
	uint64_t full_since_ms; /* 0: the exporter had room at its last span */
	int shedding;           /* the hold of this episode ran out */
	uint64_t sheds;         /* episodes that ended in shedding */
	uint64_t room_poll;     /* the ring poll room was counted for; 0: none */
	size_t room;            /* what the queue still takes in that poll */
};

enum export_verdict {
	EXPORT_ENQUEUE, /* room: into the queue */
	EXPORT_HOLD,    /* no room, lagging less than max_ms: leave it in the ring */
	EXPORT_SHED,    /* no room for max_ms or more: into the queue, its oldest dropped */
};

/* The verdict for a span of an exporter with room spans free, at now_ms (monotonic,
 * never 0). Updates b. */
enum export_verdict export_backpressure_decide(struct export_backpressure *b, size_t room,
					       uint64_t now_ms, uint32_t max_ms);

/* The exporter's room, asked of it (ud: the exporter); it takes the exporter's lock. */
typedef size_t (*export_room_fn)(void *ud);

/* export_backpressure_decide for a span of the ring poll numbered poll (never 0; each
 * poll a new one), whose time is now_ms: the exporter's room is asked (room_fn) at the
 * poll's first span for it, not at every span, and counted down by the spans this
 * verdict lets into the queue. Only the exporter's worker takes spans out meanwhile,
 * so the count never says there is room when there is none; room it makes during the
 * poll is seen at the next. */
enum export_verdict export_backpressure_decide_in_poll(struct export_backpressure *b,
						       uint64_t poll, uint64_t now_ms,
						       export_room_fn room_fn, void *ud,
						       uint32_t max_ms);

#endif
