/* What the probes cost where probe_points puts them: requests per second of the Go
 * net/http hello fixture under wrk, untraced (the baseline, measured before and after)
 * and with counting uprobes (perf_event_open on the uprobe PMU: the kernel's trap and
 * the emulation or single-step of the probed instruction, without a BPF program) at
 *   - the peers' placement: serverHandler.ServeHTTP's symbol and each of its RETs,
 *     all single-stepped;
 *   - ours: the jbe after the stack check of serverHandler.ServeHTTP (the request's
 *     start) and of (*response).finishRequest (its end), both emulated.
 * Each line prints the rate, its ratio to the baseline, the probe hits per request and
 * the time they add per request. Needs root (or CAP_PERFMON) and wrk on PATH; says
 * "skipped" otherwise.
 * Usage: bench_probe_points [HELLO-FIXTURE [SECONDS]] */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/go_binary.h"
#include "tests/support/go_fixtures.h"

#define PORT     18931
#define MAX_FDS  256
#define MAX_RETS 16

struct probe_set {
	const char *name;
	uint64_t offsets[MAX_RETS + 2];
	size_t n;
};

static int uprobe_type(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "re");
	int type = -1;

	if (f) {
		if (fscanf(f, "%d", &type) != 1)
			type = -1;
		fclose(f);
	}
	return type;
}

/* Counting uprobes at each offset, on every CPU; fds[] gets them. */
static int attach(const char *path, const struct probe_set *set, int *fds, size_t *nfds)
{
	int type = uprobe_type(), ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), cpu;
	size_t i;

	*nfds = 0;
	if (type < 0)
		return -ENOENT;
	for (i = 0; i < set->n; i++) {
		for (cpu = 0; cpu < ncpu; cpu++) {
			struct perf_event_attr a = { .size = sizeof(a), .type = (uint32_t)type };
			int fd;

			a.config1 = (uint64_t)(uintptr_t)path;
			a.config2 = set->offsets[i];
			fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, 0);
			if (fd < 0 || *nfds >= MAX_FDS)
				return fd < 0 ? -errno : -ENOSPC;
			fds[(*nfds)++] = fd;
		}
	}
	return 0;
}

static uint64_t detach(int *fds, size_t nfds)
{
	uint64_t sum = 0, n;
	size_t i;

	for (i = 0; i < nfds; i++) {
		if (read(fds[i], &n, sizeof(n)) == sizeof(n))
			sum += n;
		close(fds[i]);
	}
	return sum;
}

static int port_open(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static pid_t start_server(const char *path)
{
	char addr[32];
	pid_t pid;
	int i;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", PORT);
	pid = fork();
	if (pid == 0) {
		execl(path, path, "-addr", addr, (char *)NULL);
		_exit(127);
	}
	for (i = 0; pid > 0 && i < 100 && !port_open(); i++)
		usleep(50 * 1000);
	return pid;
}

/* Requests per second wrk measured, and how many it made. */
static double run_wrk(int seconds, double *ret_requests)
{
	char cmd[160], line[256];
	double rps = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "wrk -t1 -c16 -d%ds http://127.0.0.1:%d/ 2>/dev/null", seconds,
		 PORT);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	*ret_requests = 0;
	while (fgets(line, sizeof(line), p)) {
		double n;

		if (sscanf(line, "Requests/sec: %lf", &rps) == 1)
			continue;
		if (sscanf(line, " %lf requests in", &n) == 1)
			*ret_requests = n;
	}
	pclose(p);
	return rps;
}

static int resolve(const char *path, struct probe_set *peers, struct probe_set *ours)
{
	struct probe_point entry, rets[MAX_RETS];
	struct go_binary *b = NULL;
	struct go_func fn;
	size_t n = 0, i;
	int r;

	r = go_binary_open(path, NULL, &b);
	if (r < 0)
		return r;
	peers->name = "symbol + RETs (peers)";
	ours->name = "jbe + jbe (probe_points)";
	r = go_symtab_lookup(go_binary_symtab(b), "net/http.serverHandler.ServeHTTP", &fn);
	if (r == 0)
		r = elf_file_vaddr_to_offset(go_binary_elf(b), fn.addr, &peers->offsets[0]);
	if (r == 0)
		r = go_binary_ret_points(b, "net/http.serverHandler.ServeHTTP", rets, MAX_RETS, &n);
	for (i = 0; r == 0 && i < n; i++)
		peers->offsets[1 + i] = rets[i].file_offset;
	peers->n = 1 + n;
	if (r == 0)
		r = go_binary_entry_point(b, "net/http.serverHandler.ServeHTTP", &entry);
	ours->offsets[0] = entry.file_offset;
	if (r == 0)
		r = go_binary_entry_point(b, "net/http.(*response).finishRequest", &entry);
	ours->offsets[1] = entry.file_offset;
	ours->n = 2;
	go_binary_free(b);
	return r;
}

/* The unstripped, non-PIE hello fixture of the newest Go version. */
static int pick_fixture(struct go_fixture *ret)
{
	struct go_fixture fx[GO_FIXTURES_MAX];
	size_t n, i;
	int found = 0;

	if (go_fixtures_load(fx, GO_FIXTURES_MAX, &n) < 0)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		if (fx[i].stripped || fx[i].pie)
			continue;
		*ret = fx[i];
		found = 1;
	}
	return found ? 0 : -ENOENT;
}

int main(int argc, char **argv)
{
	struct probe_set peers = { 0 }, ours = { 0 };
	const struct probe_set *sets[] = { &peers, &ours };
	struct go_fixture fx;
	const char *path;
	int seconds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5, fds[MAX_FDS], r, status;
	double base_before, base_after, base, reqs;
	size_t s, nfds;
	pid_t server;

	if (argc > 1) {
		path = argv[1];
	} else if (pick_fixture(&fx) == 0) {
		path = fx.path;
	} else {
		printf("bench_probe_points: skipped (no fixture: make fixtures)\n");
		return 0;
	}
	if (system("command -v wrk >/dev/null 2>&1") != 0) {
		printf("bench_probe_points: skipped (no wrk on PATH)\n");
		return 0;
	}
	r = resolve(path, &peers, &ours);
	if (r < 0) {
		printf("bench_probe_points: %s: %s\n", path, strerror(-r));
		return 1;
	}
	r = attach(path, &ours, fds, &nfds);
	detach(fds, nfds);
	if (r < 0) {
		printf("bench_probe_points: skipped (uprobes: %s)\n", strerror(-r));
		return 0;
	}
	server = start_server(path);
	if (server <= 0 || !port_open()) {
		printf("bench_probe_points: cannot start %s\n", path);
		return 1;
	}
	run_wrk(1, &reqs); /* warm up */
	base_before = run_wrk(seconds, &reqs);
	printf("bench_probe_points: %s, wrk -t1 -c16 for %d s per line\n", path, seconds);
	printf("  %-28s %10.0f req/s  (baseline, before)\n", "untraced", base_before);
	{
		double rates[2], hits_per_req[2];

		for (s = 0; s < 2; s++) {
			uint64_t hits;

			r = attach(path, sets[s], fds, &nfds);
			rates[s] = r == 0 ? run_wrk(seconds, &reqs) : 0;
			hits = detach(fds, nfds);
			hits_per_req[s] = reqs > 0 ? (double)hits / reqs : 0;
		}
		base_after = run_wrk(seconds, &reqs);
		base = (base_before + base_after) / 2;
		for (s = 0; s < 2; s++)
			printf("  %-28s %10.0f req/s  %5.1f%% of the baseline, %4.1f probe hits/request,"
			       " +%.2f us/request\n",
			       sets[s]->name, rates[s], 100 * rates[s] / base, hits_per_req[s],
			       rates[s] > 0 ? 1e6 * (1 / rates[s] - 1 / base) : 0);
		printf("  %-28s %10.0f req/s  (baseline, after)\n", "untraced", base_after);
		if (rates[0] > 0 && rates[1] > 0)
			printf("  probe_points keeps %.1fx the peers' rate\n", rates[1] / rates[0]);
	}
	kill(server, SIGTERM);
	waitpid(server, &status, 0);
	return 0;
}
