/* The tracer's database/sql side: each traceable binary's settings in the kernel, the
 * probes of a process, a record made into a span under its config's query-text
 * setting, and the RED series read for /metrics. */
#include <errno.h>
#include <string.h>

#include "agent/db_loader.h"
#include "agent/db_operation.h"
#include "agent/db_span_builder.h"
#include "agent/probe_loader.h"
#include "agent/tracer_state.h"
#include "lib/log/log.h"

#define COMPONENT "tracer"

_Static_assert(TRACER_DB_RECORD_SIZE == sizeof(struct db_span_record), "db record size");
_Static_assert(sizeof(struct db_span_record) != sizeof(struct hs_span_record) &&
		       sizeof(struct db_span_record) != sizeof(struct hc_span_record),
	       "records are told apart by size");
_Static_assert(offsetof(struct db_span_record, pid) == offsetof(struct hs_span_record, pid),
	       "the pid sits where the server record has it");

const double tracer_db_duration_bounds_seconds[DB_RED_BOUNDS] = {
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
};
const size_t tracer_db_duration_bucket_count = DB_RED_BUCKETS;

void tracer_set_db_binary(struct tracer *t, struct binary *b)
{
	struct db_loader *dl = t->loader ? probe_loader_db(t->loader) : NULL;
	int r;

	if (!b->has_db || !dl)
		return;
	r = db_loader_set_binary(dl, b->slot, &b->db.binary);
	if (r) {
		b->has_db = 0;
		log_warn(COMPONENT, "database/sql settings refused: %s", strerror(-r));
	}
}

void tracer_attach_db(struct tracer *t, struct traced_process *tp, const struct binary *b,
		      const struct process_info *p)
{
	struct db_attach_spec spec = {
		.pid = p->pid,
		.binary_path = p->exe_link,
		.plan = &b->db,
		.offsets_slot = b->slot,
		.sampler_slot = tp->sel.sampler_slot,
	};
	int r = db_loader_attach(probe_loader_db(t->loader), &spec, &tp->db);

	if (r) {
		/* Its other spans go on. */
		tp->db_failed = 1;
		t->probes_failed++;
		log_warn(COMPONENT, "database/sql probes on pid %d (%s) failed: %s", (int)p->pid,
			 p->exe, strerror(-r));
		return;
	}
	t->db_probes += db_attachment_probes(tp->db);
}

int tracer_build_db_span(struct tracer *t, const void *data, size_t size)
{
	struct db_span_opts o = { 0 };
	uint32_t slot;

	if (db_span_record_slot(data, size, &slot) == 0 && slot < TRACER_SAMPLER_SLOTS &&
	    t->slot_probes[slot].db_query_text)
		o.query_text_max = DB_QUERY_MAX;
	return db_span_builder_build(data, size, t->wall_minus_mono_ns, &o, &t->span);
}

struct db_red_ctx {
	tracer_db_red_fn fn;
	void *ud;
};

static void db_red_one(void *ud, const struct db_red_key *key, const struct db_red_value *v)
{
	struct db_red_ctx *c = ud;
	struct db_operation op;
	uint64_t buckets[DB_RED_BUCKETS];

	/* The kernel kept the first word and zeroed the rest: the zeros end it. */
	db_operation_parse(key->op, sizeof(key->op), 0, &op);
	for (size_t i = 0; i < DB_RED_BUCKETS; i++)
		buckets[i] = v->buckets[i];
	c->fn(c->ud, db_system_name(key->system), op.name[0] ? op.name : NULL, key->error != 0,
	      buckets, v->count, (double)v->sum_ns / 1e9);
}

int tracer_db_red_foreach(struct tracer *t, tracer_db_red_fn fn, void *ud)
{
	struct db_red_ctx c = { .fn = fn, .ud = ud };
	struct db_loader *dl = t->loader ? probe_loader_db(t->loader) : NULL;

	return dl ? db_loader_red_foreach(dl, db_red_one, &c) : 0;
}
