/* The floor arm of bench/peers.bench.sh: the two empty probes of bench_tracer_overhead
 * ("two empty probes at the jbe's"), held on a running process for as long as a shell
 * script needs them. The counting program of bpf/probe_cost.bpf.c goes at the two
 * instructions autotrace's net/http server probes use (server_probes_plan: the jbe
 * after the stack check of serverHandler.ServeHTTP and of (*response).finishRequest),
 * so that what it costs the server is the kernel's uprobe machinery alone.
 * Usage: hold_empty_probes PID
 * Prints "attached" once both probes are in, then waits for SIGTERM or SIGINT, and
 * prints "hits N" (the program's runs) before it exits. Exit status 1 when the probes
 * cannot be attached. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/go_binary.h"
#include "agent/server_probes.h"
#include "probe_cost.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The runs of count_hit summed over the CPUs, or 0 when the map cannot be read. */
static unsigned long long hits(struct probe_cost_bpf *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long total = 0;
	uint64_t *v;
	uint32_t zero = 0;

	if (ncpu <= 0)
		return 0;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (v && bpf_map_lookup_elem(bpf_map__fd(skel->maps.hits), &zero, v) == 0) {
		for (int i = 0; i < ncpu; i++)
			total += v[i];
	}
	free(v);
	return total;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waiting;
	struct probe_cost_bpf *skel = NULL;
	struct bpf_link *a = NULL, *b = NULL;
	struct server_probe_plan plan;
	struct go_binary *gb = NULL;
	char exe[64];
	long pid;
	int rc = 1;

	pid = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
	if (pid <= 0) {
		fprintf(stderr, "usage: hold_empty_probes PID\n");
		return 2;
	}
	/* Blocked until the wait, so that a signal cannot slip in before it. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waiting);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	snprintf(exe, sizeof(exe), "/proc/%ld/exe", pid);
	if (go_binary_open(exe, NULL, &gb) || server_probes_plan(gb, &plan)) {
		fprintf(stderr, "hold_empty_probes: no net/http server probe points in %s\n", exe);
		goto out;
	}
	skel = probe_cost_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "hold_empty_probes: cannot load the counting program\n");
		goto out;
	}
	a = bpf_program__attach_uprobe(skel->progs.count_hit, false, (pid_t)pid, exe,
				       plan.start.file_offset);
	b = bpf_program__attach_uprobe(skel->progs.count_hit, false, (pid_t)pid, exe,
				       plan.end.file_offset);
	if (!a || !b) {
		fprintf(stderr, "hold_empty_probes: cannot attach to %ld\n", pid);
		goto out;
	}
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		sigsuspend(&waiting);
	printf("hits %llu\n", hits(skel));
	rc = 0;
out:
	bpf_link__destroy(a);
	bpf_link__destroy(b);
	probe_cost_bpf__destroy(skel);
	go_binary_free(gb);
	return rc;
}
