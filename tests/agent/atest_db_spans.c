/* database/sql client spans of a real Go service (tests/fixtures/go/dbsvc: SQLite through
 * modernc.org/sqlite), checked on what the real OTLP receiver got: each query and exec a
 * handler makes is a CLIENT span under the handler's server span (on its goroutine, or
 * through the request's context from another goroutine, or inside a transaction), with
 * db.system.name, db.operation.name and the span name of the semantic conventions;
 * db.query.text only when turned on, truncated; an error query is an error span; every
 * call is counted in the RED series; the same through prepared statements (*sql.Stmt:
 * a query and an exec, an error, a context on another goroutine, a transaction's
 * statement, the text on and off, a driver that has database/sql prepare every query);
 * turning the families off and on detaches and attaches their probes live; and two
 * processes in two sampler slots (a node agent's two Instrumentations) each follow
 * their own slot's families and query-text setting. */
#include <curl/curl.h>
#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/db_probes.h"
#include "agent/go_binary.h"
#include "agent/probe_points.h"
#include "agent/process_scan.h"
#include "agent/tracer.h"
#include "bpf/db_client.h"
#include "tests/support/go_fixtures.h"
#include "tests/support/agent_tests_main.h"
#include "tests/support/traced_service.h"
#include "tests/support/tracer_harness.h"

/* Built by mk/fixtures.mk with the local toolchain. */
#define DBSVC_FIXTURE_GLOB "build/fixtures/dbsvc-go*"
#define KIND_SERVER 2
#define KIND_CLIENT 3

struct dbw {
	struct traced_service *svc;
	struct tracer_harness *h;
};

static int dbsvc_fixture(char *path, size_t size)
{
	return go_fixture_find(DBSVC_FIXTURE_GLOB, path, size);
}

static int setup(void **state)
{
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct dbw *w = calloc(1, sizeof(*w));
	char fixture[256];
	int r;

	if (!w)
		return -1;
	*state = w;
	r = dbsvc_fixture(fixture, sizeof(fixture));
	if (r == 0)
		r = traced_service_start(fixture, &w->svc);
	if (r == 0)
		r = tracer_harness_start(&on, traced_service_binary(w->svc), &w->h);
	if (r == 0)
		r = tracer_scan(w->h->tracer);
	if (r) {
		print_error("setup: %s\n", strerror(-r));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct dbw *w = *state;

	if (!w)
		return 0;
	tracer_harness_free(w->h);
	traced_service_free(w->svc);
	free(w);
	return 0;
}

static const char *str(json_t *span, const char *key)
{
	return json_string_value(json_object_get(span, key));
}

static long long kind(json_t *span)
{
	return json_integer_value(json_object_get(span, "kind"));
}

static long long status_code(json_t *span)
{
	return json_integer_value(json_object_get(span, "status_code"));
}

/* The first span of kind k named name (NULL: any) whose parent is parent (NULL: any). */
static json_t *find(json_t *spans, long long k, const char *name, const char *parent)
{
	size_t i;
	json_t *span;

	json_array_foreach(spans, i, span) {
		if (kind(span) != k || (name && strcmp(str(span, "name"), name) != 0))
			continue;
		if (parent && strcmp(str(span, "parent_span_id"), parent) != 0)
			continue;
		return span;
	}
	return NULL;
}

static json_t *server_span(json_t *spans, const char *path)
{
	size_t i;
	json_t *span;

	json_array_foreach(spans, i, span) {
		const char *p = span_attr_string(span, "url.path");

		if (kind(span) == KIND_SERVER && p && strcmp(p, path) == 0)
			return span;
	}
	return NULL;
}

static void get(struct dbw *w, const char *path, long want)
{
	long status = 0;

	assert_int_equal(traced_service_get(w->svc, path, NULL, &status), 0);
	assert_int_equal(status, want);
}

static void set_probes(struct dbw *w, int http_client, int database_sql, int query_text)
{
	struct tracer_probes p;

	tracer_probes_default(&p);
	p.http_client = http_client;
	p.database_sql = database_sql;
	p.db_query_text = query_text;
	assert_int_equal(tracer_set_probes(w->h->tracer, 0, &p), 0);
	assert_int_equal(tracer_scan(w->h->tracer), 0);
}

/* GET path, whose handler runs a SELECT and an INSERT into items: both are children of
 * its server span, in its trace, with the database attributes and, by default, no
 * query text; neither is an error. */
static void assert_select_and_insert_under(struct dbw *w, const char *path)
{
	json_t *spans, *srv, *sel, *ins;

	get(w, path, 200);
	assert_int_equal(tracer_harness_collect(w->h, 3, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 3);
	srv = server_span(spans, path);
	assert_non_null(srv);
	sel = find(spans, KIND_CLIENT, "SELECT", str(srv, "span_id"));
	ins = find(spans, KIND_CLIENT, "INSERT items", str(srv, "span_id"));
	assert_non_null(sel);
	assert_non_null(ins);
	assert_string_equal(str(sel, "trace_id"), str(srv, "trace_id"));
	assert_string_equal(str(ins, "trace_id"), str(srv, "trace_id"));
	assert_string_equal(span_attr_string(sel, "db.system.name"), "sqlite");
	assert_string_equal(span_attr_string(sel, "db.operation.name"), "SELECT");
	assert_string_equal(span_attr_string(ins, "db.system.name"), "sqlite");
	assert_string_equal(span_attr_string(ins, "db.operation.name"), "INSERT");
	assert_string_equal(span_attr_string(ins, "db.collection.name"), "items");
	/* The text only when the config asks for it. */
	assert_null(span_attr_string(sel, "db.query.text"));
	assert_null(span_attr_string(ins, "db.query.text"));
	assert_int_not_equal(status_code(sel), 2);
	assert_int_not_equal(status_code(ins), 2);
	assert_null(span_attr_string(sel, "error.type"));
	assert_null(span_attr_string(ins, "error.type"));
	json_decref(spans);
}

static void a_select_and_an_insert_are_children_of_the_request(void **state)
{
	assert_select_and_insert_under(*state, "/db");
}

static void query_text_is_there_when_turned_on_and_truncated(void **state)
{
	struct dbw *w = *state;
	json_t *spans, *sel, *ins;
	const char *text;

	set_probes(w, 1, 1, 1);
	get(w, "/db", 200);
	get(w, "/db-long", 200);
	assert_int_equal(tracer_harness_collect(w->h, 5, 5000, 200, &spans), 0);
	sel = find(spans, KIND_CLIENT, "SELECT", NULL);
	assert_non_null(sel);
	assert_string_equal(span_attr_string(sel, "db.query.text"),
			    "SELECT count(*) FROM items WHERE id = ?");
	ins = find(spans, KIND_CLIENT, "INSERT items",
		   str(server_span(spans, "/db-long"), "span_id"));
	assert_non_null(ins);
	text = span_attr_string(ins, "db.query.text");
	assert_non_null(text);
	/* The query is 637 bytes: its first DB_QUERY_MAX went out. */
	assert_int_equal(strlen(text), DB_QUERY_MAX);
	assert_int_equal(strncmp(text, "INSERT INTO items (name) VALUES ('aaaa", 38), 0);
	json_decref(spans);
	/* Off again: the next spans carry none. */
	set_probes(w, 1, 1, 0);
	get(w, "/db", 200);
	assert_int_equal(tracer_harness_collect(w->h, 8, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 8);
	{
		size_t i, with_text = 0;
		json_t *s;

		json_array_foreach(spans, i, s)
			with_text += span_attr_string(s, "db.query.text") != NULL;
		assert_int_equal(with_text, 3); /* the two of /db and the one of /db-long before */
	}
	json_decref(spans);
}

static void an_error_query_is_an_error_span(void **state)
{
	struct dbw *w = *state;
	json_t *spans, *srv, *sel;
	struct tracer_stats st;

	get(w, "/db-err", 500);
	assert_int_equal(tracer_harness_collect(w->h, 2, 5000, 200, &spans), 0);
	srv = server_span(spans, "/db-err");
	assert_non_null(srv);
	sel = find(spans, KIND_CLIENT, "SELECT", str(srv, "span_id"));
	assert_non_null(sel);
	assert_int_equal(status_code(sel), 2);
	assert_string_equal(span_attr_string(sel, "error.type"), "_OTHER");
	tracer_get_stats(w->h->tracer, &st);
	assert_true(st.db_errors >= 1);
	json_decref(spans);
}

static void a_query_on_another_goroutine_is_linked_through_the_context(void **state)
{
	struct dbw *w = *state;
	json_t *spans, *srv, *sel;
	struct tracer_stats st;

	get(w, "/db-ctx", 200);
	assert_int_equal(tracer_harness_collect(w->h, 2, 5000, 200, &spans), 0);
	srv = server_span(spans, "/db-ctx");
	assert_non_null(srv);
	/* "select count(*) from items": the keyword as the conventions write it. */
	sel = find(spans, KIND_CLIENT, "SELECT", str(srv, "span_id"));
	assert_non_null(sel);
	assert_string_equal(str(sel, "trace_id"), str(srv, "trace_id"));
	tracer_get_stats(w->h->tracer, &st);
	assert_true(st.db_parent_context >= 1);
	json_decref(spans);
}

static void an_exec_in_a_transaction_is_a_child_too(void **state)
{
	struct dbw *w = *state;
	json_t *spans, *srv, *upd;

	get(w, "/db-tx", 200);
	assert_int_equal(tracer_harness_collect(w->h, 2, 5000, 200, &spans), 0);
	srv = server_span(spans, "/db-tx");
	assert_non_null(srv);
	upd = find(spans, KIND_CLIENT, "UPDATE items", str(srv, "span_id"));
	assert_non_null(upd);
	assert_string_equal(span_attr_string(upd, "db.operation.name"), "UPDATE");
	json_decref(spans);
}

/* ---- the same through prepared statements (dbsvc's /stmt*) ---- */

static void statements_are_probed_at_emulated_instructions(void **state)
{
	struct go_binary *b = NULL;
	struct db_probe_plan plan;
	const struct db_stmt_fn *fns[2];
	char fixture[256];

	(void)state;
	assert_int_equal(dbsvc_fixture(fixture, sizeof(fixture)), 0);
	assert_int_equal(go_binary_open(fixture, NULL, &b), 0);
	assert_int_equal(db_probes_plan(b, &plan), 0);
	assert_true(plan.release_ends);
	fns[0] = &plan.stmt_query;
	fns[1] = &plan.stmt_exec;
	for (size_t i = 0; i < 2; i++) {
		assert_true(fns[i]->present);
		assert_int_equal(fns[i]->enter.kind, PROBE_AT_STACK_CHECK_JUMP);
		assert_int_equal(fns[i]->enter.cost, INSN_EMULATED);
		assert_int_equal(fns[i]->start.kind, PROBE_AT_STACK_CHECK_JUMP);
		assert_int_equal(fns[i]->start.cost, INSN_EMULATED);
	}
	assert_int_equal(plan.binary.stmts, 1);
	/* Stmt{db *DB; query string; ...} from Go 1.22 to 1.27. */
	assert_int_equal(plan.binary.stmt_query, 8);
	go_binary_free(b);
}

static void a_prepared_query_and_exec_are_children_of_the_request(void **state)
{
	struct dbw *w = *state;
	struct tracer_stats st;

	assert_select_and_insert_under(w, "/stmt");
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.db_calls, 2);
	assert_int_equal(st.db_parent_goroutine, 2);
	assert_int_equal(st.db_missing_start, 0);
}

static void a_statement_has_its_text_when_turned_on(void **state)
{
	struct dbw *w = *state;
	json_t *spans, *srv, *sel, *ins;

	set_probes(w, 1, 1, 1);
	get(w, "/stmt", 200);
	assert_int_equal(tracer_harness_collect(w->h, 3, 5000, 200, &spans), 0);
	sel = find(spans, KIND_CLIENT, "SELECT", NULL);
	ins = find(spans, KIND_CLIENT, "INSERT items", NULL);
	assert_non_null(sel);
	assert_non_null(ins);
	assert_string_equal(span_attr_string(sel, "db.query.text"),
			    "SELECT count(*) FROM items WHERE id = ?");
	assert_string_equal(span_attr_string(ins, "db.query.text"),
			    "INSERT INTO items (name) VALUES (?)");
	json_decref(spans);
	set_probes(w, 1, 1, 0);
	get(w, "/stmt", 200);
	assert_int_equal(tracer_harness_collect(w->h, 6, 5000, 200, &spans), 0);
	srv = server_span(spans, "/stmt");
	assert_non_null(srv);
	{
		size_t i, with_text = 0, clients = 0;
		json_t *s;

		json_array_foreach(spans, i, s) {
			clients += kind(s) == KIND_CLIENT;
			with_text += span_attr_string(s, "db.query.text") != NULL;
		}
		assert_int_equal(clients, 4);
		assert_int_equal(with_text, 2); /* the first request's two only */
	}
	json_decref(spans);
}

static void an_error_through_a_statement_is_an_error_span(void **state)
{
	struct dbw *w = *state;
	json_t *spans, *srv, *ins;
	struct tracer_stats st;

	get(w, "/stmt-err", 500);
	assert_int_equal(tracer_harness_collect(w->h, 2, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 2);
	srv = server_span(spans, "/stmt-err");
	assert_non_null(srv);
	ins = find(spans, KIND_CLIENT, "INSERT counts", str(srv, "span_id"));
	assert_non_null(ins);
	assert_string_equal(span_attr_string(ins, "db.operation.name"), "INSERT");
	assert_string_equal(span_attr_string(ins, "db.collection.name"), "counts");
	assert_int_equal(status_code(ins), 2);
	assert_string_equal(span_attr_string(ins, "error.type"), "_OTHER");
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.db_errors, 1);
	json_decref(spans);
}

static void a_statement_on_another_goroutine_is_linked_through_the_context(void **state)
{
	struct dbw *w = *state;
	json_t *spans, *srv, *sel;
	struct tracer_stats st;

	get(w, "/stmt-ctx", 200);
	assert_int_equal(tracer_harness_collect(w->h, 2, 5000, 200, &spans), 0);
	srv = server_span(spans, "/stmt-ctx");
	assert_non_null(srv);
	sel = find(spans, KIND_CLIENT, "SELECT", str(srv, "span_id"));
	assert_non_null(sel);
	assert_string_equal(str(sel, "trace_id"), str(srv, "trace_id"));
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.db_parent_context, 1);
	assert_int_equal(st.db_parent_goroutine, 0);
	json_decref(spans);
}

static void a_transactions_statement_is_a_child_too(void **state)
{
	struct dbw *w = *state;
	json_t *spans, *srv, *upd;

	get(w, "/stmt-tx", 200);
	assert_int_equal(tracer_harness_collect(w->h, 2, 5000, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 2);
	srv = server_span(spans, "/stmt-tx");
	assert_non_null(srv);
	upd = find(spans, KIND_CLIENT, "UPDATE items", str(srv, "span_id"));
	assert_non_null(upd);
	assert_string_equal(span_attr_string(upd, "db.operation.name"), "UPDATE");
	assert_int_not_equal(status_code(upd), 2);
	json_decref(spans);
}

/* A driver that only prepares: queryDC and execDC run the statement functions
 * themselves, right after a Stmt's call on the same goroutine; each call is one span
 * with its own text. */
static void a_query_the_driver_has_prepared_is_one_span(void **state)
{
	struct dbw *w = *state;
	json_t *spans, *srv, *s;
	struct tracer_stats st;
	size_t i, stmt_sel = 0, prep_sel = 0, prep_ins = 0, clients = 0;

	set_probes(w, 1, 1, 1);
	get(w, "/prep", 200);
	assert_int_equal(tracer_harness_collect(w->h, 4, 5000, 300, &spans), 0);
	assert_int_equal(json_array_size(spans), 4);
	srv = server_span(spans, "/prep");
	assert_non_null(srv);
	json_array_foreach(spans, i, s) {
		const char *text = span_attr_string(s, "db.query.text");

		if (kind(s) != KIND_CLIENT)
			continue;
		clients++;
		assert_string_equal(str(s, "parent_span_id"), str(srv, "span_id"));
		assert_non_null(text);
		stmt_sel += strcmp(text, "SELECT count(*) FROM items WHERE id = ?") == 0;
		prep_sel += strcmp(text, "SELECT count(*) FROM things WHERE id > ?") == 0;
		prep_ins += strcmp(text, "INSERT INTO things (name) VALUES (?)") == 0 &&
			    strcmp(str(s, "name"), "INSERT things") == 0;
	}
	assert_int_equal(clients, 3);
	assert_int_equal(stmt_sel, 1);
	assert_int_equal(prep_sel, 1);
	assert_int_equal(prep_ins, 1);
	tracer_get_stats(w->h->tracer, &st);
	assert_int_equal(st.db_calls, 3);
	assert_int_equal(st.db_missing_start, 0);
	json_decref(spans);
}

struct red_sum {
	uint64_t select_ok, insert_ok, select_err, insert_err, other;
};

static void red_one(void *ud, const char *system, const char *operation, int failed,
		    const uint64_t *buckets, uint64_t count, double sum)
{
	struct red_sum *r = ud;
	uint64_t in_buckets = 0;

	for (size_t i = 0; i < tracer_db_duration_bucket_count; i++)
		in_buckets += buckets[i];
	assert_int_equal(in_buckets, count);
	assert_true(sum >= 0);
	if (!system || strcmp(system, "sqlite") != 0 || !operation)
		r->other += count;
	else if (strcmp(operation, "SELECT") == 0 && !failed)
		r->select_ok += count;
	else if (strcmp(operation, "INSERT") == 0 && !failed)
		r->insert_ok += count;
	else if (strcmp(operation, "SELECT") == 0 && failed)
		r->select_err += count;
	else if (strcmp(operation, "INSERT") == 0 && failed)
		r->insert_err += count;
	else
		r->other += count;
}

static void every_call_is_counted_sampled_or_not(void **state)
{
	struct dbw *w = *state;
	struct tracer_sampler off = { .type = TRACER_SAMPLER_ALWAYS_OFF };
	struct red_sum r = { 0 };
	json_t *spans;

	assert_int_equal(tracer_set_sampler(w->h->tracer, &off), 0);
	for (int i = 0; i < 20; i++)
		get(w, "/db", 200);
	for (int i = 0; i < 3; i++)
		get(w, "/db-err", 500);
	assert_int_equal(tracer_harness_collect(w->h, 0, 200, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 0);
	json_decref(spans);
	assert_int_equal(tracer_db_red_foreach(w->h->tracer, red_one, &r), 0);
	print_message("# RED: SELECT %llu, INSERT %llu, SELECT errors %llu, other %llu\n",
		      (unsigned long long)r.select_ok, (unsigned long long)r.insert_ok,
		      (unsigned long long)r.select_err, (unsigned long long)r.other);
	assert_int_equal(r.select_ok, 20);
	assert_int_equal(r.insert_ok, 20);
	assert_int_equal(r.select_err, 3);
	assert_int_equal(r.insert_err, 0);
	assert_int_equal(r.other, 0);
}

static void every_statement_is_counted_sampled_or_not(void **state)
{
	struct dbw *w = *state;
	struct tracer_sampler off = { .type = TRACER_SAMPLER_ALWAYS_OFF };
	struct red_sum r = { 0 };
	json_t *spans;

	assert_int_equal(tracer_set_sampler(w->h->tracer, &off), 0);
	for (int i = 0; i < 20; i++)
		get(w, "/stmt", 200);
	for (int i = 0; i < 3; i++)
		get(w, "/stmt-err", 500);
	assert_int_equal(tracer_harness_collect(w->h, 0, 200, 200, &spans), 0);
	assert_int_equal(json_array_size(spans), 0);
	json_decref(spans);
	assert_int_equal(tracer_db_red_foreach(w->h->tracer, red_one, &r), 0);
	print_message("# RED through statements: SELECT %llu, INSERT %llu, INSERT errors %llu, "
		      "other %llu\n",
		      (unsigned long long)r.select_ok, (unsigned long long)r.insert_ok,
		      (unsigned long long)r.insert_err, (unsigned long long)r.other);
	assert_int_equal(r.select_ok, 20);
	assert_int_equal(r.insert_ok, 20);
	assert_int_equal(r.insert_err, 3);
	assert_int_equal(r.select_err, 0);
	assert_int_equal(r.other, 0);
}

static void families_turned_off_are_detached_and_come_back(void **state)
{
	struct dbw *w = *state;
	struct tracer_stats before, off, again;
	json_t *spans;
	size_t clients = 0, i;
	json_t *s;

	tracer_get_stats(w->h->tracer, &before);
	/* Off: no HTTP client and no database spans, and their probes are gone. */
	set_probes(w, 0, 0, 0);
	tracer_get_stats(w->h->tracer, &off);
	print_message("# probes attached: %llu with every family, %llu with the server's only\n",
		      (unsigned long long)before.probes_attached,
		      (unsigned long long)off.probes_attached);
	assert_int_equal(off.processes, 1);
	/* The server's: HTTP/1's two, and its HTTP/2 server's (net/http bundles one). */
	assert_true(off.probes_attached >= 2 && off.probes_attached < before.probes_attached);
	get(w, "/call", 200);
	get(w, "/db", 200);
	assert_int_equal(tracer_harness_collect(w->h, 3, 5000, 300, &spans), 0);
	json_array_foreach(spans, i, s)
		clients += kind(s) == KIND_CLIENT;
	/* /call, /hello (the call's target) and /db: server spans only. */
	assert_int_equal(json_array_size(spans), 3);
	assert_int_equal(clients, 0);
	json_decref(spans);
	/* On again: the same process, its client spans back. */
	set_probes(w, 1, 1, 0);
	tracer_get_stats(w->h->tracer, &again);
	assert_int_equal(again.probes_attached, before.probes_attached);
	get(w, "/call", 200);
	get(w, "/db", 200);
	assert_int_equal(tracer_harness_collect(w->h, 3 + 6, 5000, 300, &spans), 0);
	clients = 0;
	json_array_foreach(spans, i, s)
		clients += kind(s) == KIND_CLIENT;
	assert_int_equal(clients, 3); /* the GET of /call, the SELECT and the INSERT of /db */
	json_decref(spans);
}

/* ---- a node agent's view: two processes, two Instrumentations' sampler slots ---- */

struct two {
	struct traced_service *a, *b;
	struct tracer *t;
	/* Spans seen per process (0: a, 1: b): server, database, database with text. */
	unsigned server[2], db[2], db_text[2];
};

static int two_select(void *ud, const struct process_info *p, struct tracer_selection *ret)
{
	struct two *w = ud;

	if (p->pid != traced_service_pid(w->a) && p->pid != traced_service_pid(w->b))
		return 0;
	ret->sampler_slot = p->pid == traced_service_pid(w->a) ? 1 : 2;
	ret->span_tag = ret->sampler_slot;
	return 1;
}

static int two_on_span(void *ud, const struct otlp_span *span)
{
	struct two *w = ud;
	const struct otlp_attr *pid = otlp_span_find_attr(span, "process.pid");
	int i;

	if (!pid)
		return 0;
	i = pid->v.i == traced_service_pid(w->a) ? 0 : 1;
	if (span->kind == OTLP_SPAN_KIND_SERVER)
		w->server[i]++;
	if (otlp_span_find_attr(span, "db.operation.name")) {
		w->db[i]++;
		w->db_text[i] += otlp_span_find_attr(span, "db.query.text") != NULL;
	}
	return 0;
}

static void two_get(struct two *w, struct traced_service *svc, int n)
{
	for (int i = 0; i < n; i++) {
		long status = 0;

		assert_int_equal(traced_service_get(svc, "/db", NULL, &status), 0);
		assert_int_equal(status, 200);
	}
	for (int i = 0; i < 50; i++) { /* up to 500 ms for the ring */
		tracer_poll(w->t);
		usleep(10000);
	}
}

static void each_slot_has_its_own_families_and_query_text(void **state)
{
	struct two w = { 0 };
	struct tracer_sampler on = { .type = TRACER_SAMPLER_ALWAYS_ON };
	struct tracer_opts o = { .sampler = on, .select = two_select, .on_span = two_on_span,
				 .ud = &w };
	struct tracer_probes all, no_db;
	char fixture[256];

	(void)state;
	assert_int_equal(dbsvc_fixture(fixture, sizeof(fixture)), 0);
	assert_int_equal(traced_service_start(fixture, &w.a), 0);
	assert_int_equal(traced_service_start(fixture, &w.b), 0);
	assert_int_equal(tracer_new(&o, &w.t), 0);
	tracer_probes_default(&all);
	all.db_query_text = 1;
	no_db = all;
	no_db.database_sql = 0;
	assert_int_equal(tracer_set_sampler_slot(w.t, 1, &on), 0);
	assert_int_equal(tracer_set_sampler_slot(w.t, 2, &on), 0);
	assert_int_equal(tracer_set_probes(w.t, 1, &all), 0);
	assert_int_equal(tracer_set_probes(w.t, 2, &no_db), 0);
	assert_int_equal(tracer_scan(w.t), 0);
	two_get(&w, w.a, 3);
	two_get(&w, w.b, 3);
	/* a: its database spans, with text; b: server spans only. */
	assert_int_equal(w.server[0], 3);
	assert_int_equal(w.db[0], 6);
	assert_int_equal(w.db_text[0], 6);
	assert_int_equal(w.server[1], 3);
	assert_int_equal(w.db[1], 0);
	/* b's Instrumentation turns them on, without text: b only changes. */
	no_db.database_sql = 1;
	no_db.db_query_text = 0;
	assert_int_equal(tracer_set_probes(w.t, 2, &no_db), 0);
	assert_int_equal(tracer_scan(w.t), 0);
	two_get(&w, w.b, 3);
	two_get(&w, w.a, 1);
	assert_int_equal(w.db[1], 6);
	assert_int_equal(w.db_text[1], 0);
	assert_int_equal(w.db[0], 8);
	assert_int_equal(w.db_text[0], 8);
	tracer_free(w.t);
	traced_service_free(w.a);
	traced_service_free(w.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_select_and_an_insert_are_children_of_the_request, setup, teardown),
		cmocka_unit_test_setup_teardown(query_text_is_there_when_turned_on_and_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(an_error_query_is_an_error_span, setup, teardown),
		cmocka_unit_test_setup_teardown(a_query_on_another_goroutine_is_linked_through_the_context, setup, teardown),
		cmocka_unit_test_setup_teardown(an_exec_in_a_transaction_is_a_child_too, setup, teardown),
		cmocka_unit_test(statements_are_probed_at_emulated_instructions),
		cmocka_unit_test_setup_teardown(a_prepared_query_and_exec_are_children_of_the_request, setup, teardown),
		cmocka_unit_test_setup_teardown(a_statement_has_its_text_when_turned_on, setup, teardown),
		cmocka_unit_test_setup_teardown(an_error_through_a_statement_is_an_error_span, setup, teardown),
		cmocka_unit_test_setup_teardown(a_statement_on_another_goroutine_is_linked_through_the_context, setup, teardown),
		cmocka_unit_test_setup_teardown(a_transactions_statement_is_a_child_too, setup, teardown),
		cmocka_unit_test_setup_teardown(a_query_the_driver_has_prepared_is_one_span, setup, teardown),
		cmocka_unit_test_setup_teardown(every_call_is_counted_sampled_or_not, setup, teardown),
		cmocka_unit_test_setup_teardown(every_statement_is_counted_sampled_or_not, setup, teardown),
		cmocka_unit_test_setup_teardown(families_turned_off_are_detached_and_come_back, setup, teardown),
		cmocka_unit_test(each_slot_has_its_own_families_and_query_text),
	};

	return AGENT_TESTS_RUN(tests);
}
