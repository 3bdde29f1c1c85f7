/* The run time of this process's own BPF programs, by name, as BPF run-time statistics
 * count it (bpf_enable_stats(BPF_STATS_RUN_TIME) must be in force): for the benchmarks
 * that print what each program costs a request. Only programs this process holds a
 * descriptor of count, so that other agents on the machine do not.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_TESTS_SUPPORT_BPF_PROG_TIME_H
#define AUTOTRACE_TESTS_SUPPORT_BPF_PROG_TIME_H

#include <stddef.h>
#include <stdint.h>

#define BPF_PROG_TIME_MAX 32

struct bpf_prog_time {
	size_t n;
	struct {
		char name[16]; /* BPF_OBJ_NAME_LEN */
		uint64_t run_ns, runs;
	} prog[BPF_PROG_TIME_MAX];
};

/* Sums, per program name, the run time and runs of the programs behind this process's
 * descriptors (a program held through several descriptors counts once) into ret. */
int bpf_prog_time_read(struct bpf_prog_time *ret);

/* after - before for name: run time and runs (0 when it is in neither). */
void bpf_prog_time_delta(const struct bpf_prog_time *before, const struct bpf_prog_time *after,
			 const char *name, uint64_t *ret_ns, uint64_t *ret_runs);

#endif
