/* Where the database/sql client probes go in one Go executable (bpf/db_client.bpf.c):
 * the entries of (*DB).queryDC and (*DB).execDC, through which every query and exec of
 * a *DB, *Conn and *Tx passes; their ends at the entries of what each calls last
 * ((*Rows).initContextClose, the connection's release functions: emulated jbe
 * instructions), or at their RETs (single-stepped) when the binary lacks one of those;
 * and db.system.name from the driver modules the binary was built with. Prepared
 * statements ((*Stmt).QueryContext and ExecContext, entered at their jbe, started at
 * rowsiFromStatement's and resultFromStatement's) share those ends, and are traced
 * where the ends go to the entries and Stmt.query's offset is known.
 *
 * Errors: 0 or a negative errno: -ENOENT when the binary makes no database/sql calls
 * it can trace (neither queryDC nor execDC is in it, and no statement path either, or
 * only statements without the entry ends), -ENOSPC when a function has more RETs than
 * room. */
#ifndef AUTOTRACE_AGENT_DB_PROBES_H
#define AUTOTRACE_AGENT_DB_PROBES_H

#include "agent/go_binary.h"
#include "bpf/db_client.h"

#define DB_PROBES_QUERY_DC "database/sql.(*DB).queryDC"
#define DB_PROBES_EXEC_DC "database/sql.(*DB).execDC"
#define DB_PROBES_ROWS_READY "database/sql.(*Rows).initContextClose"
#define DB_PROBES_MAX_RETS 12
#define DB_PROBES_STMT_QUERY "database/sql.(*Stmt).QueryContext"
#define DB_PROBES_STMT_EXEC "database/sql.(*Stmt).ExecContext"
#define DB_PROBES_ROWSI_FROM_STMT "database/sql.rowsiFromStatement"
#define DB_PROBES_RESULT_FROM_STMT "database/sql.resultFromStatement"

struct db_probe_fn {
	int present;
	struct probe_point start;
	struct probe_point rets[DB_PROBES_MAX_RETS];
	size_t n_rets;
};

#define DB_PROBES_MAX_RELEASE 3

/* A Stmt's QueryContext or ExecContext (enter: the *Stmt), and the function it calls
 * once it has a connection (start: the context). */
struct db_stmt_fn {
	int present;
	struct probe_point enter, start;
};

struct db_probe_plan {
	struct db_probe_fn query, exec;
	/* Ends at function entries (else at query's and exec's RETs): */
	int release_ends;
	struct probe_point rows_ready; /* (*Rows).initContextClose: a query succeeded */
	struct probe_point released[DB_PROBES_MAX_RELEASE]; /* the release functions */
	size_t n_released;
	/* Prepared statements, present only with release_ends. */
	struct db_stmt_fn stmt_query, stmt_exec;
	struct db_binary binary; /* what the kernel keeps of the binary */
};

int db_probes_plan(struct go_binary *binary, struct db_probe_plan *ret_plan);

/* db.system.name from the build info's dependencies: modernc.org/sqlite and
 * github.com/mattn/go-sqlite3 are sqlite, github.com/lib/pq and github.com/jackc/pgx
 * (any major version) postgresql, github.com/go-sql-driver/mysql mysql; none of them,
 * or drivers of two systems, DB_SYSTEM_UNKNOWN. */
enum db_system db_probes_system(const struct go_buildinfo *info);

/* "sqlite", "postgresql", "mysql"; NULL for DB_SYSTEM_UNKNOWN or out of range. */
const char *db_system_name(unsigned system);

#endif
