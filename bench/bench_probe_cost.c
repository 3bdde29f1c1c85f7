/* What a uprobe hit costs on this machine, by the class of the probed instruction:
 * main.work of a small Go program (tests/fixtures/go/spin) is called in a loop, once
 * with no probe and then with a counting probe (bpf/probe_cost.bpf.c, the cheapest
 * program there is) at the jbe after its stack check (emulated by the kernel), at its
 * first instruction (a cmp, single-stepped out of line) and at its RET (single-stepped).
 * The cost per hit is the round's extra time over the unprobed round, divided by the
 * hits the program counted. Printed as nanoseconds and as ratios to the jbe. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/go_binary.h"
#include "bpf/op_cost.h"
#include "op_cost.skel.h"
#include "probe_cost.skel.h"

#define CALLS 200000
#define ROUNDS 3

struct spin {
	pid_t pid;
	FILE *to, *from;
};

static int spin_start(const char *binary, struct spin *s)
{
	int in[2], out[2];
	char n[32];

	if (pipe(in) || pipe(out))
		return -errno;
	snprintf(n, sizeof(n), "%d", CALLS);
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[1]);
		close(out[0]);
		execl(binary, binary, "-n", n, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->to = fdopen(in[1], "w");
	s->from = fdopen(out[0], "r");
	return s->to && s->from ? 0 : -ENOMEM;
}

/* The fastest of ROUNDS rounds, in ns. */
static double spin_round(struct spin *s)
{
	double best = 1e18;

	for (int i = 0; i < ROUNDS; i++) {
		long long ns = 0, sum = 0;

		fputs("go\n", s->to);
		fflush(s->to);
		if (fscanf(s->from, "%lld %lld", &ns, &sum) != 2)
			return -1;
		if (ns < best)
			best = (double)ns;
	}
	return best;
}

static uint64_t hits(struct probe_cost_bpf *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v = calloc((size_t)ncpu, sizeof(*v)), total = 0;
	uint32_t zero = 0;

	if (!v)
		return 0;
	if (bpf_map__lookup_elem(skel->maps.hits, &zero, sizeof(zero), v,
				 sizeof(*v) * (size_t)ncpu, 0) == 0) {
		for (int c = 0; c < ncpu; c++)
			total += v[c];
	}
	/* Zero it for the next measurement. */
	memset(v, 0, sizeof(*v) * (size_t)ncpu);
	bpf_map__update_elem(skel->maps.hits, &zero, sizeof(zero), v, sizeof(*v) * (size_t)ncpu, 0);
	free(v);
	return total;
}

/* ns per hit with the probe at file offset off (several offsets for RETs). */
static double probed_cost(struct probe_cost_bpf *skel, struct spin *s, const char *exe,
			  const uint64_t *offs, size_t n, double base, uint64_t *ret_hits)
{
	struct bpf_link *links[8] = { 0 };
	double t;
	uint64_t h;

	for (size_t i = 0; i < n && i < 8; i++) {
		links[i] = bpf_program__attach_uprobe(skel->progs.count_hit, false, s->pid, exe,
						      offs[i]);
		if (!links[i]) {
			fprintf(stderr, "attach at %#llx: %s\n", (unsigned long long)offs[i],
				strerror(errno));
			t = -1;
			goto out;
		}
	}
	hits(skel);
	t = spin_round(s);
	h = hits(skel);
	*ret_hits = h;
	t = h ? (t - base) / ((double)h / ROUNDS) : -1;
out:
	for (size_t i = 0; i < n && i < 8; i++)
		bpf_link__destroy(links[i]);
	return t;
}

/* Run time of one program since load, from the BPF run-time statistics. */
static void prog_time(const struct bpf_program *prog, uint64_t *ret_ns, uint64_t *ret_runs)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	*ret_ns = *ret_runs = 0;
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) {
		*ret_ns = info.run_time_ns;
		*ret_runs = info.run_cnt;
	}
}

/* What each operation of bpf/op_cost.bpf.c costs inside a program, from the kernel's
 * run time per run with the operation minus the run time with none. */
static void op_costs(struct spin *s, const char *exe, uint64_t jbe_off)
{
	static const char *const names[OC_COUNT] = {
		[OC_NONE] = "nothing (the run's own cost)",
		[OC_KTIME] = "bpf_ktime_get_ns",
		[OC_PRANDOM] = "bpf_get_prandom_u32",
		[OC_PID_TGID] = "bpf_get_current_pid_tgid",
		[OC_NS_PID_TGID] = "bpf_get_ns_current_pid_tgid",
		[OC_READ_8] = "bpf_probe_read_user, 8 bytes",
		[OC_READ_64] = "bpf_probe_read_user, 64 bytes",
		[OC_READ_256] = "bpf_probe_read_user, 256 bytes",
		[OC_HASH_UPDATE_DELETE] = "HASH update + delete",
		[OC_LRU_UPDATE_DELETE] = "LRU_HASH update + delete",
		[OC_HASH_LOOKUP] = "HASH lookup",
		[OC_PERCPU_HASH_LOOKUP] = "PERCPU_HASH lookup + add",
		[OC_ARRAY_CLAIM_RELEASE] = "ARRAY slot cmpxchg claim + release",
		[OC_LOOP_8] = "bpf_loop, 8 steps",
		[OC_RINGBUF_320] = "ringbuf reserve + submit 320 B",
	};
	struct op_cost_bpf *skel = op_cost_bpf__open();
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	struct stat ns;

	if (skel && stat("/proc/self/ns/pid", &ns) == 0) {
		skel->rodata->pidns_dev = (uint64_t)ns.st_dev;
		skel->rodata->pidns_ino = (uint64_t)ns.st_ino;
	}
	if (skel && op_cost_bpf__load(skel)) {
		op_cost_bpf__destroy(skel);
		skel = NULL;
	}
	struct bpf_link *link = NULL;
	double per_run[OC_COUNT];

	if (!skel || stats_fd < 0) {
		printf("  (operation costs skipped: %s)\n",
		       skel ? "no BPF run-time statistics" : "op_cost did not load");
		goto out;
	}
	link = bpf_program__attach_uprobe(skel->progs.op_cost, false, s->pid, exe, jbe_off);
	if (!link)
		goto out;
	printf("cost of one operation inside a probe program (kernel run time per run with it,\n"
	       "minus without, over %u repetitions a run):\n", skel->rodata->op_reps);
	for (uint32_t o = 0; o < OC_COUNT; o++) {
		uint64_t ns0, runs0, ns1, runs1;

		skel->bss->op = o;
		prog_time(skel->progs.op_cost, &ns0, &runs0);
		spin_round(s);
		prog_time(skel->progs.op_cost, &ns1, &runs1);
		per_run[o] = runs1 > runs0 ? (double)(ns1 - ns0) / (double)(runs1 - runs0) : -1;
		if (o == OC_NONE)
			printf("  %-36s %7.1f ns a run\n", names[o], per_run[o]);
		else
			printf("  %-36s %7.1f ns\n", names[o],
			       (per_run[o] - per_run[OC_NONE]) / skel->rodata->op_reps);
	}
	bpf_link__destroy(link);
	link = bpf_program__attach_uprobe(skel->progs.op_cost_sleepable, false, s->pid, exe, jbe_off);
	for (uint32_t o = 0; link && o <= OC_READ_64; o++) {
		uint64_t ns0, runs0, ns1, runs1;

		if (o != OC_NONE && o != OC_READ_8 && o != OC_READ_64)
			continue;
		skel->bss->op = o;
		prog_time(skel->progs.op_cost_sleepable, &ns0, &runs0);
		spin_round(s);
		prog_time(skel->progs.op_cost_sleepable, &ns1, &runs1);
		per_run[o] = runs1 > runs0 ? (double)(ns1 - ns0) / (double)(runs1 - runs0) : -1;
		printf("  sleepable: %-25s %7.1f ns%s\n", names[o],
		       o == OC_NONE ? per_run[o] : (per_run[o] - per_run[OC_NONE]) / skel->rodata->op_reps,
		       o == OC_NONE ? " a run" : " (bpf_copy_from_user)");
	}
out:
	bpf_link__destroy(link);
	if (stats_fd >= 0)
		close(stats_fd);
	op_cost_bpf__destroy(skel);
}

int main(int argc, char **argv)
{
	struct probe_cost_bpf *skel = NULL;
	struct go_binary *gb = NULL;
	struct probe_point entry, rets[8];
	struct go_func fn;
	struct spin s = { 0 };
	const char *binary;
	glob_t g = { 0 };
	char exe[64];
	uint64_t sym_off, h_jbe = 0, h_sym = 0, h_ret = 0;
	size_t nrets;
	double base, base2, jbe, sym, ret;
	int rc = 1;

	if (argc > 1) {
		binary = argv[1];
	} else {
		if (glob("build/fixtures/spin-go*", 0, NULL, &g) || g.gl_pathc == 0) {
			fprintf(stderr, "bench_probe_cost: no build/fixtures/spin-go* (make fixtures)\n");
			return 1;
		}
		binary = g.gl_pathv[0];
	}
	if (go_binary_open(binary, NULL, &gb) ||
	    go_binary_entry_point(gb, "main.work", &entry) ||
	    go_binary_ret_points(gb, "main.work", rets, 8, &nrets) ||
	    go_symtab_lookup(go_binary_symtab(gb), "main.work", &fn)) {
		fprintf(stderr, "bench_probe_cost: main.work not found in %s\n", binary);
		goto out;
	}
	sym_off = entry.file_offset - (entry.vaddr - fn.addr);
	skel = probe_cost_bpf__open_and_load();
	if (!skel || spin_start(binary, &s)) {
		fprintf(stderr, "bench_probe_cost: cannot load the probe or start %s\n", binary);
		goto out;
	}
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)s.pid);
	spin_round(&s); /* warm up */
	base = spin_round(&s);
	jbe = probed_cost(skel, &s, exe, &entry.file_offset, 1, base, &h_jbe);
	sym = probed_cost(skel, &s, exe, &sym_off, 1, base, &h_sym);
	{
		uint64_t offs[8];

		for (size_t i = 0; i < nrets; i++)
			offs[i] = rets[i].file_offset;
		ret = probed_cost(skel, &s, exe, offs, nrets, base, &h_ret);
	}
	base2 = spin_round(&s);
	printf("probe cost per hit on %s (%d calls a round, fastest of %d):\n", binary, CALLS,
	       ROUNDS);
	printf("  unprobed call:           %7.1f ns (again at the end: %.1f ns)\n", base / CALLS,
	       base2 / CALLS);
	printf("  jbe after stack check:   %7.1f ns a hit  (%s, %llu hits)   1.00x\n", jbe,
	       insn_cost_name(entry.cost), (unsigned long long)h_jbe);
	printf("  first instruction (cmp): %7.1f ns a hit  (single-stepped, %llu hits) %5.2fx\n",
	       sym, (unsigned long long)h_sym, sym / jbe);
	printf("  RET (%zu of them):         %7.1f ns a hit  (single-stepped, %llu hits) %5.2fx\n",
	       nrets, ret, (unsigned long long)h_ret, ret / jbe);
	op_costs(&s, exe, entry.file_offset);
	rc = 0;
out:
	if (s.pid > 0) {
		kill(s.pid, SIGTERM);
		waitpid(s.pid, NULL, 0);
	}
	if (s.to)
		fclose(s.to);
	if (s.from)
		fclose(s.from);
	probe_cost_bpf__destroy(skel);
	go_binary_free(gb);
	globfree(&g);
	return rc;
}
