#include "agent/db_span_builder.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/db_operation.h"
#include "agent/db_probes.h"
#include "bpf/db_client.h"

int db_span_record_slot(const void *data, size_t size, uint32_t *ret_slot)
{
	uint8_t slot;

	if (size != sizeof(struct db_span_record))
		return -EINVAL;
	memcpy(&slot, (const char *)data + offsetof(struct db_span_record, sampler_slot), 1);
	*ret_slot = slot;
	return 0;
}

int db_span_builder_build(const void *data, size_t size, int64_t wall_minus_mono_ns,
			  const struct db_span_opts *opts, struct otlp_span *ret_span)
{
	struct db_span_record rec;
	struct db_operation op;
	char name[DB_OPERATION_NAME_MAX + DB_OPERATION_TARGET_MAX + 1];
	const char *system;
	size_t text_max = opts ? opts->query_text_max : 0;

	if (size != sizeof(rec))
		return -EINVAL;
	/* Copied out first: the ring's memory is released after the call. */
	memcpy(&rec, data, sizeof(rec));
	if (rec.copied_len > DB_QUERY_MAX || rec.copied_len > rec.query_len ||
	    rec.system >= DB_SYSTEM_COUNT || rec.end_ns < rec.start_ns)
		return -EINVAL;
	db_operation_parse(rec.query, rec.copied_len, rec.copied_len == rec.query_len, &op);
	system = db_system_name(rec.system);
	otlp_span_init(ret_span);
	memcpy(ret_span->trace_id, rec.trace_id, sizeof(rec.trace_id));
	memcpy(ret_span->span_id, rec.span_id, sizeof(rec.span_id));
	if (rec.rec_flags & DB_REC_HAS_PARENT)
		memcpy(ret_span->parent_span_id, rec.parent_span_id, sizeof(rec.parent_span_id));
	ret_span->flags = rec.trace_flags;
	ret_span->kind = OTLP_SPAN_KIND_CLIENT;
	ret_span->start_unix_nano = rec.start_ns + (uint64_t)wall_minus_mono_ns;
	ret_span->end_unix_nano = rec.end_ns + (uint64_t)wall_minus_mono_ns;
	if (op.name[0] && op.target[0])
		snprintf(name, sizeof(name), "%s %s", op.name, op.target);
	else if (op.name[0])
		snprintf(name, sizeof(name), "%s", op.name);
	else
		snprintf(name, sizeof(name), "%s", system ? system : "DB");
	otlp_span_set_name(ret_span, name, strlen(name));
	if (system)
		otlp_span_add_string(ret_span, "db.system.name", system);
	if (op.name[0])
		otlp_span_add_string(ret_span, "db.operation.name", op.name);
	if (op.target[0])
		otlp_span_add_string(ret_span, "db.collection.name", op.target);
	if (text_max && rec.copied_len)
		otlp_span_add_string_len(ret_span, "db.query.text", rec.query,
					 rec.copied_len < text_max ? rec.copied_len : text_max);
	if (rec.rec_flags & DB_REC_ERROR) {
		otlp_span_add_string(ret_span, "error.type", "_OTHER");
		otlp_span_set_status(ret_span, OTLP_STATUS_ERROR, NULL);
	}
	otlp_span_add_int(ret_span, "process.pid", rec.pid);
	return 0;
}
