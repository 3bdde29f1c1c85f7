/* A record of bpf/db_client.bpf.c -> an OTLP CLIENT span with the database semantic
 * conventions: name "{db.operation.name} {target}", "{db.operation.name}", else
 * db.system.name, else "DB"; db.system.name (from the binary's driver module, when one
 * system's), db.operation.name (the query's first keyword), db.collection.name (the
 * table of an INSERT INTO, UPDATE or DELETE FROM), db.query.text only when asked for
 * (the copied prefix, at most query_text_max bytes: the text is the application's, its
 * literals included), error.type "_OTHER" and status error when the call returned an
 * error, process.pid. Every length is checked and every string made valid UTF-8.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_DB_SPAN_BUILDER_H
#define AUTOTRACE_AGENT_DB_SPAN_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/span.h"

struct db_span_opts {
	size_t query_text_max; /* 0: no db.query.text */
};

/* -EINVAL when size is not a database record's or a field is out of range. */
int db_span_builder_build(const void *data, size_t size, int64_t wall_minus_mono_ns,
			  const struct db_span_opts *opts, struct otlp_span *ret_span);

/* The sampler slot a record was made under (its config), or -EINVAL. */
int db_span_record_slot(const void *data, size_t size, uint32_t *ret_slot);

#endif
