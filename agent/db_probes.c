#include "agent/db_probes.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "agent/go_offsets.h"

static const struct {
	const char *module; /* a module path, or its prefix before a major version "/vN" */
	enum db_system system;
} drivers[] = {
	{ "modernc.org/sqlite", DB_SYSTEM_SQLITE },
	{ "github.com/mattn/go-sqlite3", DB_SYSTEM_SQLITE },
	{ "github.com/lib/pq", DB_SYSTEM_POSTGRESQL },
	{ "github.com/jackc/pgx", DB_SYSTEM_POSTGRESQL },
	{ "github.com/go-sql-driver/mysql", DB_SYSTEM_MYSQL },
};

static const char *const system_names[DB_SYSTEM_COUNT] = {
	[DB_SYSTEM_SQLITE] = "sqlite",
	[DB_SYSTEM_POSTGRESQL] = "postgresql",
	[DB_SYSTEM_MYSQL] = "mysql",
};

const char *db_system_name(unsigned system)
{
	return system < DB_SYSTEM_COUNT ? system_names[system] : NULL;
}

/* path is module, or module + "/v<digits>". */
static int is_module(const char *path, const char *module)
{
	size_t n = strlen(module);

	if (strncmp(path, module, n) != 0)
		return 0;
	if (path[n] == '\0')
		return 1;
	if (path[n] != '/' || path[n + 1] != 'v' || !path[n + 2])
		return 0;
	for (const char *p = path + n + 2; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

enum db_system db_probes_system(const struct go_buildinfo *info)
{
	enum db_system found = DB_SYSTEM_UNKNOWN;
	size_t n = info ? go_buildinfo_dep_count(info) : 0;

	for (size_t i = 0; i < n; i++) {
		const struct go_module *m = go_buildinfo_dep(info, i);

		for (size_t k = 0; m && m->path && k < sizeof(drivers) / sizeof(drivers[0]); k++) {
			if (!is_module(m->path, drivers[k].module))
				continue;
			/* Drivers of two systems: which one a call uses is not known. */
			if (found != DB_SYSTEM_UNKNOWN && found != drivers[k].system)
				return DB_SYSTEM_UNKNOWN;
			found = drivers[k].system;
		}
	}
	return found;
}

static int plan_fn(struct go_binary *binary, const char *name, struct db_probe_fn *ret)
{
	int r = go_binary_entry_point(binary, name, &ret->start);

	if (r)
		return r;
	r = go_binary_ret_points(binary, name, ret->rets, DB_PROBES_MAX_RETS, &ret->n_rets);
	if (r)
		return r;
	/* A function that never returns normally has nothing to end its span. */
	if (ret->n_rets == 0)
		return -ENOENT;
	ret->present = 1;
	return 0;
}

/* The release functions queryDC and execDC are handed, as method values (the "-fm"
 * wrappers the indirect call goes to), and the methods they wrap: a binary that has a
 * method but not its wrapper calls it some other way, and its ends go to the RETs. */
static const char *const release_fns[DB_PROBES_MAX_RELEASE][2] = {
	{ "database/sql.(*driverConn).releaseConn-fm", "database/sql.(*driverConn).releaseConn" },
	{ "database/sql.(*Tx).closemuRUnlockRelease-fm", "database/sql.(*Tx).closemuRUnlockRelease" },
	{ "database/sql.(*Conn).closemuRUnlockCondReleaseConn-fm",
	  "database/sql.(*Conn).closemuRUnlockCondReleaseConn" },
};

/* 1 when the ends can go to function entries (plan's rows_ready and released set). */
static int plan_release_ends(struct go_binary *binary, struct db_probe_plan *plan)
{
	struct probe_point p;

	if ((plan->query.present || plan->stmt_query.present) &&
	    go_binary_entry_point(binary, DB_PROBES_ROWS_READY, &plan->rows_ready) != 0)
		return 0;
	for (size_t i = 0; i < DB_PROBES_MAX_RELEASE; i++) {
		int r = go_binary_entry_point(binary, release_fns[i][0], &p);

		if (r == 0) {
			plan->released[plan->n_released++] = p;
			continue;
		}
		if (r != -ENOENT || go_binary_entry_point(binary, release_fns[i][1], &p) != -ENOENT)
			return 0;
	}
	/* The *DB's own: every plain query and exec ends through it. */
	return go_binary_entry_point(binary, release_fns[0][0], &p) == 0;
}

/* Both points of a statement path, or it stays absent (a binary that never runs such a
 * statement has neither). */
static void plan_stmt_fn(struct go_binary *binary, const char *enter, const char *start,
			 struct db_stmt_fn *ret)
{
	struct db_stmt_fn f = { .present = 1 };

	if (go_binary_entry_point(binary, enter, &f.enter) == 0 &&
	    go_binary_entry_point(binary, start, &f.start) == 0)
		*ret = f;
}

/* The offset of Stmt.query in ret_offset; -EPROTONOSUPPORT when no source knows it. */
static int stmt_query_offset(const struct go_binary *binary, uint32_t *ret_offset)
{
	const struct go_offsets *o;
	uint32_t off;
	int r = go_binary_offsets(binary, &o);

	if (r == 0)
		r = go_offsets_get(o, GO_FIELD_SQL_STMT_QUERY, &off);
	if (r)
		return -EPROTONOSUPPORT;
	*ret_offset = off;
	return 0;
}

int db_probes_plan(struct go_binary *binary, struct db_probe_plan *ret_plan)
{
	struct db_probe_plan plan;
	uint32_t query_off = 0;
	int rq, re;

	memset(&plan, 0, sizeof(plan));
	rq = plan_fn(binary, DB_PROBES_QUERY_DC, &plan.query);
	re = plan_fn(binary, DB_PROBES_EXEC_DC, &plan.exec);
	if (rq && rq != -ENOENT)
		return rq;
	if (re && re != -ENOENT)
		return re;
	/* Statements where the text can be read; their ends are the release functions'. */
	if (stmt_query_offset(binary, &query_off) == 0) {
		plan_stmt_fn(binary, DB_PROBES_STMT_QUERY, DB_PROBES_ROWSI_FROM_STMT,
			     &plan.stmt_query);
		plan_stmt_fn(binary, DB_PROBES_STMT_EXEC, DB_PROBES_RESULT_FROM_STMT,
			     &plan.stmt_exec);
	}
	if (!plan.query.present && !plan.exec.present && !plan.stmt_query.present &&
	    !plan.stmt_exec.present)
		return -ENOENT;
	plan.release_ends = plan_release_ends(binary, &plan);
	if (!plan.release_ends) {
		plan.n_released = 0;
		memset(&plan.stmt_query, 0, sizeof(plan.stmt_query));
		memset(&plan.stmt_exec, 0, sizeof(plan.stmt_exec));
		if (!plan.query.present && !plan.exec.present)
			return -ENOENT;
	}
	plan.binary.stmts = plan.stmt_query.present || plan.stmt_exec.present;
	plan.binary.stmt_query = plan.binary.stmts ? query_off : 0;
	plan.binary.valid = 1;
	plan.binary.system = (__u8)db_probes_system(go_binary_buildinfo(binary));
	*ret_plan = plan;
	return 0;
}
