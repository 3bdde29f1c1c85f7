#include "agent/health_report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/otlp/utf8.h"

/* Builders that keep going after a failed allocation and report it once at the end:
 * json_object_set_new takes the value's reference even when it fails (or is NULL). */
struct builder {
	int failed;
};

static void set(struct builder *b, json_t *obj, const char *key, json_t *value)
{
	if (json_object_set_new(obj, key, value) < 0)
		b->failed = 1;
}

static void append(struct builder *b, json_t *arr, json_t *value)
{
	if (json_array_append_new(arr, value) < 0)
		b->failed = 1;
}

/* Counters are uint64; JSON integers here are int64 (a counter never gets there). */
static json_t *count(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Free text from the node (error strings, Go build paths) as valid UTF-8, cut at a
 * character boundary: jansson refuses invalid UTF-8, and a report stays small. */
static json_t *text(const char *s)
{
	char buf[HEALTH_REPORT_TEXT_MAX];
	bool cut;
	size_t n = utf8_copy_sanitized(buf, sizeof(buf), s, strlen(s), &cut);

	return json_stringn(buf, n);
}

static json_t *timestamp(int64_t unix_s)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return NULL;
	return json_string(buf);
}

/* Adds the exporter's drops (none when e is NULL), by the reason names /metrics uses,
 * into `dropped`: every reason is there, so the shape never depends on the counts. */
static void add_export_drops(struct builder *b, json_t *dropped, const struct otlp_exporter_stats *e)
{
	for (int r = 0; r < OTLP_DROP__COUNT; r++) {
		const char *name = otlp_drop_reason_name(r);
		json_int_t had = json_integer_value(json_object_get(dropped, name));

		set(b, dropped, name, count((uint64_t)had + (e ? e->spans_dropped[r] : 0)));
	}
}

static json_t *instrumentation_json(struct builder *b, const struct health_instrumentation *in)
{
	json_t *o = json_object(), *spans = json_object(), *dropped = json_object();

	if (!o || !spans || !dropped) {
		b->failed = 1;
		json_decref(o);
		json_decref(spans);
		json_decref(dropped);
		return NULL;
	}
	set(b, o, "name", text(in->name ? in->name : ""));
	set(b, o, "configRevision", text(in->config_revision ? in->config_revision : ""));
	set(b, o, "pods", count(in->pods));
	set(b, o, "processes", count(in->processes));
	set(b, spans, "exported", count(in->export ? in->export->spans_exported : 0));
	add_export_drops(b, dropped, in->export);
	set(b, spans, "dropped", dropped);
	set(b, o, "spans", spans);
	if (in->last_export_error) {
		set(b, o, "lastExportError", text(in->last_export_error));
		set(b, o, "lastExportErrorTime", timestamp(in->last_export_error_time));
	}
	return o;
}

static json_t *failure_json(struct builder *b, const struct health_failure *f)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (f->pod)
		set(b, o, "pod", text(f->pod));
	if (f->container)
		set(b, o, "container", text(f->container));
	set(b, o, "reason", text(f->reason ? f->reason : "Unknown"));
	if (f->message)
		set(b, o, "message", text(f->message));
	return o;
}

static json_t *probes_json(struct builder *b, const struct tracer_stats *t)
{
	json_t *o = json_object(), *skipped = json_object();

	if (!o || !skipped) {
		b->failed = 1;
		json_decref(o);
		json_decref(skipped);
		return NULL;
	}
	set(b, o, "loaded", json_boolean(t != NULL));
	set(b, o, "attached", count(t ? t->probes_attached : 0));
	set(b, o, "failed", count(t ? t->probes_failed : 0));
	for (int r = 0; r < TRACER_SKIP_REASONS; r++)
		set(b, skipped, tracer_skip_reason_name(r), count(t ? t->skipped[r] : 0));
	set(b, o, "processesSkipped", skipped);
	return o;
}

/* The node's spans: the kernel side's drops and every exporter's, summed. */
static json_t *spans_json(struct builder *b, const struct health_input *in)
{
	json_t *o = json_object(), *dropped = json_object();
	uint64_t exported = 0;

	if (!o || !dropped) {
		b->failed = 1;
		json_decref(o);
		json_decref(dropped);
		return NULL;
	}
	set(b, dropped, "ringbuf_full", count(in->tracer ? in->tracer->ringbuf_drops : 0));
	set(b, dropped, "inflight", count(in->tracer ? in->tracer->inflight_drops : 0));
	add_export_drops(b, dropped, NULL);
	for (size_t i = 0; i < in->n_instrumentations; i++) {
		const struct otlp_exporter_stats *e = in->instrumentations[i].export;

		exported += e ? e->spans_exported : 0;
		add_export_drops(b, dropped, e);
	}
	set(b, o, "exported", count(exported));
	set(b, o, "dropped", dropped);
	return o;
}

int health_report_build(const struct health_input *in, int64_t now, json_t **ret_report)
{
	struct builder b = { 0 };
	json_t *r, *list;
	size_t n;

	if (!in->node || !*in->node || (in->mode == HEALTH_MODE_SIDECAR) != (in->pod != NULL))
		return -EINVAL;
	r = json_object();
	if (!r)
		return -ENOMEM;
	set(&b, r, "mode", json_string(in->mode == HEALTH_MODE_NODE ? "node" : "sidecar"));
	set(&b, r, "node", text(in->node));
	if (in->pod)
		set(&b, r, "pod", text(in->pod));
	set(&b, r, "agentVersion", text(in->agent_version ? in->agent_version : ""));
	set(&b, r, "ready", json_boolean(in->ready));
	if (!in->ready)
		set(&b, r, "notReadyReason", text(in->not_ready_reason ? in->not_ready_reason : "Unknown"));
	set(&b, r, "lastUpdateTime", timestamp(now));
	set(&b, r, "podsInstrumented", count(in->pods_instrumented));
	set(&b, r, "processesInstrumented", count(in->tracer ? in->tracer->processes : 0));
	set(&b, r, "probes", probes_json(&b, in->tracer));

	list = json_array();
	n = in->n_failures < HEALTH_REPORT_MAX_FAILURES ? in->n_failures : HEALTH_REPORT_MAX_FAILURES;
	for (size_t i = 0; list && i < n; i++)
		append(&b, list, failure_json(&b, &in->failures[i]));
	set(&b, r, "failures", list);
	if (in->n_failures > n)
		set(&b, r, "failuresOmitted", count(in->n_failures - n));

	set(&b, r, "spans", spans_json(&b, in));

	list = json_array();
	n = in->n_instrumentations < HEALTH_REPORT_MAX_INSTRUMENTATIONS ? in->n_instrumentations
									: HEALTH_REPORT_MAX_INSTRUMENTATIONS;
	for (size_t i = 0; list && i < n; i++)
		append(&b, list, instrumentation_json(&b, &in->instrumentations[i]));
	set(&b, r, "instrumentations", list);
	if (in->n_instrumentations > n)
		set(&b, r, "instrumentationsOmitted", count(in->n_instrumentations - n));

	if (b.failed) {
		json_decref(r);
		return -ENOMEM;
	}
	*ret_report = r;
	return 0;
}

/* A report without what changes on every request or every write. NULL: no memory. */
static json_t *without_counters(const json_t *report)
{
	json_t *c = json_deep_copy(report), *insts, *inst;
	size_t i;

	if (!c)
		return NULL;
	json_object_del(c, "lastUpdateTime");
	json_object_del(c, "spans");
	insts = json_object_get(c, "instrumentations");
	/* A failing collector's error time moves with every retry; its text says what
	 * changed. */
	json_array_foreach(insts, i, inst) {
		json_object_del(inst, "spans");
		json_object_del(inst, "lastExportErrorTime");
	}
	return c;
}

static bool changed(const json_t *written, const json_t *next)
{
	json_t *a = without_counters(written), *b = without_counters(next);
	bool differ = !a || !b || !json_equal(a, b);

	json_decref(a);
	json_decref(b);
	return differ;
}

enum health_write health_report_due(const json_t *written, int64_t written_at, const json_t *next,
				    int64_t now, const struct health_pacing *pacing,
				    int64_t *ret_recheck_at)
{
	int64_t min = pacing && pacing->min_interval_s ? pacing->min_interval_s : 15;
	int64_t heartbeat = pacing && pacing->heartbeat_s ? pacing->heartbeat_s : 60;
	int64_t at;

	if (!written)
		return HEALTH_WRITE_FIRST;
	if (heartbeat < min)
		heartbeat = min; /* a heartbeat is a write too: the floor holds for it */
	if (changed(written, next)) {
		if (now - written_at >= min)
			return HEALTH_WRITE_CHANGED;
		at = written_at + min;
	} else {
		if (now - written_at >= heartbeat)
			return HEALTH_WRITE_HEARTBEAT;
		at = written_at + heartbeat;
	}
	if (ret_recheck_at)
		*ret_recheck_at = at;
	return HEALTH_WRITE_NOT_DUE;
}
