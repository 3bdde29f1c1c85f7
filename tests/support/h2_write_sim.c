#include "tests/support/h2_write_sim.h"

#include <string.h>

/* The program's cap on a write it walks (bpf/tp_inject.bpf.c's H2_WRITE_MAX). */
#define SIM_WRITE_MAX 65536

void h2_sim_write(struct h2_sim_conn *conn, const uint8_t *in, size_t n, h2_sim_waiting_fn waiting,
		  void *ud, const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags,
		  uint8_t *out, size_t *ret_n, struct h2_sim_result *ret)
{
	uint32_t hit_off[H2W_HITS_MAX], hit_len[H2W_HITS_MAX], nhits = 0, skip;
	uint8_t field[H2W_FIELD_LEN];
	struct h2w_walk w;
	struct h2w_frame f;
	size_t len = n;

	memset(ret, 0, sizeof(*ret));
	memcpy(out, in, n);
	*ret_n = n;
	if (conn->in_step && conn->skip >= n) {
		conn->skip -= (uint32_t)n;
		ret->end = H2W_END_OVER;
		return;
	}
	h2w_begin(&w, (uint32_t)(n < SIM_WRITE_MAX ? n : SIM_WRITE_MAX), conn->in_step ? conn->skip : 0);
	for (uint32_t i = 0; i < H2W_FRAMES_MAX && h2w_more(&w); i++) {
		uint32_t at = w.off;

		if (h2w_step(&w, in + at, &f))
			break;
		if (h2w_can_append(&f) && h2w_whole(&w) && nhits < H2W_HITS_MAX &&
		    waiting(ud, f.stream_id)) {
			hit_off[nhits] = at;
			hit_len[nhits] = f.length;
			nhits++;
		}
	}
	ret->end = h2w_finish(&w, (uint32_t)n, &skip);
	if (ret->end == H2W_END_LOST || (!conn->in_step && ret->end != H2W_END_EXACT)) {
		conn->in_step = 0;
		conn->skip = 0;
		ret->out_of_step = 1;
		return;
	}
	conn->in_step = 1;
	conn->skip = skip;
	h2w_field(field, trace_id, span_id, flags);
	for (uint32_t j = nhits; j-- > 0;) {
		size_t ins = hit_off[j] + H2W_HEADER_LEN + hit_len[j];

		memmove(out + ins + H2W_FIELD_LEN, out + ins, len - ins);
		memcpy(out + ins, field, H2W_FIELD_LEN);
		h2w_grow(out + hit_off[j], hit_len[j]);
		len += H2W_FIELD_LEN;
	}
	/* Where each field is in the output, first to last. */
	for (uint32_t j = 0; j < nhits; j++)
		ret->at[j] = hit_off[j] + H2W_HEADER_LEN + hit_len[j] + (size_t)j * H2W_FIELD_LEN;
	ret->appended = nhits;
	*ret_n = len;
}
