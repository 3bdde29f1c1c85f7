/* Bytes that reach the database side of the agent from places it does not control:
 *  - a database ring-buffer record (bpf/db_client.bpf.c), whose query prefix was read
 *    from a traced process's memory, becomes a span or is refused; the span's strings lie
 *    within its arena, db.query.text appears only when asked for and never longer than
 *    asked (agent/db_span_builder.c);
 *  - query text -> operation name and table (agent/db_operation.c), whole or cut: the
 *    name is empty or upper-case letters, the table a plain identifier, both
 *    NUL-terminated within their buffers, and a prefix gives no name the whole text
 *    would not;
 *  - a RED key's bytes as the kernel cut them, into the labels of
 *    db_client_operation_duration_seconds (agent/db_red_metrics.c).
 * Inputs of a record's size are also taken as one record; longer ones give one from
 * their first bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/db_operation.h"
#include "agent/db_red_metrics.h"
#include "agent/db_span_builder.h"
#include "agent/prom_text.h"
#include "bpf/db_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_span(const struct otlp_span *s, size_t text_max)
{
	struct otlp_attrs_view v = otlp_span_attrs(s);

	if (s->name_len > OTLP_SPAN_NAME_MAX || s->text_used > OTLP_SPAN_TEXT_MAX ||
	    v.count > OTLP_SPAN_MAX_ATTRS)
		abort();
	for (size_t i = 0; i < v.count; i++) {
		const struct otlp_attr *a = &v.items[i];

		if ((size_t)a->key_off + a->key_len > s->text_used)
			abort();
		if (a->type == OTLP_VALUE_STRING && (size_t)a->str_off + a->str_len > s->text_used)
			abort();
		if (a->key_len == 13 && memcmp(v.text + a->key_off, "db.query.text", 13) == 0 &&
		    (!text_max || a->str_len > text_max * 3)) /* U+FFFD is 3 bytes a byte */
			abort();
	}
}

static void check_operation(const struct db_operation *op)
{
	size_t n = strnlen(op->name, sizeof(op->name)), t = strnlen(op->target, sizeof(op->target));

	if (n == sizeof(op->name) || t == sizeof(op->target))
		abort();
	for (size_t i = 0; i < n; i++)
		if (op->name[i] < 'A' || op->name[i] > 'Z')
			abort();
	for (size_t i = 0; i < t; i++) {
		char c = op->target[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.'))
			abort();
	}
	if (t && !n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otlp_span span;
	struct db_operation whole, cut;
	struct db_span_opts opts = { .query_text_max = size ? data[0] : 0 };

	if (db_span_builder_build(data, size, 0, &opts, &span) == 0)
		check_span(&span, opts.query_text_max);
	if (size >= sizeof(struct db_span_record) &&
	    db_span_builder_build(data, sizeof(struct db_span_record), 0, &opts, &span) == 0)
		check_span(&span, opts.query_text_max);

	db_operation_parse((const char *)data, size, 1, &whole);
	check_operation(&whole);
	db_operation_parse((const char *)data, size, 0, &cut);
	check_operation(&cut);
	/* A cut text names an operation only when the whole one names the same. */
	if (cut.name[0] && strcmp(cut.name, whole.name) != 0)
		abort();

	if (size >= 2) {
		struct db_red_metrics *m = NULL;
		struct prom_text out = { 0 };
		uint64_t buckets[DB_RED_BUCKETS] = { 1 };
		static const double bounds[DB_RED_BOUNDS] = { 0.001, 0.005, 0.01, 0.05, 0.1,
							      0.5,   1,     5,    10 };

		if (db_red_metrics_new(&m) == 0) {
			db_red_metrics_add(m, "sqlite", cut.name[0] ? cut.name : NULL, data[0] & 1,
					   buckets, DB_RED_BUCKETS, 1, 0.001);
			db_red_metrics_format(m, bounds, DB_RED_BOUNDS, &out);
			free(out.data);
			db_red_metrics_free(m);
		}
	}
	return 0;
}
