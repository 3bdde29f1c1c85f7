// SPDX-License-Identifier: GPL-2.0
/* database/sql client calls in a Go program (x86-64, Go register ABI), from uprobes
 * whose places agent/db_probes.c chooses by what each hit costs:
 *
 *   query start: database/sql.(*DB).queryDC at the jbe after its stack check,
 *                RBX:RCX = ctx, R10:R11 = the query string
 *   exec start:  database/sql.(*DB).execDC at its jbe, RBX:RCX = ctx, R8:R9 = the query
 *   rows ready:  (*Rows).initContextClose at its jbe: the end of a query that succeeded
 *   released:    the connection's release function at its jbe, RAX = the error's itab:
 *                (*driverConn).releaseConn-fm, (*Tx).closemuRUnlockRelease-fm,
 *                (*Conn).closemuRUnlockCondReleaseConn-fm, which execDC calls (deferred)
 *                as it returns and queryDC calls when it fails
 * or, where a binary lacks those (agent/db_probes.c decides):
 *   query end:   each RET of queryDC, RBX = the error's itab
 *   exec end:    each RET of execDC, RCX = the error's itab
 * and for prepared statements (with the release ends only, which they share):
 *   stmt enter:  (*Stmt).QueryContext and (*Stmt).ExecContext at their jbe, RAX = the
 *                *Stmt (its text is Stmt.query)
 *   stmt query / exec start: rowsiFromStatement and resultFromStatement at their jbe,
 *                RAX:RBX = ctx, once the statement has a connection
 *
 * Every query and exec of a *DB, *Conn and *Tx goes through queryDC and execDC (Go 1.22
 * to 1.27 give them the same signatures); prepared statements (*Stmt) do not: theirs
 * go through rowsiFromStatement and resultFromStatement, which queryDC and execDC also
 * call themselves when a driver has them prepare the query (ErrSkip). A statement's
 * start is therefore taken only on a goroutine that entered a Stmt's QueryContext or
 * ExecContext since its last queryDC or execDC began. Their
 * callers tail-call them (the instruction after each call is an ADD, single-stepped),
 * and their RETs are single-stepped too (~16 us a hit): the functions each of them calls
 * last on every path are entered at an emulated jbe instead. Those are called at other
 * times too (a Rows' Close releases its connection): a goroutine with no call in flight
 * is then no end, and nothing is counted.
 *
 * The call's state is kept by goroutine. Its parent is found as for net/http calls
 * (bpf/call_parent.h); every call is counted in the RED series; sampled ones are
 * copied out, with a bounded prefix of the query's text, through the ring buffer the
 * server probes use. Nothing here writes to user memory. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/http_server.h"
#include "bpf/http_client.h"
#include "bpf/db_client.h"
#include "bpf/go_memory.h"
#include "bpf/sampling_decision.h"
#include "bpf/uprobe_context.h"

char LICENSE[] SEC("license") = "GPL";


/* Shared with bpf/http_server.bpf.c (the loader reuses its maps). */
#include "bpf/server_maps.h"

#include "bpf/call_parent.h"

/* A call's ids, as the record carries them (filled by call_ids_fill). */
struct client_ids {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_span_id[8];
	__u8 sampled, trace_flags, has_parent;
};

/* This object's own. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct db_binary);
} db_binaries SEC(".maps");

/* A call in flight, by its goroutine's owner tag. */
struct db_call {
	struct client_ids ids;
	__u8 pad[5];
	__u64 start_ns;
	__u32 query_len;
	__u16 copied_len;
	__u8 system, exec;
	char op[DB_OP_PREFIX];
	char query[DB_QUERY_MAX];
};

/* A statement execution entered ((*Stmt).QueryContext, ExecContext), by goroutine: the
 * start (once the statement has its connection) reads the text from the *Stmt, and
 * knows from entered_ns whether a queryDC or execDC began since. Kept across the
 * retries of a bad connection (each try is a span, as for queryDC); replaced by the
 * goroutine's next statement. */
struct db_stmt_entry {
	__u64 stmt; /* the *Stmt */
	__u64 entered_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct db_stmt_entry);
} db_stmts SEC(".maps");

/* LRU: a start whose end never comes (a caller that panicked) is pushed out in time. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct db_call);
} db_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DB_RED_MAX);
	__type(key, struct db_red_key);
	__type(value, struct db_red_value);
} db_red SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DB_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} db_stats SEC(".maps");

struct db_scratch {
	struct db_call call;
	struct db_red_key red_key;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct db_scratch);
} db_scratch SEC(".maps");

static const __u64 db_bounds_ns[DB_RED_BOUNDS] = {
	1000000ULL,   5000000ULL,   10000000ULL,   50000000ULL,  100000000ULL,
	500000000ULL, 1000000000ULL, 5000000000ULL, 10000000000ULL,
};

static __always_inline void db_stat_add(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&db_stats, &which);

	if (v)
		*v += 1;
}

static __always_inline int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static __always_inline int is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Keeps the leading blanks and first word of op[] and zeros the rest: the RED series are
 * per operation, whatever literals follow it. */
static __always_inline void cut_first_word(char *op)
{
	int state = 0; /* 0: blanks, 1: in the word, 2: past it */

#pragma unroll
	for (int i = 0; i < DB_OP_PREFIX; i++) {
		char c = op[i];

		if (state == 0 && is_letter(c))
			state = 1;
		else if (state == 0 && !is_blank(c))
			state = 2;
		else if (state == 1 && !is_letter(c))
			state = 2;
		if (state == 2)
			op[i] = 0;
	}
}

/* ctx_data: the data word of the call's context.Context. */
static __always_inline int call_start(struct pt_regs *ctx, __u64 qptr, __u64 qlen, __u8 exec,
				      __u64 ctx_data)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie), zero = 0;
	__u32 sslot = cookie_sampler(cookie);
	const struct db_binary *bin = bpf_map_lookup_elem(&db_binaries, &slot);
	const struct hs_sampler *smp = bpf_map_lookup_elem(&sampler, &sslot);
	struct db_scratch *sc = bpf_map_lookup_elem(&db_scratch, &zero);
	__u64 tag = owner_tag(regs_of(ctx)->r14, pid);
	int via;
	struct db_call *c;
	__u64 n;
	int parent;

	if (!bin || !bin->valid || !smp || !sc) {
		db_stat_add(DB_STAT_BAD_SLOT);
		return 0;
	}
	c = &sc->call;
	c->start_ns = bpf_ktime_get_ns();
	c->system = bin->system;
	c->exec = exec;
	c->query_len = qlen > 0xffffffffULL ? 0xffffffffU : (__u32)qlen;
	c->copied_len = 0;
	parent = parent_request(tag, pid, ctx_data, &via);
	if (via == CALL_PARENT_GOROUTINE)
		db_stat_add(DB_STAT_PARENT_GOROUTINE);
	else if (via == CALL_PARENT_CONTEXT)
		db_stat_add(DB_STAT_PARENT_CONTEXT);
	call_ids_fill(&(struct call_ids){ c->ids.trace_id, c->ids.span_id, c->ids.parent_span_id,
					  &c->ids.sampled, &c->ids.trace_flags, &c->ids.has_parent },
		      parent, smp);
	__builtin_memset(c->op, 0, DB_OP_PREFIX);
	if (qptr && qlen) {
		n = qlen < DB_OP_PREFIX ? qlen : DB_OP_PREFIX;
		if (bpf_probe_read_user(c->op, n, (void *)qptr))
			__builtin_memset(c->op, 0, DB_OP_PREFIX);
		cut_first_word(c->op);
		/* The text for sampled calls only: unsampled ones copy nothing more out. */
		if (c->ids.sampled) {
			n = qlen < DB_QUERY_MAX ? qlen : DB_QUERY_MAX;
			n &= 511;
			if (n > DB_QUERY_MAX)
				n = DB_QUERY_MAX;
			if (n && bpf_probe_read_user(c->query, n, (void *)qptr) == 0)
				c->copied_len = (__u16)n;
		}
	}
	/* A second hit for the same call (morestack restarted it) replaces the first. */
	if (bpf_map_update_elem(&db_calls, &tag, c, BPF_ANY))
		db_stat_add(DB_STAT_START_FULL);
	return 0;
}

SEC("uprobe")
int db_query_start(struct pt_regs *ctx)
{
	return call_start(ctx, regs_of(ctx)->r10, regs_of(ctx)->r11, 0, regs_of(ctx)->cx);
}

SEC("uprobe")
int db_exec_start(struct pt_regs *ctx)
{
	return call_start(ctx, regs_of(ctx)->r8, regs_of(ctx)->r9, 1, regs_of(ctx)->cx);
}

SEC("uprobe")
int db_stmt_enter(struct pt_regs *ctx)
{
	__u32 pid = cookie_pid(bpf_get_attach_cookie(ctx));
	__u64 tag = owner_tag(regs_of(ctx)->r14, pid);
	struct db_stmt_entry e = { .stmt = regs_of(ctx)->ax, .entered_ns = bpf_ktime_get_ns() };

	if (bpf_map_update_elem(&db_stmts, &tag, &e, BPF_ANY))
		db_stat_add(DB_STAT_START_FULL);
	return 0;
}

static __always_inline int stmt_start(struct pt_regs *ctx, __u8 exec)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 slot = cookie_slot(cookie), pid = cookie_pid(cookie);
	__u64 tag = owner_tag(regs_of(ctx)->r14, pid);
	const struct db_binary *bin = bpf_map_lookup_elem(&db_binaries, &slot);
	const struct db_stmt_entry *e;
	const struct db_call *c;
	__u64 text[2]; /* the query string's pointer and length */

	if (!bin || !bin->valid || !bin->stmts)
		return 0;
	/* No statement entered: queryDC's or execDC's own prepared query, which is that
	 * call's span already. */
	e = bpf_map_lookup_elem(&db_stmts, &tag);
	if (!e)
		return 0;
	/* A call in flight that began after the statement was entered is a later
	 * queryDC's or execDC's, whose driver has it prepare the query (that call's span
	 * already), or this start hit a second time after the stack grew. One that began
	 * before is a call that never ended: replaced. */
	c = bpf_map_lookup_elem(&db_calls, &tag);
	if (c && c->start_ns > e->entered_ns)
		return 0;
	if (bpf_probe_read_user(text, sizeof(text), (const void *)(e->stmt + bin->stmt_query)))
		text[0] = text[1] = 0;
	return call_start(ctx, text[0], text[1], exec, regs_of(ctx)->bx);
}

SEC("uprobe")
int db_stmt_query_start(struct pt_regs *ctx)
{
	return stmt_start(ctx, 0);
}

SEC("uprobe")
int db_stmt_exec_start(struct pt_regs *ctx)
{
	return stmt_start(ctx, 1);
}

static __always_inline void red_add(struct db_scratch *sc, const struct db_call *c, __u8 error,
				    __u64 dur)
{
	struct db_red_key *k = &sc->red_key;
	struct db_red_value *v;
	__u32 b = DB_RED_BOUNDS;

#pragma unroll
	for (int i = DB_RED_BOUNDS - 1; i >= 0; i--) {
		if (dur <= db_bounds_ns[i])
			b = i;
	}
	__builtin_memset(k, 0, sizeof(*k));
	k->system = c->system;
	k->error = error;
	__builtin_memcpy(k->op, c->op, DB_OP_PREFIX);
	v = bpf_map_lookup_elem(&db_red, k);
	if (!v) {
		struct db_red_value zero = {};

		bpf_map_update_elem(&db_red, k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&db_red, k);
	}
	if (!v) {
		db_stat_add(DB_STAT_RED_FULL);
		return;
	}
	if (b < DB_RED_BUCKETS)
		v->buckets[b] += 1;
	v->count += 1;
	v->sum_ns += dur;
}

/* silent: the probe fires outside calls too (no start is no anomaly). */
static __always_inline int call_end(struct pt_regs *ctx, __u64 err_itab, int silent)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 pid = cookie_pid(cookie), zero = 0;
	struct db_scratch *sc = bpf_map_lookup_elem(&db_scratch, &zero);
	__u64 tag = owner_tag(regs_of(ctx)->r14, pid), end = bpf_ktime_get_ns();
	__u8 failed = err_itab != 0;
	struct db_span_record *rec;
	struct db_call *c;

	if (!sc)
		return 0;
	c = bpf_map_lookup_elem(&db_calls, &tag);
	if (!c) {
		if (!silent)
			db_stat_add(DB_STAT_MISSING_START);
		return 0;
	}
	__builtin_memcpy(&sc->call, c, sizeof(sc->call));
	bpf_map_delete_elem(&db_calls, &tag);
	c = &sc->call;
	if (failed)
		db_stat_add(DB_STAT_ERRORS);
	red_add(sc, c, failed, end - c->start_ns);
	db_stat_add(DB_STAT_CALLS);
	if (!c->ids.sampled)
		return 0;
	db_stat_add(DB_STAT_SAMPLED);
	rec = bpf_ringbuf_reserve(&spans, sizeof(*rec), 0);
	if (!rec) {
		db_stat_add(DB_STAT_RINGBUF_FULL);
		return 0;
	}
	__builtin_memcpy(rec->trace_id, c->ids.trace_id, 16);
	__builtin_memcpy(rec->span_id, c->ids.span_id, 8);
	__builtin_memcpy(rec->parent_span_id, c->ids.parent_span_id, 8);
	rec->start_ns = c->start_ns;
	rec->end_ns = end;
	rec->pid = pid;
	rec->trace_flags = c->ids.trace_flags;
	rec->rec_flags = (c->ids.has_parent ? DB_REC_HAS_PARENT : 0) | (failed ? DB_REC_ERROR : 0) |
			 (c->exec ? DB_REC_EXEC : 0);
	rec->system = c->system;
	rec->sampler_slot = (__u8)cookie_sampler(cookie);
	rec->query_len = c->query_len;
	rec->copied_len = c->copied_len;
	rec->pad[0] = 0;
	rec->pad[1] = 0;
	__builtin_memcpy(rec->query, c->query, DB_QUERY_MAX);
	bpf_ringbuf_submit(rec, bpf_ringbuf_query(&spans, BPF_RB_AVAIL_DATA) >=
					ringbuf_wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
							       BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("uprobe")
int db_query_end(struct pt_regs *ctx)
{
	return call_end(ctx, regs_of(ctx)->bx, 0);
}

SEC("uprobe")
int db_exec_end(struct pt_regs *ctx)
{
	return call_end(ctx, regs_of(ctx)->cx, 0);
}

SEC("uprobe")
int db_rows_ready(struct pt_regs *ctx)
{
	return call_end(ctx, 0, 1);
}

SEC("uprobe")
int db_released(struct pt_regs *ctx)
{
	return call_end(ctx, regs_of(ctx)->ax, 1);
}
