/* The agent's health report: every field from the counters, the bounds that keep it
 * small, and when it is written (on change, at most every min_interval, at least every
 * heartbeat; counters alone never make a write). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/health_report.h"

#define NOW 1796558400 /* 2026-12-06T12:00:00Z */

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (!j)
		fail_msg("%s: %s", err.text, text);
	return j;
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = load(want_text);

	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
		fail_msg("report differs:\n%s", g);
	}
	json_decref(want);
}

static struct otlp_exporter_stats shop_export = {
	.spans_exported = 1200,
	.spans_dropped = { [OTLP_DROP_QUEUE_FULL] = 3, [OTLP_DROP_RETRIES_EXHAUSTED] = 2 },
};
static struct otlp_exporter_stats pay_export = {
	.spans_exported = 30,
	.spans_dropped = { [OTLP_DROP_QUEUE_FULL] = 1, [OTLP_DROP_REJECTED] = 4 },
};
static struct tracer_stats tracer = {
	.processes = 4,
	.probes_attached = 8,
	.probes_failed = 2,
	.skipped = { [TRACER_SKIP_NO_SYMBOLS] = 1, [TRACER_SKIP_ATTACH_FAILED] = 1 },
	.ringbuf_drops = 7,
	.inflight_drops = 1,
};
static const struct health_failure failures[] = {
	{ .pod = "shop/cart-7d9f", .container = "app", .reason = "NotAGoBinary",
	  .message = "/app/cart: no Go build info" },
	{ .reason = "AttachDenied", .message = "uprobe_multi: operation not permitted" },
};
static const struct health_instrumentation insts[] = {
	{ .name = "shop/default", .config_revision = "0123456789abcdef", .pods = 3, .processes = 3,
	  .export = &shop_export, .last_export_error = "POST http://collector:4318/v1/traces: HTTP 503",
	  .last_export_error_time = NOW - 30 },
	{ .name = "pay/traces", .config_revision = "fedcba9876543210", .pods = 1, .processes = 1,
	  .export = &pay_export },
};

static struct health_input node_input(void)
{
	return (struct health_input){
		.mode = HEALTH_MODE_NODE,
		.node = "kind-worker",
		.agent_version = "0.1.0",
		.ready = true,
		.pods_instrumented = 4,
		.tracer = &tracer,
		.failures = failures,
		.n_failures = 2,
		.instrumentations = insts,
		.n_instrumentations = 2,
	};
}

static void a_node_report_carries_every_counter(void **state)
{
	struct health_input in = node_input();
	json_t *r = NULL;

	assert_int_equal(health_report_build(&in, NOW, &r), 0);
	assert_json(r, "{"
		"\"mode\": \"node\", \"node\": \"kind-worker\", \"agentVersion\": \"0.1.0\","
		"\"ready\": true, \"lastUpdateTime\": \"2026-12-06T12:00:00Z\","
		"\"podsInstrumented\": 4, \"processesInstrumented\": 4,"
		"\"probes\": {\"loaded\": true, \"attached\": 8, \"failed\": 2,"
		"  \"processesSkipped\": {\"unreadable\": 0, \"no_symbols\": 1,"
		"    \"unsupported_go\": 0, \"attach_failed\": 1, \"grpc_unsupported\": 0}},"
		"\"failures\": ["
		"  {\"pod\": \"shop/cart-7d9f\", \"container\": \"app\", \"reason\": \"NotAGoBinary\","
		"   \"message\": \"/app/cart: no Go build info\"},"
		"  {\"reason\": \"AttachDenied\", \"message\": \"uprobe_multi: operation not permitted\"}],"
		"\"spans\": {\"exported\": 1230, \"dropped\": {\"ringbuf_full\": 7, \"inflight\": 1,"
		"  \"queue_full\": 4, \"retries_exhausted\": 2, \"rejected\": 4, \"shutdown\": 0}},"
		"\"instrumentations\": ["
		"  {\"name\": \"shop/default\", \"configRevision\": \"0123456789abcdef\","
		"   \"pods\": 3, \"processes\": 3,"
		"   \"spans\": {\"exported\": 1200, \"dropped\": {\"queue_full\": 3,"
		"     \"retries_exhausted\": 2, \"rejected\": 0, \"shutdown\": 0}},"
		"   \"lastExportError\": \"POST http://collector:4318/v1/traces: HTTP 503\","
		"   \"lastExportErrorTime\": \"2026-12-06T11:59:30Z\"},"
		"  {\"name\": \"pay/traces\", \"configRevision\": \"fedcba9876543210\","
		"   \"pods\": 1, \"processes\": 1,"
		"   \"spans\": {\"exported\": 30, \"dropped\": {\"queue_full\": 1,"
		"     \"retries_exhausted\": 0, \"rejected\": 4, \"shutdown\": 0}}}]"
		"}");
	json_decref(r);
}

/* Before the probes load and the config arrives: a report that says so. */
static void a_sidecar_that_is_starting_says_why_it_is_not_ready(void **state)
{
	struct health_instrumentation one = { .name = "shop/default" };
	struct health_input in = {
		.mode = HEALTH_MODE_SIDECAR,
		.node = "kind-worker",
		.pod = "shop/cart-7d9f",
		.ready = false,
		.not_ready_reason = "ProbesLoading",
		.instrumentations = &one,
		.n_instrumentations = 1,
	};
	json_t *r = NULL;

	assert_int_equal(health_report_build(&in, NOW, &r), 0);
	assert_json(r, "{"
		"\"mode\": \"sidecar\", \"node\": \"kind-worker\", \"pod\": \"shop/cart-7d9f\","
		"\"agentVersion\": \"\", \"ready\": false, \"notReadyReason\": \"ProbesLoading\","
		"\"lastUpdateTime\": \"2026-12-06T12:00:00Z\","
		"\"podsInstrumented\": 0, \"processesInstrumented\": 0,"
		"\"probes\": {\"loaded\": false, \"attached\": 0, \"failed\": 0,"
		"  \"processesSkipped\": {\"unreadable\": 0, \"no_symbols\": 0,"
		"    \"unsupported_go\": 0, \"attach_failed\": 0, \"grpc_unsupported\": 0}},"
		"\"failures\": [],"
		"\"spans\": {\"exported\": 0, \"dropped\": {\"ringbuf_full\": 0, \"inflight\": 0,"
		"  \"queue_full\": 0, \"retries_exhausted\": 0, \"rejected\": 0, \"shutdown\": 0}},"
		"\"instrumentations\": [{\"name\": \"shop/default\", \"configRevision\": \"\","
		"  \"pods\": 0, \"processes\": 0,"
		"  \"spans\": {\"exported\": 0, \"dropped\": {\"queue_full\": 0,"
		"    \"retries_exhausted\": 0, \"rejected\": 0, \"shutdown\": 0}}}]"
		"}");
	json_decref(r);
}

static void a_report_without_its_name_is_refused(void **state)
{
	struct health_input in = node_input();
	json_t *r = NULL;

	in.node = NULL;
	assert_int_equal(health_report_build(&in, NOW, &r), -EINVAL);
	in.node = "";
	assert_int_equal(health_report_build(&in, NOW, &r), -EINVAL);
	in = node_input();
	in.mode = HEALTH_MODE_SIDECAR; /* without its pod */
	assert_int_equal(health_report_build(&in, NOW, &r), -EINVAL);
	in = node_input();
	in.pod = "shop/cart"; /* a node agent is no pod's */
	assert_int_equal(health_report_build(&in, NOW, &r), -EINVAL);
	assert_null(r);
}

/* However many pods fail on a node and whatever their messages hold, the report stays
 * a few KiB of valid UTF-8. */
static void a_report_stays_bounded(void **state)
{
	struct health_failure many[40];
	struct health_instrumentation lots[50];
	char long_msg[2000];
	struct health_input in = node_input();
	json_t *r = NULL;
	char *dump;

	memset(long_msg, 'x', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	long_msg[10] = (char)0xff; /* not UTF-8 */
	memcpy(long_msg + 250, "\xc3\xa9\xc3\xa9\xc3\xa9", 6); /* é across the cut */
	for (size_t i = 0; i < 40; i++)
		many[i] = (struct health_failure){ .pod = "shop/p", .reason = "NotAGoBinary",
						   .message = long_msg };
	for (size_t i = 0; i < 50; i++)
		lots[i] = (struct health_instrumentation){ .name = "ns/name", .export = &shop_export };
	in.failures = many;
	in.n_failures = 40;
	in.instrumentations = lots;
	in.n_instrumentations = 50;
	assert_int_equal(health_report_build(&in, NOW, &r), 0);
	assert_int_equal(json_array_size(json_object_get(r, "failures")), HEALTH_REPORT_MAX_FAILURES);
	assert_int_equal(json_integer_value(json_object_get(r, "failuresOmitted")), 24);
	assert_int_equal(json_array_size(json_object_get(r, "instrumentations")),
			 HEALTH_REPORT_MAX_INSTRUMENTATIONS);
	assert_int_equal(json_integer_value(json_object_get(r, "instrumentationsOmitted")), 18);
	/* The node's totals still count every exporter. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "spans"), "exported")),
			 50 * 1200);
	const char *msg = json_string_value(
		json_object_get(json_array_get(json_object_get(r, "failures"), 0), "message"));
	assert_non_null(msg);
	assert_true(strlen(msg) <= HEALTH_REPORT_TEXT_MAX);
	assert_non_null(strstr(msg, "\xef\xbf\xbd")); /* the bad byte, replaced */
	dump = json_dumps(r, JSON_COMPACT);
	assert_non_null(dump);
	assert_true(strlen(dump) < 16 * 1024);
	free(dump);
	json_decref(r);
}

static json_t *report_at(const struct health_input *in, int64_t t)
{
	json_t *r = NULL;

	assert_int_equal(health_report_build(in, t, &r), 0);
	return r;
}

static void writes_follow_changes_within_the_pacing(void **state)
{
	struct health_input in = node_input();
	struct health_instrumentation changed_insts[2];
	struct otlp_exporter_stats busier = shop_export;
	struct tracer_stats t2 = tracer;
	const int64_t t0 = 1000; /* monotonic seconds */
	int64_t recheck = 0;
	json_t *written = report_at(&in, NOW), *next;

	assert_int_equal(health_report_due(NULL, 0, written, t0, NULL, &recheck), HEALTH_WRITE_FIRST);

	/* Only counters moved (and the time): not due until the heartbeat. */
	busier.spans_exported += 5000;
	busier.spans_dropped[OTLP_DROP_QUEUE_FULL] += 10;
	t2.ringbuf_drops += 3;
	memcpy(changed_insts, insts, sizeof(insts));
	changed_insts[0].export = &busier;
	in.instrumentations = changed_insts;
	in.tracer = &t2;
	next = report_at(&in, NOW + 30);
	assert_int_equal(health_report_due(written, t0, next, t0 + 30, NULL, &recheck),
			 HEALTH_WRITE_NOT_DUE);
	assert_int_equal(recheck, t0 + 60);
	assert_int_equal(health_report_due(written, t0, next, t0 + 60, NULL, &recheck),
			 HEALTH_WRITE_HEARTBEAT);
	json_decref(next);

	/* A new config revision is a change: written, but not within min_interval. */
	changed_insts[1].config_revision = "1111111111111111";
	next = report_at(&in, NOW + 5);
	recheck = 0;
	assert_int_equal(health_report_due(written, t0, next, t0 + 5, NULL, &recheck),
			 HEALTH_WRITE_NOT_DUE);
	assert_int_equal(recheck, t0 + 15);
	assert_int_equal(health_report_due(written, t0, next, t0 + 15, NULL, NULL),
			 HEALTH_WRITE_CHANGED);
	json_decref(next);

	/* So are readiness, a new failure, and a new export error. */
	in = node_input();
	in.ready = false;
	next = report_at(&in, NOW);
	assert_int_equal(health_report_due(written, t0, next, t0 + 15, NULL, NULL), HEALTH_WRITE_CHANGED);
	json_decref(next);
	in = node_input();
	in.n_failures = 1;
	next = report_at(&in, NOW);
	assert_int_equal(health_report_due(written, t0, next, t0 + 15, NULL, NULL), HEALTH_WRITE_CHANGED);
	json_decref(next);
	memcpy(changed_insts, insts, sizeof(insts));
	changed_insts[1].last_export_error = "POST http://pay:4318/v1/traces: connection refused";
	in = node_input();
	in.instrumentations = changed_insts;
	next = report_at(&in, NOW);
	assert_int_equal(health_report_due(written, t0, next, t0 + 15, NULL, NULL), HEALTH_WRITE_CHANGED);
	/* The same error again, a retry later: its time moved, its text did not. */
	json_t *failing = next;

	changed_insts[1].last_export_error_time += 7;
	next = report_at(&in, NOW + 7);
	assert_int_equal(health_report_due(failing, t0, next, t0 + 20, NULL, &recheck),
			 HEALTH_WRITE_NOT_DUE);
	json_decref(failing);
	json_decref(next);

	/* Custom pacing, and a heartbeat shorter than the floor is raised to it. */
	struct health_pacing p = { .min_interval_s = 30, .heartbeat_s = 10 };
	in = node_input();
	next = report_at(&in, NOW);
	assert_int_equal(health_report_due(written, t0, next, t0 + 20, &p, &recheck), HEALTH_WRITE_NOT_DUE);
	assert_int_equal(recheck, t0 + 30);
	assert_int_equal(health_report_due(written, t0, next, t0 + 30, &p, NULL), HEALTH_WRITE_HEARTBEAT);
	json_decref(next);
	json_decref(written);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_node_report_carries_every_counter),
		cmocka_unit_test(a_sidecar_that_is_starting_says_why_it_is_not_ready),
		cmocka_unit_test(a_report_without_its_name_is_refused),
		cmocka_unit_test(a_report_stays_bounded),
		cmocka_unit_test(writes_follow_changes_within_the_pacing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
