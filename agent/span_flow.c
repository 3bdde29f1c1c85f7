#include "agent/span_flow.h"

#include <errno.h>
#include <time.h>

int span_flow_poll(struct tracer *t, struct otlp_exporter *ex)
{
	size_t room = otlp_exporter_room(ex);
	int n;

	if (room == 0)
		return 1;
	n = tracer_poll_at_most(t, room);
	if (n < 0)
		return n;
	return (size_t)n == room;
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int span_flow_drain(struct tracer *t, struct otlp_exporter *ex, long deadline_ms)
{
	int more;

	while ((more = span_flow_poll(t, ex)) > 0) {
		long left = deadline_ms - mono_ms();

		if (left <= 0 || otlp_exporter_flush(ex, (uint32_t)left) < 0)
			return -ETIMEDOUT;
	}
	return more;
}
