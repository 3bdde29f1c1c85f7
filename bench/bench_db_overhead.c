/* What the database/sql probes cost a request: tests/fixtures/go/dbsvc's /db (one
 * SELECT and one INSERT on an in-memory SQLite database, through modernc.org/sqlite)
 * and /stmt (the same through prepared statements: a Stmt's QueryRowContext and
 * ExecContext), each requested back to back over one kept-alive connection, in three
 * arms a round:
 *   untraced      no probes
 *   server only   the tracer with databaseSql turned off (its probes detached)
 *   server + db   the tracer with every family on (the query and exec starts at their
 *                 jbe, their ends at the entries of the release functions or of
 *                 (*Rows).initContextClose: emulated jbe instructions too; a
 *                 statement's call adds the jbe of its Stmt method's entry)
 * all sampled (always_on), spans built and dropped. Printed per arm: requests/s (median
 * over rounds) and the cost per request against the untraced run of the same round;
 * the last lines are what the database probes add per call (2 calls a request), plain
 * and through statements. Never passes or fails.
 * Usage: bench_db_overhead [requests per run, default 1000] [rounds, default 15] */
#include <curl/curl.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/tracer.h"
#include "tests/support/bench_stats.h"
#include "tests/support/traced_service.h"

#define MAX_ROUNDS 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int drop(void *ud, const struct otlp_span *span)
{
	(void)ud;
	(void)span;
	return 0;
}

/* Requests/s of n GETs of path. */
static double run(struct traced_service *svc, struct tracer *t, int n, const char *path)
{
	double start = now_s();

	for (int i = 0; i < n; i++) {
		long status = 0;

		if (traced_service_get(svc, path, NULL, &status) || status != 200) {
			fprintf(stderr, "request %d of %s failed (status %ld)\n", i, path, status);
			exit(1);
		}
		if (t && i % 64 == 0)
			tracer_poll(t);
	}
	if (t)
		tracer_poll(t);
	return n / (now_s() - start);
}



int main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1000;
	int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 15;
	double base[MAX_ROUNDS], srv[MAX_ROUNDS], db[MAX_ROUNDS], c_srv[MAX_ROUNDS],
		c_db[MAX_ROUNDS];
	double s_base[MAX_ROUNDS], s_srv[MAX_ROUNDS], s_db[MAX_ROUNDS], s_c_srv[MAX_ROUNDS],
		s_c_db[MAX_ROUNDS];
	struct tracer_opts o = { .sampler = { .type = TRACER_SAMPLER_ALWAYS_ON }, .on_span = drop };
	struct tracer_probes on, no_db;
	struct traced_service *svc = NULL;
	struct tracer *t = NULL;
	glob_t g;
	char fixture[512] = "";

	if (n <= 0 || rounds <= 0 || rounds > MAX_ROUNDS)
		return 2;
	if (glob("build/fixtures/dbsvc-go*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (!strstr(g.gl_pathv[i], ".modinfo"))
				snprintf(fixture, sizeof(fixture), "%s", g.gl_pathv[i]);
		globfree(&g);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!fixture[0] || traced_service_start(fixture, &svc)) {
		fprintf(stderr, "no dbsvc fixture (make build/fixtures/dbsvc-...)\n");
		return 1;
	}
	o.targets.executable = traced_service_binary(svc);
	if (tracer_new(&o, &t)) {
		fprintf(stderr, "cannot load the probes\n");
		return 1;
	}
	tracer_probes_default(&on);
	no_db = on;
	no_db.database_sql = 0;
	run(svc, NULL, n / 4 + 1, "/db"); /* warm up */
	run(svc, NULL, n / 4 + 1, "/stmt");
	for (int r = 0; r < rounds; r++) {
		base[r] = run(svc, NULL, n, "/db");
		s_base[r] = run(svc, NULL, n, "/stmt");
		tracer_set_probes(t, 0, &no_db);
		tracer_scan(t);
		srv[r] = run(svc, t, n, "/db");
		s_srv[r] = run(svc, t, n, "/stmt");
		tracer_set_probes(t, 0, &on);
		tracer_scan(t);
		db[r] = run(svc, t, n, "/db");
		s_db[r] = run(svc, t, n, "/stmt");
		/* Detached again for the next round's untraced run. */
		tracer_free(t);
		t = NULL;
		if (tracer_new(&o, &t))
			return 1;
		c_srv[r] = 1e9 / srv[r] - 1e9 / base[r];
		c_db[r] = 1e9 / db[r] - 1e9 / srv[r];
		s_c_srv[r] = 1e9 / s_srv[r] - 1e9 / s_base[r];
		s_c_db[r] = 1e9 / s_db[r] - 1e9 / s_srv[r];
	}
	printf("/db (DB.QueryRowContext, DB.ExecContext):\n");
	printf("untraced       %8.0f req/s\n", bench_median(base, rounds));
	printf("server only    %8.0f req/s  %+7.0f ns/request\n", bench_median(srv, rounds),
	       bench_median(c_srv, rounds));
	printf("server + db    %8.0f req/s  %+7.0f ns/request beyond server only\n",
	       bench_median(db, rounds), bench_median(c_db, rounds));
	printf("/stmt (Stmt.QueryRowContext, Stmt.ExecContext):\n");
	printf("untraced       %8.0f req/s\n", bench_median(s_base, rounds));
	printf("server only    %8.0f req/s  %+7.0f ns/request\n", bench_median(s_srv, rounds),
	       bench_median(s_c_srv, rounds));
	printf("server + db    %8.0f req/s  %+7.0f ns/request beyond server only\n",
	       bench_median(s_db, rounds), bench_median(s_c_db, rounds));
	printf("database/sql probes: %.0f ns per call, %.0f ns per statement call (2 calls a "
	       "request; %d rounds of %d)\n",
	       bench_median(c_db, rounds) / 2, bench_median(s_c_db, rounds) / 2, rounds, n);
	tracer_free(t);
	traced_service_free(svc);
	curl_global_cleanup();
	return 0;
}
