/* The database side of the agent in user space: an SQL query's operation and table
 * (agent/db_operation.c), db.system.name from the build info's driver modules
 * (agent/db_probes.c), a ring record into a span with the semantic conventions
 * (agent/db_span_builder.c), and the RED family summed by its labels
 * (agent/db_red_metrics.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/db_operation.h"
#include "agent/db_probes.h"
#include "agent/db_red_metrics.h"
#include "agent/db_span_builder.h"
#include "agent/go_buildinfo.h"
#include "bpf/db_client.h"

static void parse(const char *q, int whole, const char *name, const char *target)
{
	struct db_operation op;

	db_operation_parse(q, strlen(q), whole, &op);
	assert_string_equal(op.name, name);
	assert_string_equal(op.target, target);
}

static void operation_is_the_first_keyword_upper_cased(void **state)
{
	parse("SELECT count(*) FROM items", 1, "SELECT", "");
	parse("\n\t  select 1", 1, "SELECT", "");
	parse("insert into items (name) values (?)", 1, "INSERT", "items");
	parse("INSERT INTO shop.items VALUES (1)", 1, "INSERT", "shop.items");
	parse("UPDATE items SET a = 1", 1, "UPDATE", "items");
	parse("DELETE FROM t_1 WHERE id = 2", 1, "DELETE", "t_1");
	parse("BEGIN", 1, "BEGIN", "");
	parse("commit", 1, "COMMIT", "");
	/* Not a statement keyword, comments, nothing: no operation. */
	parse("FROBNICATE x", 1, "", "");
	parse("/* x */ SELECT 1", 1, "", "");
	parse("   ", 1, "", "");
	parse("", 1, "", "");
	parse("SELECTS 1", 1, "", "");
	/* Quoted or odd tables are not guessed at. */
	parse("INSERT INTO \"items\" VALUES (1)", 1, "INSERT", "");
	parse("DELETE items", 1, "DELETE", "");
}

static void a_cut_text_names_only_what_it_holds_whole(void **state)
{
	/* "COMMIT" may be the start of "COMMITTED...": a cut text does not say. */
	parse("COMMIT", 0, "", "");
	parse("UPDATE items", 0, "UPDATE", "");
	parse("UPDATE items ", 0, "UPDATE", "items");
	/* The kernel's RED keys: the first word, then zeros. */
	{
		char key[DB_OP_PREFIX] = "  INSERT";
		struct db_operation op;

		db_operation_parse(key, sizeof(key), 0, &op);
		assert_string_equal(op.name, "INSERT");
	}
}

static enum db_system system_of(const char *modinfo)
{
	struct go_buildinfo *info = NULL;
	enum db_system s;

	assert_int_equal(go_buildinfo_parse("go1.26.8", 8, modinfo, strlen(modinfo), &info), 0);
	s = db_probes_system(info);
	go_buildinfo_free(info);
	return s;
}

static void system_comes_from_the_driver_module(void **state)
{
	assert_int_equal(system_of("path\tx\nmod\tx\t(devel)\t\n"
				   "dep\tmodernc.org/sqlite\tv1.62.0\th1:a=\n"
				   "dep\tmodernc.org/libc\tv1.80.1\th1:b=\n"),
			 DB_SYSTEM_SQLITE);
	assert_int_equal(system_of("path\tx\nmod\tx\t(devel)\t\n"
				   "dep\tgithub.com/jackc/pgx/v5\tv5.7.0\th1:a=\n"),
			 DB_SYSTEM_POSTGRESQL);
	assert_int_equal(system_of("path\tx\nmod\tx\t(devel)\t\n"
				   "dep\tgithub.com/lib/pq\tv1.10.9\th1:a=\n"
				   "dep\tgithub.com/jackc/pgx/v4\tv4.18.0\th1:a=\n"),
			 DB_SYSTEM_POSTGRESQL);
	assert_int_equal(system_of("path\tx\nmod\tx\t(devel)\t\n"
				   "dep\tgithub.com/go-sql-driver/mysql\tv1.8.1\th1:a=\n"),
			 DB_SYSTEM_MYSQL);
	/* Two systems, none, or a look-alike: not known. */
	assert_int_equal(system_of("path\tx\nmod\tx\t(devel)\t\n"
				   "dep\tgithub.com/mattn/go-sqlite3\tv1.14.22\th1:a=\n"
				   "dep\tgithub.com/go-sql-driver/mysql\tv1.8.1\th1:a=\n"),
			 DB_SYSTEM_UNKNOWN);
	assert_int_equal(system_of("path\tx\nmod\tx\t(devel)\t\n"), DB_SYSTEM_UNKNOWN);
	assert_int_equal(system_of("path\tx\nmod\tx\t(devel)\t\n"
				   "dep\tgithub.com/jackc/pgxpool\tv1.0.0\th1:a=\n"),
			 DB_SYSTEM_UNKNOWN);
	assert_string_equal(db_system_name(DB_SYSTEM_SQLITE), "sqlite");
	assert_null(db_system_name(DB_SYSTEM_UNKNOWN));
	assert_null(db_system_name(99));
}

static struct db_span_record record(const char *q, uint8_t flags, uint8_t system)
{
	struct db_span_record r;
	size_t n = strlen(q);

	memset(&r, 0, sizeof(r));
	memset(r.trace_id, 0xab, 16);
	memset(r.span_id, 0xcd, 8);
	memset(r.parent_span_id, 0xef, 8);
	r.start_ns = 1000;
	r.end_ns = 3000;
	r.pid = 42;
	r.trace_flags = 1;
	r.rec_flags = flags;
	r.system = system;
	r.query_len = (uint32_t)n;
	r.copied_len = (uint16_t)(n < DB_QUERY_MAX ? n : DB_QUERY_MAX);
	memcpy(r.query, q, r.copied_len);
	return r;
}

static const char *attr(const struct otlp_span *s, const char *key, char *buf, size_t size)
{
	const struct otlp_attr *a = otlp_span_find_attr(s, key);

	if (!a)
		return NULL;
	snprintf(buf, size, "%.*s", a->str_len, s->text + a->str_off);
	return buf;
}

static void a_record_becomes_a_client_span(void **state)
{
	struct db_span_record r = record("INSERT INTO items (name) VALUES (?)",
					 DB_REC_HAS_PARENT | DB_REC_EXEC, DB_SYSTEM_SQLITE);
	struct otlp_span s;
	char buf[600];

	assert_int_equal(db_span_builder_build(&r, sizeof(r), 5, NULL, &s), 0);
	assert_int_equal(s.kind, OTLP_SPAN_KIND_CLIENT);
	assert_int_equal(s.name_len, strlen("INSERT items"));
	assert_memory_equal(s.name, "INSERT items", s.name_len);
	assert_int_equal(s.start_unix_nano, 1005);
	assert_int_equal(s.parent_span_id[0], 0xef);
	assert_string_equal(attr(&s, "db.system.name", buf, sizeof(buf)), "sqlite");
	assert_string_equal(attr(&s, "db.operation.name", buf, sizeof(buf)), "INSERT");
	assert_string_equal(attr(&s, "db.collection.name", buf, sizeof(buf)), "items");
	assert_null(otlp_span_find_attr(&s, "db.query.text"));
	assert_null(otlp_span_find_attr(&s, "error.type"));
	assert_int_equal(s.status_code, OTLP_STATUS_UNSET);
	assert_int_equal(otlp_span_find_attr(&s, "process.pid")->v.i, 42);
}

static void query_text_only_when_asked_and_bounded(void **state)
{
	struct db_span_record r = record("SELECT 1", 0, DB_SYSTEM_UNKNOWN);
	struct db_span_opts on = { .query_text_max = DB_QUERY_MAX }, short_max = { 4 };
	struct otlp_span s;
	char buf[600];

	assert_int_equal(db_span_builder_build(&r, sizeof(r), 0, &on, &s), 0);
	assert_string_equal(attr(&s, "db.query.text", buf, sizeof(buf)), "SELECT 1");
	/* No system known: none said, and no parent: a root. */
	assert_null(otlp_span_find_attr(&s, "db.system.name"));
	assert_true(otlp_span_is_root(&s));
	assert_int_equal(db_span_builder_build(&r, sizeof(r), 0, &short_max, &s), 0);
	assert_string_equal(attr(&s, "db.query.text", buf, sizeof(buf)), "SELE");
}

static void an_error_and_an_unknown_operation(void **state)
{
	struct db_span_record r = record("FROB", DB_REC_ERROR, DB_SYSTEM_MYSQL);
	struct otlp_span s;
	char buf[64];

	assert_int_equal(db_span_builder_build(&r, sizeof(r), 0, NULL, &s), 0);
	/* Neither operation nor table: the system names it. */
	assert_memory_equal(s.name, "mysql", 5);
	assert_null(otlp_span_find_attr(&s, "db.operation.name"));
	assert_string_equal(attr(&s, "error.type", buf, sizeof(buf)), "_OTHER");
	assert_int_equal(s.status_code, OTLP_STATUS_ERROR);
	r.system = DB_SYSTEM_UNKNOWN;
	assert_int_equal(db_span_builder_build(&r, sizeof(r), 0, NULL, &s), 0);
	assert_memory_equal(s.name, "DB", 2);
}

static void bad_records_are_refused(void **state)
{
	struct db_span_record r = record("SELECT 1", 0, DB_SYSTEM_SQLITE);
	struct otlp_span s;
	uint32_t slot;

	assert_int_equal(db_span_builder_build(&r, sizeof(r) - 1, 0, NULL, &s), -EINVAL);
	r.copied_len = DB_QUERY_MAX + 1;
	assert_int_equal(db_span_builder_build(&r, sizeof(r), 0, NULL, &s), -EINVAL);
	r = record("SELECT 1", 0, DB_SYSTEM_COUNT);
	assert_int_equal(db_span_builder_build(&r, sizeof(r), 0, NULL, &s), -EINVAL);
	r = record("SELECT 1", 0, DB_SYSTEM_SQLITE);
	r.copied_len = 9; /* more than the query has */
	assert_int_equal(db_span_builder_build(&r, sizeof(r), 0, NULL, &s), -EINVAL);
	r = record("SELECT 1", 0, DB_SYSTEM_SQLITE);
	r.end_ns = 1;
	assert_int_equal(db_span_builder_build(&r, sizeof(r), 0, NULL, &s), -EINVAL);
	r.sampler_slot = 7;
	assert_int_equal(db_span_record_slot(&r, sizeof(r), &slot), 0);
	assert_int_equal(slot, 7);
	assert_int_equal(db_span_record_slot(&r, 3, &slot), -EINVAL);
}

static void red_series_are_summed_by_their_labels(void **state)
{
	static const double bounds[DB_RED_BOUNDS] = { 0.001, 0.005, 0.01, 0.05, 0.1,
						      0.5,   1,     5,    10 };
	uint64_t b[DB_RED_BUCKETS] = { 2, 1 };
	struct db_red_metrics *m = NULL;
	struct prom_text out = { 0 };

	assert_int_equal(db_red_metrics_new(&m), 0);
	/* "select" and "SELECT" are two kernel series and one label set. */
	assert_int_equal(db_red_metrics_add(m, "sqlite", "SELECT", 0, b, DB_RED_BUCKETS, 3, 0.002), 0);
	assert_int_equal(db_red_metrics_add(m, "sqlite", "SELECT", 0, b, DB_RED_BUCKETS, 3, 0.002), 0);
	assert_int_equal(db_red_metrics_add(m, "sqlite", "SELECT", 1, b, DB_RED_BUCKETS, 3, 0.002), 0);
	assert_int_equal(db_red_metrics_add(m, NULL, NULL, 0, b, DB_RED_BUCKETS, 3, 0.002), 0);
	assert_int_equal(db_red_metrics_add(m, NULL, NULL, 0, b, 17, 3, 0.002), -EINVAL);
	assert_int_equal(db_red_metrics_format(m, bounds, DB_RED_BOUNDS, &out), 0);
	assert_non_null(strstr(out.data, "# TYPE db_client_operation_duration_seconds histogram\n"));
	assert_non_null(strstr(out.data, "db_client_operation_duration_seconds_count{db_system_name="
					 "\"sqlite\",db_operation_name=\"SELECT\"} 6\n"));
	assert_non_null(strstr(out.data, "db_client_operation_duration_seconds_bucket{db_system_name="
					 "\"sqlite\",db_operation_name=\"SELECT\",le=\"0.001\"} 4\n"));
	assert_non_null(strstr(out.data, "db_client_operation_duration_seconds_count{db_system_name="
					 "\"sqlite\",db_operation_name=\"SELECT\",error_type=\"_OTHER\"} 3\n"));
	assert_non_null(strstr(out.data, "db_client_operation_duration_seconds_count 3\n"));
	free(out.data);
	db_red_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(operation_is_the_first_keyword_upper_cased),
		cmocka_unit_test(a_cut_text_names_only_what_it_holds_whole),
		cmocka_unit_test(system_comes_from_the_driver_module),
		cmocka_unit_test(a_record_becomes_a_client_span),
		cmocka_unit_test(query_text_only_when_asked_and_bounded),
		cmocka_unit_test(an_error_and_an_unknown_operation),
		cmocka_unit_test(bad_records_are_refused),
		cmocka_unit_test(red_series_are_summed_by_their_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
