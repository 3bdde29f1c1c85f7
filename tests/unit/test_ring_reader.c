/* The ring reader's drain on a ring laid out as the kernel lays it out, in plain
 * memory: records in order, one that wraps around the end read whole (from the
 * reader's copy), discarded ones skipped, a record still being written left for the
 * next drain, a callback's error stopping after its record, and a header that is not
 * the kernel's refused. */
#include <errno.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/ring_reader.h"

#define RING 256

struct ring {
	uint64_t cons, prod;
	uint8_t data[RING];
	uint8_t scratch[RING];
	struct ring_view view;
};

static void ring_init(struct ring *r)
{
	memset(r, 0, sizeof(*r));
	r->view = (struct ring_view){ .consumer_pos = &r->cons, .producer_pos = &r->prod,
				      .data = r->data, .size = RING, .scratch = r->scratch,
				      .scratch_size = RING };
}

/* Writes a record of len bytes, each byte fill, with the header flags, at prod. */
static void put(struct ring *r, uint32_t len, uint8_t fill, uint32_t flags)
{
	uint32_t hdr[2] = { len | flags, 0 };

	for (uint64_t i = 0; i < 8; i++)
		r->data[(r->prod + i) % RING] = ((uint8_t *)hdr)[i];
	for (uint64_t i = 0; i < len; i++)
		r->data[(r->prod + 8 + i) % RING] = fill;
	r->prod += (8 + len + 7) / 8 * 8;
}

struct seen {
	size_t n;
	size_t sizes[16];
	uint8_t fills[16];
	int whole[16]; /* every byte the record's fill */
	int fail_at;   /* the record whose callback fails; -1: none */
	int keep_at;   /* the record whose callback keeps it in the ring; -1: none */
};

static int record(void *ud, const void *data, size_t size)
{
	struct seen *s = ud;
	const uint8_t *b = data;
	int whole = 1;

	for (size_t i = 0; i < size; i++)
		whole &= b[i] == b[0];
	if ((int)s->n == s->keep_at) {
		s->keep_at = -1; /* taken on the next drain */
		return RING_RECORD_KEEP;
	}
	s->sizes[s->n] = size;
	s->fills[s->n] = size ? b[0] : 0;
	s->whole[s->n] = whole;
	s->n++;
	return (int)s->n - 1 == s->fail_at ? -ECANCELED : 0;
}

static void records_come_in_order_and_the_consumer_follows(void **state)
{
	struct ring r;
	struct seen s = { .fail_at = -1, .keep_at = -1 };

	ring_init(&r);
	put(&r, 40, 0xa1, 0);
	put(&r, 13, 0xa2, 0);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.sizes[0], 40);
	assert_int_equal(s.sizes[1], 13);
	assert_int_equal(s.fills[1], 0xa2);
	assert_int_equal(r.cons, r.prod);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 0);
}

static void a_record_that_wraps_reads_whole(void **state)
{
	struct ring r;
	struct seen s = { .fail_at = -1, .keep_at = -1 };

	ring_init(&r);
	/* 200 bytes consumed, then a 100-byte record from 208: it ends at 316 = 60 past
	 * the end. */
	put(&r, 192, 0x11, 0);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 1);
	put(&r, 100, 0x22, 0);
	put(&r, 8, 0x33, 0);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 2);
	assert_int_equal(s.sizes[1], 100);
	assert_int_equal(s.fills[1], 0x22);
	assert_true(s.whole[1]);
	assert_int_equal(s.fills[2], 0x33);
	assert_true(s.whole[2]);
	assert_int_equal(r.cons, r.prod);
}

static void discarded_records_are_skipped(void **state)
{
	struct ring r;
	struct seen s = { .fail_at = -1, .keep_at = -1 };

	ring_init(&r);
	put(&r, 24, 0x01, BPF_RINGBUF_DISCARD_BIT);
	put(&r, 24, 0x02, 0);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 1);
	assert_int_equal(s.fills[0], 0x02);
	assert_int_equal(r.cons, r.prod);
}

static void a_record_being_written_waits_for_the_next_drain(void **state)
{
	struct ring r;
	struct seen s = { .fail_at = -1, .keep_at = -1 };
	uint64_t busy_at;

	ring_init(&r);
	put(&r, 16, 0x01, 0);
	busy_at = r.prod;
	put(&r, 16, 0x02, BPF_RINGBUF_BUSY_BIT);
	put(&r, 16, 0x03, 0);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 1);
	assert_int_equal(r.cons, busy_at);
	/* Committed: its length without the busy bit. */
	r.data[(busy_at + 3) % RING] &= (uint8_t)~(BPF_RINGBUF_BUSY_BIT >> 24);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 2);
	assert_int_equal(s.fills[1], 0x02);
	assert_int_equal(s.fills[2], 0x03);
}

static void an_error_stops_after_its_record(void **state)
{
	struct ring r;
	struct seen s = { .fail_at = 0, .keep_at = -1 };

	ring_init(&r);
	put(&r, 16, 0x01, 0);
	put(&r, 16, 0x02, 0);
	assert_int_equal(ring_view_drain(&r.view, record, &s), -ECANCELED);
	assert_int_equal(s.n, 1);
	assert_int_equal(r.cons, 24);
	s.fail_at = -1;
	assert_int_equal(ring_view_drain(&r.view, record, &s), 1);
	assert_int_equal(s.fills[1], 0x02);
}

/* A record kept by its callback (its exporter has no room) stays unconsumed and comes
 * first on the next drain; those before it are consumed. */
static void a_kept_record_stays_for_the_next_drain(void **state)
{
	struct ring r;
	struct seen s = { .fail_at = -1, .keep_at = 1 };

	ring_init(&r);
	put(&r, 16, 0x01, 0);
	put(&r, 16, 0x02, 0);
	put(&r, 16, 0x03, 0);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(r.cons, 24);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 2);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.fills[1], 0x02);
	assert_int_equal(s.fills[2], 0x03);
	assert_int_equal(r.cons, r.prod);
}

static void a_header_past_the_producer_is_refused_and_skipped(void **state)
{
	struct ring r;
	struct seen s = { .fail_at = -1, .keep_at = -1 };

	ring_init(&r);
	put(&r, 16, 0x01, 0);
	put(&r, 16, 0x02, 0);
	r.data[24] = 0xf0; /* the second header now says 240 bytes: past prod */
	assert_int_equal(ring_view_drain(&r.view, record, &s), -EBADMSG);
	assert_int_equal(s.n, 1);
	assert_int_equal(r.cons, r.prod);
}

static void a_wrapped_record_larger_than_the_copy_is_skipped(void **state)
{
	struct ring r;
	struct seen s = { .fail_at = -1, .keep_at = -1 };

	ring_init(&r);
	r.view.scratch_size = 64;
	put(&r, 192, 0x11, 0);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 1);
	put(&r, 100, 0x22, 0); /* wraps, and is larger than 64 bytes */
	put(&r, 8, 0x33, 0);
	assert_int_equal(ring_view_drain(&r.view, record, &s), -EMSGSIZE);
	assert_int_equal(s.n, 1);
	assert_int_equal(ring_view_drain(&r.view, record, &s), 1);
	assert_int_equal(s.fills[1], 0x33);
	assert_int_equal(r.cons, r.prod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(records_come_in_order_and_the_consumer_follows),
		cmocka_unit_test(a_record_that_wraps_reads_whole),
		cmocka_unit_test(discarded_records_are_skipped),
		cmocka_unit_test(a_record_being_written_waits_for_the_next_drain),
		cmocka_unit_test(an_error_stops_after_its_record),
		cmocka_unit_test(a_kept_record_stays_for_the_next_drain),
		cmocka_unit_test(a_header_past_the_producer_is_refused_and_skipped),
		cmocka_unit_test(a_wrapped_record_larger_than_the_copy_is_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
