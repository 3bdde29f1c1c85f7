/* What reading a Go binary costs the agent: wall time and peak RSS to resolve the probe
 * points of a large Go executable (open the ELF, index its functions from .symtab or
 * .gopclntab, find the entry and RET probe points of the net/http functions, read its
 * build info and struct offsets), next to two baselines measured in the same run on
 * the same file with a warm page cache: reading the file once (the least any reader
 * does) and `go tool nm` (Go's own symbol reader). Each measurement runs in a child
 * process of its own, so each peak RSS is that reader's alone.
 * Usage: bench_go_binary [FILE...]   (default: kube-apiserver from the tools cache when
 * built, and the largest Go fixture under build/fixtures) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/elf_file.h"
#include "agent/go_buildinfo.h"
#include "agent/go_offsets.h"
#include "agent/go_symbols.h"
#include "agent/probe_points.h"
#include "tests/support/go_fixtures.h"

#define RUNS 3

static const char *const probed[] = {
	"net/http.serverHandler.ServeHTTP",
	"net/http.(*response).finishRequest",
	"net/http.(*Transport).roundTrip",
	"net/textproto.(*Reader).readContinuedLineSlice",
};

struct stages {
	double open, symbols, probes, buildinfo, offsets;
	size_t nfuncs, npoints;
	int symtab_source, offsets_rc, ok;
	char go_version[32];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_once(const char *path)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0;
}

/* The agent's path for one binary, timed stage by stage. */
static int resolve(const char *path, struct stages *st)
{
	struct go_buildinfo *info = NULL;
	struct probe_disasm *dis = NULL;
	struct go_symtab *symtab = NULL;
	struct elf_file *file = NULL;
	struct go_offsets offsets;
	double t = now_s();
	size_t i;
	int r;

	r = elf_file_open_path(path, NULL, &file);
	if (r < 0)
		goto cleanup;
	st->open = now_s() - t;
	t = now_s();
	r = go_symtab_new(file, &symtab);
	if (r < 0)
		goto cleanup;
	st->symbols = now_s() - t;
	st->nfuncs = go_symtab_count(symtab);
	st->symtab_source = go_symtab_source(symtab);
	t = now_s();
	r = probe_disasm_new(&dis);
	if (r < 0)
		goto cleanup;
	for (i = 0; i < sizeof(probed) / sizeof(probed[0]); i++) {
		struct probe_point entry, rets[64];
		struct go_func fn;
		size_t n = 0;

		if (go_symtab_lookup(symtab, probed[i], &fn) < 0)
			continue;
		if (probe_entry_point(dis, file, &fn, &entry) == 0)
			st->npoints++;
		if (probe_ret_points(dis, file, &fn, rets, 64, &n) == 0)
			st->npoints += n;
	}
	st->probes = now_s() - t;
	t = now_s();
	r = go_buildinfo_read(file, &info);
	if (r < 0)
		goto cleanup;
	snprintf(st->go_version, sizeof(st->go_version), "%s", go_buildinfo_go_version(info));
	st->buildinfo = now_s() - t;
	t = now_s();
	st->offsets_rc = go_offsets_resolve(file, info, &offsets);
	st->offsets = now_s() - t;
	st->ok = 1;
cleanup:
	go_buildinfo_free(info);
	probe_disasm_free(dis);
	go_symtab_free(symtab);
	elf_file_free(file);
	return r;
}

struct run {
	double wall, cpu;
	long maxrss_kb;
	int ok, status;
	struct stages st;
};

enum what { READ_ONCE, GO_NM, RESOLVE };

/* Runs one measurement in a child; its stages come back through a pipe. */
static struct run measure(enum what what, const char *path)
{
	struct run run = { 0 };
	struct rusage ru;
	int fds[2], status;
	double t;
	pid_t pid;

	if (pipe(fds) < 0)
		return run;
	t = now_s();
	pid = fork();
	if (pid == 0) {
		struct stages st = { 0 };
		int devnull;

		close(fds[0]);
		if (what == READ_ONCE)
			_exit(read_once(path));
		if (what == GO_NM) {
			devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 1);
			dup2(devnull, 2);
			execlp("go", "go", "tool", "nm", "-size", path, (char *)NULL);
			_exit(127);
		}
		resolve(path, &st);
		if (write(fds[1], &st, sizeof(st)) != sizeof(st))
			_exit(1);
		_exit(st.ok ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
		close(fds[0]);
		return run;
	}
	run.wall = now_s() - t;
	run.cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	run.maxrss_kb = ru.ru_maxrss;
	run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	run.ok = run.status == 0;
	if (what == RESOLVE && read(fds[0], &run.st, sizeof(run.st)) != sizeof(run.st))
		run.ok = 0;
	close(fds[0]);
	return run;
}

/* The fastest of RUNS runs (and its RSS). */
static struct run best_of(enum what what, const char *path)
{
	struct run best = { 0 };
	int i;

	for (i = 0; i < RUNS; i++) {
		struct run r = measure(what, path);

		if (r.ok && (!best.ok || r.wall < best.wall))
			best = r;
		if (!r.ok && !best.ok)
			best.status = r.status;
	}
	return best;
}

static void bench_file(const char *path)
{
	struct run base, nm, ours;
	struct stat sb;

	if (stat(path, &sb) < 0) {
		printf("  %s: %s\n", path, strerror(errno));
		return;
	}
	read_once(path); /* warm the page cache for every reader alike */
	base = best_of(READ_ONCE, path);
	nm = best_of(GO_NM, path);
	ours = best_of(RESOLVE, path);
	printf("%s (%.1f MB, %s)\n", path, (double)sb.st_size / 1e6,
	       ours.ok ? ours.st.go_version : "?");
	if (!base.ok || !ours.ok) {
		printf("  failed: read %d, resolve %d\n", base.ok, ours.ok);
		return;
	}
	printf("  %-28s %8.1f ms wall %8.1f ms CPU  peak RSS %7.1f MB  (baseline)\n",
	       "read the file once", base.wall * 1e3, base.cpu * 1e3, base.maxrss_kb / 1024.0);
	if (nm.ok)
		printf("  %-28s %8.1f ms wall %8.1f ms CPU  peak RSS %7.1f MB  %6.2fx the baseline's time\n",
		       "go tool nm -size", nm.wall * 1e3, nm.cpu * 1e3, nm.maxrss_kb / 1024.0,
		       nm.wall / base.wall);
	else
		printf("  %-28s failed with status %d (%s)\n", "go tool nm -size", nm.status,
		       nm.status == 127 ? "no go on PATH" : "a stripped binary has no symbol table");
	printf("  %-28s %8.1f ms wall %8.1f ms CPU  peak RSS %7.1f MB  %6.2fx the baseline's time",
	       "resolve probe points", ours.wall * 1e3, ours.cpu * 1e3, ours.maxrss_kb / 1024.0,
	       ours.wall / base.wall);
	if (nm.ok)
		printf(", %5.3fx go tool nm's, %4.2fx its RSS", ours.wall / nm.wall,
		       (double)ours.maxrss_kb / (double)nm.maxrss_kb);
	printf("\n    stages: open %.1f ms, %zu functions from %s %.1f ms, %zu probe points %.1f ms,"
	       " buildinfo %.2f ms, offsets %.1f ms (%s)\n",
	       ours.st.open * 1e3, ours.st.nfuncs, go_symtab_source_name(ours.st.symtab_source),
	       ours.st.symbols * 1e3, ours.st.npoints, ours.st.probes * 1e3,
	       ours.st.buildinfo * 1e3, ours.st.offsets * 1e3,
	       ours.st.offsets_rc == 0 ? "resolved" : strerror(-ours.st.offsets_rc));
}

/* The largest unstripped fixture: the one with DWARF to read. */
static int largest_fixture(struct go_fixture *ret_fixture)
{
	struct go_fixture fx[GO_FIXTURES_MAX];
	off_t best = -1;
	size_t n, i;

	if (go_fixtures_load(fx, GO_FIXTURES_MAX, &n) < 0)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		struct stat sb;

		if (fx[i].stripped || stat(fx[i].path, &sb) < 0 || sb.st_size <= best)
			continue;
		best = sb.st_size;
		*ret_fixture = fx[i];
	}
	return best < 0 ? -ENOENT : 0;
}

int main(int argc, char **argv)
{
	struct go_fixture fixture;
	char apiserver[512];
	const char *home = getenv("HOME");
	int i;

	printf("bench_go_binary: best of %d runs each, warm page cache, one child process per run\n",
	       RUNS);
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			bench_file(argv[i]);
		return 0;
	}
	snprintf(apiserver, sizeof(apiserver), "%s/.cache/autotrace/k8s-v1.34.2/kube-apiserver",
		 home ? home : "/root");
	if (access(apiserver, R_OK) == 0)
		bench_file(apiserver);
	if (largest_fixture(&fixture) == 0)
		bench_file(fixture.path);
	return 0;
}
