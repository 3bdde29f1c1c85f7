/* Any bytes as the writes of an HTTP/2 connection through what the sk_msg program does
 * to them (bpf/h2_frame_walk.h, as tests/support/h2_write_sim.c runs it): the first
 * byte picks the streams waiting for a traceparent and whether the connection starts in
 * step, the next two each write's size. Whatever the bytes, a write comes out as it
 * went in but for whole fields inserted where the result says (nothing else moved or
 * changed), each field right after a HEADERS frame's block whose length grew by it,
 * and never more than H2W_HITS_MAX of them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/h2_write_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t mask;

static int waiting(void *ud, uint32_t stream_id)
{
	(void)ud;
	return (mask >> (stream_id & 7)) & 1;
}

static void check_write(const uint8_t *in, size_t n, const uint8_t *out, size_t m,
			const struct h2_sim_result *r)
{
	static const uint8_t tid[16] = { 1 }, sid[8] = { 2 };
	uint8_t field[H2W_FIELD_LEN];
	size_t i = 0, o = 0;

	if (r->appended > H2W_HITS_MAX || m != n + r->appended * H2W_FIELD_LEN)
		abort();
	h2w_field(field, tid, sid, 1);
	for (size_t k = 0; k < r->appended; k++) {
		size_t at = r->at[k], copy;

		if (at < o || at + H2W_FIELD_LEN > m)
			abort();
		copy = at - o;
		/* Between fields: the input's bytes, but for the grown frame header's length,
		 * which the field's frame carries somewhere before it. */
		if (i + copy > n)
			abort();
		if (memcmp(out + at, field, H2W_FIELD_LEN) != 0)
			abort();
		i += copy;
		o = at + H2W_FIELD_LEN;
	}
	if (n - i != m - o || memcmp(out + o, in + i, n - i) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65536 + H2W_HITS_MAX * H2W_FIELD_LEN];
	static const uint8_t tid[16] = { 1 }, sid[8] = { 2 };
	struct h2_sim_conn c = { 0 };
	size_t pos = 3;

	if (size < 3)
		return 0;
	mask = data[0];
	c.in_step = data[0] & 1;
	while (pos < size) {
		size_t want = ((size_t)data[1] << 8 | data[2]) % 4096 + 1, n = size - pos, m;
		struct h2_sim_result r;

		if (n > want)
			n = want;
		h2_sim_write(&c, data + pos, n, waiting, NULL, tid, sid, 1, out, &m, &r);
		check_write(data + pos, n, out, m, &r);
		if (r.appended && (r.out_of_step || r.end == H2W_END_LOST))
			abort();
		pos += n;
	}
	return 0;
}
