/* What loading the probes costs the agent at start: the programs the daemon loads
 * (agent/probe_loader.c's choice for this kernel), then the same with the benchmarks'
 * extra program, RUNS loads each, interleaved. Prints each program's instructions the
 * verifier went through (bpf_prog_info.verified_insns: the same figure on a busy machine
 * as on an idle one) and each load's wall clock and CPU (the loading thread's, the
 * kernel's verification included), as the median and the range of the runs. */
#include <stdio.h>
#include <stdlib.h>

#include "agent/probe_load.h"

#define RUNS 5
#define MAX_PROGS 8

struct variant {
	const char *name;
	struct probe_loader_opts opts;
	long wall[RUNS], cpu[RUNS];
	struct probe_program_info progs[MAX_PROGS];
	char names[MAX_PROGS][32]; /* the loader's, which progs[].name borrowed */
	size_t n_progs;
};

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static void print_ms(const char *what, long *v)
{
	qsort(v, RUNS, sizeof(*v), cmp_long);
	printf("  %-10s median %5ld ms (%ld to %ld)\n", what, v[RUNS / 2], v[0], v[RUNS - 1]);
}

/* One load of v, run i. */
static int load_once(struct variant *v, int i)
{
	struct probe_loader *pl = NULL;
	struct probe_load_cost cost;
	int r;

	r = probe_load_now(&v->opts, &pl, &cost);
	if (r)
		return r;
	v->wall[i] = cost.wall_ms;
	v->cpu[i] = cost.cpu_ms;
	r = probe_loader_programs(pl, v->progs, MAX_PROGS, &v->n_progs);
	for (size_t p = 0; r == 0 && p < v->n_progs && p < MAX_PROGS; p++) {
		snprintf(v->names[p], sizeof(v->names[p]), "%s", v->progs[p].name);
		v->progs[p].name = v->names[p];
	}
	probe_loader_free(pl);
	return r;
}

int main(void)
{
	struct variant vs[] = {
		{ .name = "the daemon's programs" },
		{ .name = "with the benchmarks' end program at RETs", .opts.symbol_and_rets = 1 },
	};
	size_t nv = sizeof(vs) / sizeof(vs[0]);

	for (int i = 0; i < RUNS; i++) {
		for (size_t k = 0; k < nv; k++) {
			int r = load_once(&vs[k], i);

			if (r) {
				fprintf(stderr, "bench_probe_load: loading (%s) failed: %d\n",
					vs[k].name, r);
				return 1;
			}
		}
	}
	printf("loading the probes, %d runs each, interleaved:\n", RUNS);
	for (size_t k = 0; k < nv; k++) {
		unsigned long total = 0;

		printf(" %s:\n", vs[k].name);
		for (size_t p = 0; p < vs[k].n_progs && p < MAX_PROGS; p++) {
			printf("  %-24s %8u instructions verified (%u loaded), last run's load %u ms\n",
			       vs[k].progs[p].name, vs[k].progs[p].verified_insns,
			       vs[k].progs[p].insns, (vs[k].progs[p].load_us + 500) / 1000);
			total += vs[k].progs[p].verified_insns;
		}
		printf("  %-24s %8lu instructions verified\n", "all", total);
		print_ms("wall clock", vs[k].wall);
		print_ms("CPU", vs[k].cpu);
	}
	return 0;
}
