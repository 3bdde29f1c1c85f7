/* What bpf/db_client.bpf.c and the agent share: the database/sql client span record,
 * the per-binary settings, the RED series and the statistics. Fixed-width types only,
 * sizes asserted. Included by the BPF program (after vmlinux.h) and by the agent (with
 * <linux/types.h>). */
#ifndef AUTOTRACE_BPF_DB_CLIENT_H
#define AUTOTRACE_BPF_DB_CLIENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bytes of a query's text copied out with a sampled call: its operation name is parsed
 * from them in user space, and they are db.query.text (truncated) where the config asks
 * for it. */
#define DB_QUERY_MAX 456
/* Bytes of a query's start in a RED key: its first word, the rest zeroed in the kernel
 * so that the series are per operation, not per query. */
#define DB_OP_PREFIX 24

/* db.system.name, from the driver modules in the binary's build info. */
enum db_system {
	DB_SYSTEM_UNKNOWN = 0, /* no known driver, or several */
	DB_SYSTEM_SQLITE,
	DB_SYSTEM_POSTGRESQL,
	DB_SYSTEM_MYSQL,
	DB_SYSTEM_COUNT,
};

/* Record flags. */
#define DB_REC_HAS_PARENT 0x1 /* parent_span_id is a span of this trace */
#define DB_REC_ERROR 0x2      /* the call returned an error */
#define DB_REC_EXEC 0x4       /* an exec (execDC, a Stmt's ExecContext), else a query */

/* One sampled call, as the end probe submits it to the ring buffer the server probes
 * use (its size tells it from the others there; the pid sits at byte 48 as in every
 * record layout). */
struct db_span_record {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8];
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 end_ns;
	__u32 pid;
	__u8 trace_flags;
	__u8 rec_flags;    /* DB_REC_* */
	__u8 system;       /* enum db_system */
	__u8 sampler_slot; /* the attach cookie's: which config the span goes under */
	__u32 query_len;   /* the query's whole length (bytes) */
	__u16 copied_len;  /* bytes of it in query[] */
	__u8 pad[2];
	char query[DB_QUERY_MAX];
};
_Static_assert(sizeof(struct db_span_record) == 520, "db_span_record layout changed");

/* What the probes know of one traced binary, in the slot of its server offsets. */
struct db_binary {
	__u8 valid;
	__u8 system;      /* enum db_system */
	__u8 stmts;       /* prepared statements' probes are attached */
	__u8 pad;
	__u32 stmt_query; /* offset of database/sql.Stmt's query (a string) */
};
_Static_assert(sizeof(struct db_binary) == 8, "db_binary layout changed");

enum db_stat {
	DB_STAT_CALLS = 0,        /* calls that ended (end probe) */
	DB_STAT_SAMPLED,          /* of those, sampled */
	DB_STAT_RINGBUF_FULL,     /* sampled, but no room in the ring buffer */
	DB_STAT_MISSING_START,    /* an end without a start */
	DB_STAT_START_FULL,       /* a start could not be stored */
	DB_STAT_PARENT_GOROUTINE, /* starts whose parent is the server request on its goroutine */
	DB_STAT_PARENT_CONTEXT,   /* ... found through the call's context */
	DB_STAT_ERRORS,           /* calls that returned an error */
	DB_STAT_RED_FULL,         /* a call not counted: no room for its RED series */
	DB_STAT_BAD_SLOT,
	DB_STAT_COUNT,
};

/* RED series: per (system, the query's first word, error). The semantic conventions'
 * buckets for db.client.operation.duration (seconds): 0.001 ... 10, then +Inf. */
#define DB_RED_BOUNDS 9
#define DB_RED_BUCKETS (DB_RED_BOUNDS + 1)
#define DB_RED_MAX 1024

struct db_red_key {
	__u8 system;
	__u8 error;
	__u8 pad[2];
	char op[DB_OP_PREFIX]; /* the query's leading blanks and first word; zeros after */
};
_Static_assert(sizeof(struct db_red_key) == 28, "db_red_key layout changed");

struct db_red_value {
	__u64 buckets[DB_RED_BUCKETS];
	__u64 count;
	__u64 sum_ns;
};
_Static_assert(sizeof(struct db_red_value) == 96, "db_red_value layout changed");

#endif
