/* The agents of an Instrumentation from its pods and the AgentReports that name it
 * (operator/agent_fold.h, operator/agent_report.h), and the status they make
 * (operator/status.h): both modes counted alike, stale reports not ready, the failing
 * agents named in Degraded, the config revision each applies in ConfigApplied, and
 * report fields of the wrong type read as absent. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "operator/agent_fold.h"
#include "operator/agent_report.h"
#include "operator/status.h"

#define KEY "shop/traces"
#define REV "rev-2"
/* 2026-12-06T10:00:00Z */
#define NOW 1796551200

static json_t *report(const char *name, const char *mode, const char *node, const char *pod,
		      int ready, const char *updated, const char *rev)
{
	json_t *r = json_pack("{s:{s:s, s:s}, s:{s:s, s:s, s:b, s:s, s:[{s:s, s:s, s:i}]}}",
			      "metadata", "name", name, "namespace", "autotrace-system", "status",
			      "mode", mode, "node", node, "ready", ready, "lastUpdateTime", updated,
			      "instrumentations", "name", KEY, "configRevision", rev, "pods", 3);

	assert_non_null(r);
	if (pod) {
		/* A sidecar's report lives in its pod's namespace. */
		json_object_set_new(json_object_get(r, "status"), "pod", json_string(pod));
		json_object_set_new(json_object_get(r, "metadata"), "namespace",
				    json_stringn(pod, strcspn(pod, "/")));
	}
	if (!ready)
		json_object_set_new(json_object_get(r, "status"), "notReadyReason",
				    json_string("ProbesNotLoaded"));
	return r;
}

/* shop/a is a ready sidecar of KEY, shop/b an unready one; anything else is none. */
static int sidecar_state(void *ud, const char *pod)
{
	if (strcmp(pod, "shop/a") == 0)
		return 1;
	if (strcmp(pod, "shop/b") == 0)
		return 0;
	return -1;
}

static struct agent_fold_input input(long sidecars, long ready)
{
	return (struct agent_fold_input){ .key = KEY, .revision = REV, .sidecars = sidecars,
					  .sidecars_ready = ready, .now = NOW,
					  .sidecar_state = sidecar_state };
}

static void time_parse(void **state)
{
	int64_t t;

	assert_int_equal(agent_report_time_parse("2026-12-06T10:00:00Z", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(agent_report_time_parse("2026-12-06T10:00:00.123456Z", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(agent_report_time_parse("2026-12-06T12:00:00+02:00", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(agent_report_time_parse("2026-12-06T10:00:00", &t), -EINVAL);
	assert_int_equal(agent_report_time_parse("2026-13-06T10:00:00Z", &t), -EINVAL);
	assert_int_equal(agent_report_time_parse("yesterday", &t), -EINVAL);
	assert_int_equal(agent_report_time_parse("2026-12-06T10:00:00Zjunk", &t), -EINVAL);
	assert_int_equal(agent_report_time_parse(NULL, &t), -EINVAL);
}

static void node_agents_fresh_and_stale(void **state)
{
	json_t *rs = json_array();
	struct agent_fold_input in = input(0, 0);
	struct agent_fold f;

	/* 30 s old and ready; 151 s old (past 150 s): stale; fresh but not ready. */
	json_array_append_new(rs, report("n1", "node", "n1", NULL, 1, "2026-12-06T09:59:30Z", REV));
	json_array_append_new(rs, report("n2", "node", "n2", NULL, 1, "2026-12-06T09:57:29Z", REV));
	json_array_append_new(rs, report("n3", "node", "n3", NULL, 0, "2026-12-06T09:59:50Z", "rev-1"));
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.agents, 3);
	assert_int_equal(f.ready, 1);
	assert_int_equal(f.nodes, 2);     /* fresh ones only */
	assert_int_equal(f.reporting, 2);
	assert_int_equal(f.on_latest, 1);
	assert_int_equal(f.pods, 6);
	assert_string_equal(f.not_ready, "node n2 (no report for 151 s), node n3 (ProbesNotLoaded)");
	assert_string_equal(f.behind, "node n3 (rev-1)");
	/* n1 goes stale first: at 09:59:30 + 150 s, then one second past it. */
	assert_int_equal(f.next_change, NOW - 30 + 150 + 1);

	/* 150 s old exactly is still fresh; a longer window by flag. */
	json_array_clear(rs);
	json_array_append_new(rs, report("n2", "node", "n2", NULL, 1, "2026-12-06T09:57:30Z", REV));
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.ready, 1);
	in.now += 1;
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.ready, 0);
	in.stale_s = 300;
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.ready, 1);
	json_decref(rs);
}

static void sidecars_by_pod_and_by_report(void **state)
{
	json_t *rs = json_array();
	struct agent_fold_input in = input(3, 2); /* shop/a ready, shop/b not, one more ready */
	struct agent_fold f;
	json_t *r;

	/* shop/a's report is 400 s old: a sidecar writes every 300 s, so its window is
	 * 750 s and it is fresh; shop/gone's pod is no sidecar of KEY: ignored. */
	r = report("a", "sidecar", "n1", "shop/a", 1, "2026-12-06T09:53:20Z", REV);
	json_object_set_new(json_object_get(r, "status"), "heartbeatSeconds", json_integer(300));
	json_array_append_new(rs, r);
	json_array_append_new(rs, report("gone", "sidecar", "n1", "shop/gone", 0, "2026-12-06T09:59:50Z", REV));
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.agents, 3);
	assert_int_equal(f.ready, 2);
	assert_int_equal(f.reporting, 1);
	assert_int_equal(f.nodes, 1);
	assert_string_equal(f.not_ready, "1 sidecar without a report");

	/* Its container ready, its report saying not ready: not ready, and named. */
	json_array_clear(rs);
	json_array_append_new(rs, report("a", "sidecar", "n1", "shop/a", 0, "2026-12-06T09:59:50Z", REV));
	json_array_append_new(rs, report("b", "sidecar", "n2", "shop/b", 1, "2026-12-06T09:59:50Z", "rev-1"));
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.agents, 3);
	assert_int_equal(f.ready, 1);
	assert_string_equal(f.not_ready,
			    "pod shop/a (ProbesNotLoaded), pod shop/b (container not ready)");
	assert_string_equal(f.behind, "pod shop/b (rev-1)");
	assert_int_equal(f.on_latest, 1);

	/* A sidecar and a node agent side by side count alike. */
	json_array_append_new(rs, report("n3", "node", "n3", NULL, 1, "2026-12-06T09:59:50Z", REV));
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.agents, 4);
	assert_int_equal(f.ready, 2);
	assert_int_equal(f.nodes, 3);
	json_decref(rs);
}

static void reports_of_other_instrumentations_and_bad_fields(void **state)
{
	json_t *rs = json_array(), *r;
	struct agent_fold_input in = input(0, 0);
	struct agent_fold f;

	r = report("n1", "node", "n1", NULL, 1, "2026-12-06T09:59:50Z", REV);
	json_object_set_new(json_array_get(json_object_get(json_object_get(r, "status"),
							    "instrumentations"), 0),
			    "name", json_string("other/x"));
	json_array_append_new(rs, r);
	/* Wrong types: ready a string, time a number, heartbeat huge, pods negative. */
	r = json_pack("{s:{s:s, s:s}, s:{s:s, s:s, s:i, s:i, s:[{s:s, s:i}]}}", "metadata", "name",
		      "n2", "namespace", "ns", "status", "ready", "true", "node", "n2",
		      "lastUpdateTime", 5, "heartbeatSeconds", 1000000000, "instrumentations",
		      "name", KEY, "pods", -4);
	json_array_append_new(rs, r);
	json_array_append_new(rs, json_string("not a report"));
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.agents, 1);
	assert_int_equal(f.ready, 0);
	assert_int_equal(f.pods, 0);
	assert_string_equal(f.not_ready, "node n2 (no report time)");
	json_decref(rs);
}

static void many_names_are_cut_and_counted(void **state)
{
	json_t *rs = json_array();
	struct agent_fold_input in = input(0, 0);
	struct agent_fold f;
	char name[64];

	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "node-with-a-long-name-%03d", i);
		json_array_append_new(rs, report(name, "node", name, NULL, 0, "2026-12-06T09:59:50Z", "old"));
	}
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.agents, 200);
	assert_true(strlen(f.not_ready) < AGENT_FOLD_NAMES_MAX);
	assert_non_null(strstr(f.not_ready, "node node-with-a-long-name-000 (ProbesNotLoaded)"));
	assert_non_null(strstr(f.not_ready, " more"));
	assert_non_null(strstr(f.behind, ", and "));
	json_decref(rs);
}

static void the_trim_keeps_what_the_fold_reads(void **state)
{
	json_t *r = report("n1", "node", "n1", NULL, 1, "2026-12-06T09:59:50Z", REV);
	json_t *insts = json_object_get(json_object_get(r, "status"), "instrumentations");
	struct agent_fold_input in = input(0, 0);
	struct agent_fold before, after;
	json_t *rs = json_array();

	json_object_set_new(json_object_get(r, "status"), "failures", json_pack("[{s:s}]", "reason", "X"));
	json_object_set_new(json_array_get(insts, 0), "spans", json_pack("{s:i}", "exported", 9));
	json_object_set_new(r, "spec", json_object());
	for (int i = 0; i < 40; i++)
		json_array_append_new(insts, json_pack("{s:s}", "name", "a/b"));
	json_array_append(rs, r);
	assert_int_equal(agent_fold(rs, &in, &before), 0);
	agent_report_trim(NULL, r);
	assert_int_equal(agent_fold(rs, &in, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_null(json_object_get(r, "spec"));
	assert_null(json_object_get(json_object_get(r, "status"), "failures"));
	assert_null(json_object_get(json_array_get(insts, 0), "spans"));
	assert_int_equal(json_array_size(insts), AGENT_REPORT_MAX_INSTRUMENTATIONS);
	json_decref(r);
	json_decref(rs);
}

static const char *cond(const json_t *st, const char *type, const char *field)
{
	const json_t *c = status_condition(st, type);

	assert_non_null(c);
	return json_string_value(json_object_get(c, field));
}

static void the_status_names_them(void **state)
{
	json_t *rs = json_array(), *st;
	struct agent_fold_input in = input(0, 0);
	struct agent_fold f;
	struct status_observation o = { .generation = 2, .revision = REV, .namespaces = 1,
					.injected = 2, .ready = 0, .agents = &f };

	json_array_append_new(rs, report("n1", "node", "n1", NULL, 1, "2026-12-06T09:59:50Z", "rev-1"));
	json_array_append_new(rs, report("n2", "node", "n2", NULL, 1, "2026-12-06T09:50:00Z", REV));
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	st = status_build(NULL, &o, "2026-12-06T10:00:00Z");
	assert_non_null(st);
	assert_int_equal(json_integer_value(json_object_get(st, "agents")), 2);
	assert_int_equal(json_integer_value(json_object_get(st, "readyAgents")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "nodesReporting")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "agentsOnLatestRevision")), 0);
	assert_string_equal(cond(st, "Degraded", "status"), "True");
	assert_string_equal(cond(st, "Degraded", "reason"), "AgentsNotReady");
	assert_string_equal(cond(st, "Degraded", "message"),
			    "1 of 2 agents not ready: node n2 (no report for 600 s)");
	assert_string_equal(cond(st, "ConfigApplied", "status"), "False");
	assert_string_equal(cond(st, "ConfigApplied", "reason"), "AgentsBehind");
	assert_string_equal(cond(st, "ConfigApplied", "message"),
			    "0 of 1 reporting agents apply revision rev-2; behind: node n1 (rev-1)");
	json_decref(st);

	/* Caught up: ConfigApplied True; no reports at all: Unknown. */
	json_array_clear(rs);
	json_array_append_new(rs, report("n1", "node", "n1", NULL, 1, "2026-12-06T09:59:50Z", REV));
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	st = status_build(NULL, &o, "2026-12-06T10:00:00Z");
	assert_string_equal(cond(st, "ConfigApplied", "status"), "True");
	assert_string_equal(cond(st, "Degraded", "status"), "False");
	json_decref(st);
	json_array_clear(rs);
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	st = status_build(NULL, &o, "2026-12-06T10:00:00Z");
	assert_string_equal(cond(st, "ConfigApplied", "status"), "Unknown");
	assert_string_equal(cond(st, "ConfigApplied", "reason"), "NoReports");
	json_decref(st);
	json_decref(rs);
}

/* Reports where their writer may not put them count for nothing: a node agent's
 * outside the agents' namespace (a namespace's ServiceAccounts may write reports
 * there), a sidecar's not named after its own pod or outside its pod's namespace. */
static void reports_out_of_place_do_not_count(void **state)
{
	json_t *rs = json_array(), *r;
	struct agent_fold_input in = input(1, 1); /* shop/a, ready */
	struct agent_fold f;

	in.node_ns = "autotrace-system";
	r = report("n9", "node", "n9", NULL, 1, "2026-12-06T09:59:50Z", REV);
	json_object_set_new(json_object_get(r, "metadata"), "namespace", json_string("shop"));
	json_array_append_new(rs, r);
	/* Claims shop/a under another name, then from another namespace, not ready. */
	json_array_append_new(rs, report("x", "sidecar", "n1", "shop/a", 0, "2026-12-06T09:59:50Z", REV));
	json_object_set_new(json_object_get(json_array_get(rs, 1), "metadata"), "name", json_string("x"));
	r = report("a", "sidecar", "n1", "shop/a", 0, "2026-12-06T09:59:50Z", REV);
	json_object_set_new(json_object_get(r, "metadata"), "namespace", json_string("other"));
	json_array_append_new(rs, r);
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.agents, 1);
	assert_int_equal(f.ready, 1);
	assert_int_equal(f.reporting, 0);
	assert_int_equal(f.nodes, 0);

	/* The same node report in the agents' namespace counts. */
	json_object_set_new(json_object_get(json_array_get(rs, 0), "metadata"), "namespace",
			    json_string("autotrace-system"));
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.agents, 2);
	assert_int_equal(f.nodes, 1);
	json_decref(rs);
}

/* An agent whose collector refuses or cannot be reached: ready (it traces), but the
 * status says its spans go nowhere, and which agents, until an export succeeds. */
static void failing_exports_make_it_degraded(void **state)
{
	json_t *rs = json_array(), *st, *n2;
	struct agent_fold_input in = input(0, 0);
	struct agent_fold f;
	struct status_observation o = { .generation = 2, .revision = REV, .namespaces = 1,
					.agents = &f };

	json_array_append_new(rs, report("n1", "node", "n1", NULL, 1, "2026-12-06T09:59:50Z", REV));
	n2 = report("n2", "node", "n2", NULL, 1, "2026-12-06T09:59:40Z", REV);
	json_object_set_new(json_array_get(json_object_get(json_object_get(n2, "status"),
							   "instrumentations"), 0),
			    "lastExportError", json_string("Could not connect to server"));
	json_array_append_new(rs, n2);
	/* A stale report's old error is not counted: only what agents say now. */
	n2 = json_deep_copy(n2);
	json_object_set_new(json_object_get(n2, "metadata"), "name", json_string("n3"));
	json_object_set_new(json_object_get(n2, "status"), "node", json_string("n3"));
	json_object_set_new(json_object_get(n2, "status"), "lastUpdateTime",
			    json_string("2026-12-06T09:00:00Z"));
	json_array_append_new(rs, n2);
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.export_failing, 1);
	assert_string_equal(f.export_failing_names, "node n2 (Could not connect to server)");
	/* n3 is not ready (stale): that is said first. */
	st = status_build(NULL, &o, "2026-12-06T10:00:00Z");
	assert_string_equal(cond(st, "Degraded", "reason"), "AgentsNotReady");
	json_decref(st);

	json_array_remove(rs, 2);
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	st = status_build(NULL, &o, "2026-12-06T10:00:00Z");
	assert_string_equal(cond(st, "Ready", "status"), "True");
	assert_string_equal(cond(st, "Degraded", "status"), "True");
	assert_string_equal(cond(st, "Degraded", "reason"), "ExportFailing");
	assert_string_equal(cond(st, "Degraded", "message"),
			    "1 of 2 agents cannot export spans: node n2 (Could not connect to server)");
	json_decref(st);

	/* Its next export succeeded: the field is gone from its report. */
	json_object_del(json_array_get(json_object_get(json_object_get(json_array_get(rs, 1), "status"),
						       "instrumentations"), 0),
			"lastExportError");
	assert_int_equal(agent_fold(rs, &in, &f), 0);
	assert_int_equal(f.export_failing, 0);
	st = status_build(NULL, &o, "2026-12-06T10:00:00Z");
	assert_string_equal(cond(st, "Degraded", "status"), "False");
	json_decref(st);
	json_decref(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(time_parse),
		cmocka_unit_test(node_agents_fresh_and_stale),
		cmocka_unit_test(sidecars_by_pod_and_by_report),
		cmocka_unit_test(reports_out_of_place_do_not_count),
		cmocka_unit_test(reports_of_other_instrumentations_and_bad_fields),
		cmocka_unit_test(many_names_are_cut_and_counted),
		cmocka_unit_test(the_trim_keeps_what_the_fold_reads),
		cmocka_unit_test(the_status_names_them),
		cmocka_unit_test(failing_exports_make_it_degraded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
