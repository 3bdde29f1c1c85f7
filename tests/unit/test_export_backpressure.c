/* When a node agent's span waits in the ring for its exporter and when it is shed
 * instead: the hold lasts at most max_ms from when the queue first had no room, then
 * that exporter sheds until it has room again, and a new episode holds afresh. The
 * room is asked once a ring poll and counted down by the spans enqueued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/export_backpressure.h"

#define MAX_MS 1000

static void room_means_enqueue_whatever_happened_before(void **state)
{
	struct export_backpressure b = { 0 };

	(void)state;
	assert_int_equal(export_backpressure_decide(&b, 5, 100, MAX_MS), EXPORT_ENQUEUE);
	assert_int_equal(export_backpressure_decide(&b, 0, 200, MAX_MS), EXPORT_HOLD);
	assert_int_equal(export_backpressure_decide(&b, 1, 300, MAX_MS), EXPORT_ENQUEUE);
	assert_int_equal(b.sheds, 0);
}

static void a_full_queue_holds_until_max_ms_then_sheds(void **state)
{
	struct export_backpressure b = { 0 };

	(void)state;
	assert_int_equal(export_backpressure_decide(&b, 0, 5000, MAX_MS), EXPORT_HOLD);
	assert_int_equal(export_backpressure_decide(&b, 0, 5999, MAX_MS), EXPORT_HOLD);
	assert_int_equal(export_backpressure_decide(&b, 0, 6000, MAX_MS), EXPORT_SHED);
	assert_int_equal(b.sheds, 1);
	/* Still full: shedding goes on, the episode counted once. */
	assert_int_equal(export_backpressure_decide(&b, 0, 6001, MAX_MS), EXPORT_SHED);
	assert_int_equal(export_backpressure_decide(&b, 0, 90000, MAX_MS), EXPORT_SHED);
	assert_int_equal(b.sheds, 1);
}

static void room_again_ends_the_episode_and_the_next_one_holds_afresh(void **state)
{
	struct export_backpressure b = { 0 };

	(void)state;
	assert_int_equal(export_backpressure_decide(&b, 0, 1, MAX_MS), EXPORT_HOLD);
	assert_int_equal(export_backpressure_decide(&b, 0, 1 + MAX_MS, MAX_MS), EXPORT_SHED);
	assert_int_equal(export_backpressure_decide(&b, 3, 1 + MAX_MS + 1, MAX_MS), EXPORT_ENQUEUE);
	assert_int_equal(export_backpressure_decide(&b, 0, 50000, MAX_MS), EXPORT_HOLD);
	assert_int_equal(export_backpressure_decide(&b, 0, 50000 + MAX_MS - 1, MAX_MS), EXPORT_HOLD);
	assert_int_equal(export_backpressure_decide(&b, 0, 50000 + MAX_MS, MAX_MS), EXPORT_SHED);
	assert_int_equal(b.sheds, 2);
}

static void a_zero_hold_sheds_at_once(void **state)
{
	struct export_backpressure b = { 0 };

	(void)state;
	assert_int_equal(export_backpressure_decide(&b, 0, 10, 0), EXPORT_SHED);
	assert_int_equal(b.sheds, 1);
}

/* A stand-in exporter's room: what it answers, and how often it was asked. */
struct fake_room {
	size_t room;
	int asked;
};

static size_t fake_room(void *ud)
{
	struct fake_room *r = ud;

	r->asked++;
	return r->room;
}

static void room_is_asked_once_a_poll_and_counted_down(void **state)
{
	struct export_backpressure b = { 0 };
	struct fake_room r = { .room = 2 };

	(void)state;
	assert_int_equal(export_backpressure_decide_in_poll(&b, 1, 100, fake_room, &r, MAX_MS),
			 EXPORT_ENQUEUE);
	assert_int_equal(export_backpressure_decide_in_poll(&b, 1, 100, fake_room, &r, MAX_MS),
			 EXPORT_ENQUEUE);
	/* Two spans took the room the poll began with. */
	assert_int_equal(export_backpressure_decide_in_poll(&b, 1, 100, fake_room, &r, MAX_MS),
			 EXPORT_HOLD);
	assert_int_equal(r.asked, 1);
	/* The next poll asks again. */
	r.room = 5;
	assert_int_equal(export_backpressure_decide_in_poll(&b, 2, 101, fake_room, &r, MAX_MS),
			 EXPORT_ENQUEUE);
	assert_int_equal(r.asked, 2);
	assert_int_equal(b.sheds, 0);
}

static void polls_without_room_hold_until_max_ms_then_shed(void **state)
{
	struct export_backpressure b = { 0 };
	struct fake_room r = { .room = 0 };

	(void)state;
	assert_int_equal(export_backpressure_decide_in_poll(&b, 1, 5000, fake_room, &r, MAX_MS),
			 EXPORT_HOLD);
	assert_int_equal(export_backpressure_decide_in_poll(&b, 2, 5999, fake_room, &r, MAX_MS),
			 EXPORT_HOLD);
	assert_int_equal(export_backpressure_decide_in_poll(&b, 3, 6000, fake_room, &r, MAX_MS),
			 EXPORT_SHED);
	/* The rest of that poll sheds too, without asking again. */
	assert_int_equal(export_backpressure_decide_in_poll(&b, 3, 6000, fake_room, &r, MAX_MS),
			 EXPORT_SHED);
	assert_int_equal(r.asked, 3);
	assert_int_equal(b.sheds, 1);
	/* Room at the next poll ends the episode. */
	r.room = 1;
	assert_int_equal(export_backpressure_decide_in_poll(&b, 4, 6001, fake_room, &r, MAX_MS),
			 EXPORT_ENQUEUE);
	assert_int_equal(export_backpressure_decide_in_poll(&b, 5, 7000, fake_room, &r, MAX_MS),
			 EXPORT_ENQUEUE);
	assert_int_equal(b.sheds, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(room_means_enqueue_whatever_happened_before),
		cmocka_unit_test(a_full_queue_holds_until_max_ms_then_sheds),
		cmocka_unit_test(room_again_ends_the_episode_and_the_next_one_holds_afresh),
		cmocka_unit_test(a_zero_hold_sheds_at_once),
		cmocka_unit_test(room_is_asked_once_a_poll_and_counted_down),
		cmocka_unit_test(polls_without_room_hold_until_max_ms_then_shed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
