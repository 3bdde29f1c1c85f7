/* What the sk_msg program does to the writes of an HTTP/2 connection carrying gRPC
 * calls (bpf/h2_frame_walk.h, run as bpf/tp_inject.bpf.c runs it by
 * tests/support/h2_write_sim.c): a waiting stream's HEADERS frame gets a traceparent
 * field at its block's end and its length grown by it, nothing else changes; a frame
 * cut across writes is followed into the next; a connection met mid-frame is left
 * alone until a write whose frames end with it; what is not frames is never changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/support/h2_write_sim.h"

static const uint8_t trace_id[16] = { 0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
				      0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c };
static const uint8_t span_id[8] = { 0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31 };
static const char field_text[] =
	"\x00\x0btraceparent\x37"
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/* Streams 1 and 5 wait for a field. */
static int waiting(void *ud, uint32_t stream_id)
{
	(void)ud;
	return stream_id == 1 || stream_id == 5;
}

/* A frame into b: header and payload (filled with x). Returns its size. */
static size_t frame(uint8_t *b, uint32_t len, uint8_t type, uint8_t flags, uint32_t stream, uint8_t x)
{
	b[0] = (uint8_t)(len >> 16);
	b[1] = (uint8_t)(len >> 8);
	b[2] = (uint8_t)len;
	b[3] = type;
	b[4] = flags;
	b[5] = (uint8_t)(stream >> 24);
	b[6] = (uint8_t)(stream >> 16);
	b[7] = (uint8_t)(stream >> 8);
	b[8] = (uint8_t)stream;
	memset(b + 9, x, len);
	return 9 + len;
}

static uint8_t in[H2W_MAX_FRAME + 4096], out[H2W_MAX_FRAME + 4096 + H2W_HITS_MAX * H2W_FIELD_LEN];

static size_t run(struct h2_sim_conn *c, size_t n, struct h2_sim_result *r)
{
	size_t m;

	h2_sim_write(c, in, n, waiting, NULL, trace_id, span_id, 1, out, &m, r);
	return m;
}

static void a_waiting_streams_headers_frame_gets_the_field_at_its_blocks_end(void **state)
{
	struct h2_sim_conn c = { 0 };
	struct h2_sim_result r;
	size_t n = 0, m, h;

	(void)state;
	n += frame(in + n, 6, H2W_SETTINGS, 0, 0, 0);
	h = n;
	n += frame(in + n, 40, H2W_HEADERS, H2W_FLAG_END_HEADERS, 1, 'h');
	n += frame(in + n, 17, H2W_DATA, 1, 1, 'd');
	n += frame(in + n, 30, H2W_HEADERS, H2W_FLAG_END_HEADERS, 3, 'g'); /* not waiting */
	m = run(&c, n, &r);
	assert_int_equal(r.end, H2W_END_EXACT);
	assert_int_equal(r.out_of_step, 0);
	assert_int_equal(c.in_step, 1);
	assert_int_equal(r.appended, 1);
	assert_int_equal(m, n + H2W_FIELD_LEN);
	/* Before it, as it was; its length grown; the field after its 40 bytes; the rest. */
	assert_memory_equal(out, in, h);
	assert_int_equal((out[h] << 16) | (out[h + 1] << 8) | out[h + 2], 40 + H2W_FIELD_LEN);
	assert_memory_equal(out + h + 3, in + h + 3, 6 + 40);
	assert_int_equal(r.at[0], h + 9 + 40);
	assert_memory_equal(out + h + 9 + 40, field_text, H2W_FIELD_LEN);
	assert_memory_equal(out + h + 9 + 40 + H2W_FIELD_LEN, in + h + 9 + 40, n - (h + 9 + 40));
}

static void every_waiting_stream_in_a_batch_gets_its_own(void **state)
{
	struct h2_sim_conn c = { .in_step = 1 };
	struct h2_sim_result r;
	size_t n = 0, m;

	(void)state;
	n += frame(in + n, 20, H2W_HEADERS, H2W_FLAG_END_HEADERS, 1, 'a');
	n += frame(in + n, 5, H2W_DATA, 1, 1, 'b');
	n += frame(in + n, 22, H2W_HEADERS, H2W_FLAG_END_HEADERS, 5, 'c');
	n += frame(in + n, 5, H2W_DATA, 1, 5, 'd');
	m = run(&c, n, &r);
	assert_int_equal(r.appended, 2);
	assert_int_equal(m, n + 2 * H2W_FIELD_LEN);
	assert_int_equal(r.at[0], 9 + 20);
	assert_int_equal(r.at[1], 9 + 20 + H2W_FIELD_LEN + 14 + 9 + 22);
	assert_memory_equal(out + r.at[0], field_text, H2W_FIELD_LEN);
	assert_memory_equal(out + r.at[1], field_text, H2W_FIELD_LEN);
}

static void a_frame_cut_across_writes_is_followed_into_the_next(void **state)
{
	struct h2_sim_conn c = { .in_step = 1 };
	struct h2_sim_result r;
	size_t n = 0, m, cut;

	(void)state;
	n += frame(in + n, 1000, H2W_DATA, 0, 3, 'd');
	cut = 400; /* the writer's buffer filled here */
	m = run(&c, cut, &r);
	assert_int_equal(r.end, H2W_END_OVER);
	assert_int_equal(c.skip, 9 + 1000 - cut);
	assert_int_equal(m, cut);
	/* The rest of the DATA frame, then a HEADERS frame of a waiting stream. */
	memmove(in, in + cut, n - cut);
	n -= cut;
	n += frame(in + n, 33, H2W_HEADERS, H2W_FLAG_END_HEADERS, 5, 'h');
	m = run(&c, n, &r);
	assert_int_equal(r.end, H2W_END_EXACT);
	assert_int_equal(r.appended, 1);
	assert_int_equal(m, n + H2W_FIELD_LEN);
	assert_memory_equal(out + r.at[0], field_text, H2W_FIELD_LEN);
}

static void a_connection_met_mid_frame_is_left_alone_until_a_write_ends_with_its_frames(void **state)
{
	struct h2_sim_conn c = { 0 };
	struct h2_sim_result r;
	size_t n = 0;

	(void)state;
	/* The tail of some frame, then a HEADERS frame: not trusted out of step. */
	memset(in, 0, 100);
	n = 100;
	n += frame(in + n, 20, H2W_HEADERS, H2W_FLAG_END_HEADERS, 1, 'h');
	assert_int_equal(run(&c, n, &r), n);
	assert_int_equal(r.appended, 0);
	assert_int_equal(r.out_of_step, 1);
	assert_memory_equal(out, in, n);
	/* A write whose frames end with it puts the connection in step. */
	n = frame(in, 20, H2W_HEADERS, H2W_FLAG_END_HEADERS, 1, 'h');
	assert_int_equal(run(&c, n, &r), n + H2W_FIELD_LEN);
	assert_int_equal(c.in_step, 1);
}

static void what_is_not_frames_is_never_changed(void **state)
{
	struct h2_sim_conn c = { .in_step = 1 };
	struct h2_sim_result r;
	const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	const char http1[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	(void)state;
	memcpy(in, preface, sizeof(preface) - 1);
	assert_int_equal(run(&c, sizeof(preface) - 1, &r), sizeof(preface) - 1);
	assert_int_equal(r.out_of_step, 1);
	assert_int_equal(c.in_step, 0);
	memcpy(in, http1, sizeof(http1) - 1);
	assert_int_equal(run(&c, sizeof(http1) - 1, &r), sizeof(http1) - 1);
	assert_int_equal(r.appended, 0);
	assert_memory_equal(out, in, sizeof(http1) - 1);
}

static void headers_frames_that_cannot_take_it_are_left_alone(void **state)
{
	struct h2_sim_conn c = { .in_step = 1 };
	struct h2_sim_result r;
	size_t n = 0;

	(void)state;
	/* Its block goes on in a CONTINUATION frame; padded; too big once grown. */
	n += frame(in + n, 20, H2W_HEADERS, 0, 1, 'a');
	n += frame(in + n, 10, H2W_CONTINUATION, H2W_FLAG_END_HEADERS, 1, 'b');
	n += frame(in + n, 20, H2W_HEADERS, H2W_FLAG_END_HEADERS | H2W_FLAG_PADDED, 5, 'c');
	assert_int_equal(run(&c, n, &r), n);
	assert_int_equal(r.appended, 0);
	assert_int_equal(r.end, H2W_END_EXACT);
	n = frame(in, H2W_MAX_FRAME - H2W_FIELD_LEN + 1, H2W_HEADERS, H2W_FLAG_END_HEADERS, 1, 'd');
	(void)n;
	{
		struct h2w_frame f;

		assert_int_equal(h2w_parse(in, &f), 0);
		assert_false(h2w_can_append(&f));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_waiting_streams_headers_frame_gets_the_field_at_its_blocks_end),
		cmocka_unit_test(every_waiting_stream_in_a_batch_gets_its_own),
		cmocka_unit_test(a_frame_cut_across_writes_is_followed_into_the_next),
		cmocka_unit_test(
			a_connection_met_mid_frame_is_left_alone_until_a_write_ends_with_its_frames),
		cmocka_unit_test(what_is_not_frames_is_never_changed),
		cmocka_unit_test(headers_frames_that_cannot_take_it_are_left_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
