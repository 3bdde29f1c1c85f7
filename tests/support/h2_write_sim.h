/* What bpf/tp_inject.bpf.c does to one write of an HTTP/2 connection, in user space
 * over the same bpf/h2_frame_walk.h: the walk, the in-step rule, and the traceparent
 * field appended to each HEADERS frame whose stream is waiting for one, last first. For
 * the unit tests and the fuzz target, which check it on bytes the kernel never lets a
 * test choose. */
#ifndef AUTOTRACE_TESTS_SUPPORT_H2_WRITE_SIM_H
#define AUTOTRACE_TESTS_SUPPORT_H2_WRITE_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/h2_frame_walk.h"

struct h2_sim_conn {
	uint32_t skip;
	uint8_t in_step;
};

/* Whether stream id is waiting for a field (ud: the caller's). */
typedef int (*h2_sim_waiting_fn)(void *ud, uint32_t stream_id);

struct h2_sim_result {
	enum h2w_end end;
	size_t appended;                  /* fields appended */
	size_t at[H2W_HITS_MAX];          /* where each went in the output, in order */
	int out_of_step;                  /* the write could not be followed */
};

/* The write in[0..n) as the program leaves it, into out (room for n + H2W_HITS_MAX *
 * H2W_FIELD_LEN bytes); its new length in *ret_n. conn carries over to the next write. */
void h2_sim_write(struct h2_sim_conn *conn, const uint8_t *in, size_t n, h2_sim_waiting_fn waiting,
		  void *ud, const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags,
		  uint8_t *out, size_t *ret_n, struct h2_sim_result *ret);

#endif
