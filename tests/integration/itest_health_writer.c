/* The agent's AgentReport writer (agent/health_writer.c) against the real API server:
 * the report is created with its labels and its status written; an unchanged report is
 * written again by its heartbeat only; a change is written within the minimum interval
 * plus the jitter, and a key the report no longer has goes from the stored object; a
 * report deleted under the agent is created again; a write the API server refuses is
 * counted and retried until it succeeds, and tracing (the event loop) never waits on it;
 * owned by the agent's pod, the report stays while the pod does and goes with it.
 *
 * Pacing is shortened (1 s minimum interval, 4 s heartbeat, 1 s jitter) so that the
 * rules play out in seconds; the rules themselves are health_report_due's
 * (tests/unit/test_health_report.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "agent/health_writer.h"
#include "lib/kube/resource.h"
#include "tests/support/kube_test.h"

#define MIN_S 1
#define HEARTBEAT_S 4
#define JITTER_S 1

struct fixture {
	struct kube_client *c;
	struct event_base *base;
	struct health_writer *w;
	char ns[64];
	json_t *status; /* what collect returns, lastUpdateTime aside */
	unsigned collects;
};

static int collect(void *ud, int64_t now_unix, json_t **ret)
{
	struct fixture *f = ud;
	char when[32];
	time_t t = (time_t)now_unix;
	struct tm tm;

	f->collects++;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	*ret = json_deep_copy(f->status);
	if (!*ret)
		return -ENOMEM;
	json_object_set_new(*ret, "lastUpdateTime", json_string(when));
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(system("kubectl apply -f crds/agentreport.yaml >/dev/null && "
				"kubectl wait --for condition=established --timeout=30s "
				"crd/agentreports.autotrace.dev >/dev/null"),
			 0);
	f->c = kt_client();
	f->base = event_base_new();
	assert_non_null(f->base);
	assert_int_equal(kt_namespace_new(f->c, "hw", f->ns, sizeof(f->ns)), 0);
	f->status = json_pack("{s:s, s:s, s:s, s:b, s:i}", "mode", "node", "node", "node-a",
			      "agentVersion", "test", "ready", 1, "podsInstrumented", 2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	health_writer_free(f->w);
	kt_namespace_delete(f->c, f->ns);
	json_decref(f->status);
	event_base_free(f->base);
	kube_client_free(f->c);
	free(f);
	return 0;
}

struct want_writes {
	struct fixture *f;
	uint64_t n;
};

static int writes_reach(void *ud)
{
	struct want_writes *ww = ud;

	return health_writer_stats(ww->f->w).writes >= ww->n;
}

static void start(struct fixture *f, const char *ns)
{
	struct health_writer_opts o = {
		.mode = HEALTH_MODE_NODE, .ns = ns, .name = "node-a",
		.pacing = { .min_interval_s = MIN_S, .heartbeat_s = HEARTBEAT_S },
		.jitter_s = JITTER_S, .tick_ms = 100, .collect = collect, .ud = f,
	};

	assert_int_equal(health_writer_new(f->c, f->base, &o, &f->w), 0);
}


/* The stored report; NULL when there is none. */
static json_t *stored(struct fixture *f)
{
	struct kube_ref ref = { .res = &KUBE_AGENTREPORTS, .ns = f->ns, .name = "node-a" };
	json_t *obj = NULL;

	if (kube_get(f->c, &ref, &obj, NULL) < 0)
		return NULL;
	return obj;
}

static const json_t *status_of(const json_t *obj, const char *key)
{
	return json_object_get(json_object_get(obj, "status"), key);
}

static void created_with_labels_and_status(void **state)
{
	struct fixture *f = *state;
	json_t *obj;

	struct want_writes ww = { f, 1 };

	start(f, f->ns);
	assert_true(kt_run_until(f->base, writes_reach, &ww, 15000));
	obj = stored(f);
	assert_non_null(obj);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(obj, "metadata"), "labels"),
				    "autotrace.dev/agent-mode")),
			    "node");
	assert_true(json_is_true(status_of(obj, "ready")));
	assert_int_equal(json_integer_value(status_of(obj, "podsInstrumented")), 2);
	assert_int_equal(json_integer_value(status_of(obj, "heartbeatSeconds")), HEARTBEAT_S);
	assert_non_null(json_string_value(status_of(obj, "lastUpdateTime")));
	assert_int_equal(health_writer_stats(f->w).creates, 1);
	json_decref(obj);
}

static void unchanged_is_written_by_the_heartbeat_only(void **state)
{
	struct fixture *f = *state;
	struct want_writes ww = { f, 1 };
	long t0;

	start(f, f->ns);
	assert_true(kt_run_until(f->base, writes_reach, &ww, 15000));
	t0 = kt_now_ms();
	/* lastUpdateTime moves every second; it is no change. (The writer counts whole
	 * seconds, so the heartbeat may come up to a second early.) */
	kt_run_for(f->base, (HEARTBEAT_S - 2) * 1000);
	assert_int_equal(health_writer_stats(f->w).writes, 1);
	ww.n = 2;
	assert_true(kt_run_until(f->base, writes_reach, &ww, 5000));
	print_message("# second write %ld ms after the first (heartbeat %d s)\n",
		      kt_now_ms() - t0, HEARTBEAT_S);
	assert_true(kt_now_ms() - t0 >= (HEARTBEAT_S - 2) * 1000);
}

struct want_key {
	struct fixture *f;
	const char *key;
	int present;
};

static int stored_key_is(void *ud)
{
	struct want_key *wk = ud;
	json_t *obj = stored(wk->f);
	int present = obj && status_of(obj, wk->key) != NULL;

	json_decref(obj);
	return present == wk->present;
}

static void a_change_is_written_and_a_removed_key_goes(void **state)
{
	struct fixture *f = *state;
	struct want_writes ww = { f, 1 };
	struct want_key wk = { f, "notReadyReason", 1 };
	long t0;

	start(f, f->ns);
	assert_true(kt_run_until(f->base, writes_reach, &ww, 15000));
	kt_run_for(f->base, MIN_S * 1000);
	json_object_set_new(f->status, "ready", json_false());
	json_object_set_new(f->status, "notReadyReason", json_string("ProbesLoading"));
	t0 = kt_now_ms();
	assert_true(kt_run_until(f->base, stored_key_is, &wk, 10000));
	print_message("# change stored %ld ms after it happened\n", kt_now_ms() - t0);
	/* Well before the heartbeat: the minimum interval, the jitter, a tick and the call. */
	assert_true(kt_now_ms() - t0 < (MIN_S + JITTER_S) * 1000 + 1500);

	json_object_set_new(f->status, "ready", json_true());
	json_object_del(f->status, "notReadyReason");
	wk.present = 0;
	assert_true(kt_run_until(f->base, stored_key_is, &wk, 10000));
	json_t *obj = stored(f);
	assert_true(json_is_true(status_of(obj, "ready")));
	json_decref(obj);
}

static int created_twice(void *ud)
{
	struct fixture *f = ud;
	json_t *obj;

	if (health_writer_stats(f->w).creates < 2)
		return 0;
	obj = stored(f);
	json_decref(obj);
	return obj != NULL;
}

static void a_deleted_report_is_created_again(void **state)
{
	struct fixture *f = *state;
	struct want_writes ww = { f, 1 };
	struct kube_ref ref = { .res = &KUBE_AGENTREPORTS, .ns = f->ns, .name = "node-a" };

	start(f, f->ns);
	assert_true(kt_run_until(f->base, writes_reach, &ww, 15000));
	assert_int_equal(kube_delete(f->c, &ref, NULL, NULL), 0);
	/* The next write (a heartbeat at the latest) finds it gone and creates it. */
	assert_true(kt_run_until(f->base, created_twice, f, (HEARTBEAT_S + MIN_S) * 2000 + 5000));
	assert_true(health_writer_stats(f->w).failures >= 1);
}

static int failed_once(void *ud)
{
	return health_writer_stats(((struct fixture *)ud)->w).failures >= 1;
}

static void a_refused_write_is_counted_and_retried(void **state)
{
	struct fixture *f = *state;
	struct want_writes ww = { f, 1 };
	char ns[80];
	struct prom_text pt = { 0 };
	long t0;

	/* Its namespace does not exist yet: the create is refused (404). */
	snprintf(ns, sizeof(ns), "%s-later", f->ns);
	start(f, ns);
	t0 = kt_now_ms();
	assert_true(kt_run_until(f->base, failed_once, f, 10000));
	/* The loop went on meanwhile: collect was called on every tick, not blocked. */
	assert_true(f->collects >= 1);
	assert_int_equal(health_writer_stats(f->w).writes, 0);
	assert_int_equal(health_writer_scrape(f->w, &pt), 0);
	assert_non_null(strstr(pt.data, "autotrace_agent_report_write_failures_total 1\n"));
	free(pt.data);

	struct kube_ref nsref = { .res = &KUBE_NAMESPACES };
	json_t *nsobj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
				  "metadata", "name", ns);
	assert_int_equal(kube_create(f->c, &nsref, nsobj, NULL, NULL), 0);
	json_decref(nsobj);
	/* Retried with backoff (1 s, 2 s, ... up to the heartbeat): written once it can be. */
	assert_true(kt_run_until(f->base, writes_reach, &ww, (HEARTBEAT_S + 2) * 1000 * 2));
	print_message("# written %ld ms after the first refusal, after %llu failures\n",
		      kt_now_ms() - t0, (unsigned long long)health_writer_stats(f->w).failures);
	f->w = health_writer_free(f->w);
	kt_namespace_delete(f->c, ns);
}

static int report_gone(void *ud)
{
	json_t *obj = stored(ud);

	json_decref(obj);
	return obj == NULL;
}

/* Owned by the agent's pod: the garbage collector keeps the report while the pod is
 * there (it finds the owner by kind and uid) and removes it with the pod. */
static void the_report_lives_and_goes_with_its_pod(void **state)
{
	struct fixture *f = *state;
	struct want_writes ww = { f, 2 };
	struct kube_ref pods = { .res = &KUBE_PODS, .ns = f->ns };
	struct kube_ref pod = { .res = &KUBE_PODS, .ns = f->ns, .name = "agent" };
	struct health_writer_opts o = {
		.mode = HEALTH_MODE_NODE, .ns = f->ns, .name = "node-a", .owner_name = "agent",
		.pacing = { .min_interval_s = MIN_S, .heartbeat_s = HEARTBEAT_S },
		.jitter_s = JITTER_S, .tick_ms = 100, .collect = collect, .ud = f,
	};
	json_t *p = json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind",
			      "Pod", "metadata", "name", "agent", "spec", "containers", "name",
			      "agent", "image", "autotrace/agent:test");
	json_t *created = NULL, *obj, *ref;
	struct kube_delete_opts now = { .grace_period_seconds = 0, .set_grace = 1 };

	assert_int_equal(kube_create(f->c, &pods, p, &created, NULL), 0);
	json_decref(p);
	o.owner_uid = json_string_value(json_object_get(json_object_get(created, "metadata"), "uid"));
	assert_non_null(o.owner_uid);
	assert_int_equal(health_writer_new(f->c, f->base, &o, &f->w), 0);
	json_decref(created);
	/* Two writes a heartbeat apart: the report outlived a garbage-collector pass. */
	assert_true(kt_run_until(f->base, writes_reach, &ww, (HEARTBEAT_S + 2) * 1000 + 15000));
	assert_int_equal(health_writer_stats(f->w).creates, 1);
	obj = stored(f);
	assert_non_null(obj);
	ref = json_array_get(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), 0);
	assert_string_equal(json_string_value(json_object_get(ref, "kind")), "Pod");
	assert_string_equal(json_string_value(json_object_get(ref, "name")), "agent");
	json_decref(obj);

	f->w = health_writer_free(f->w);
	assert_int_equal(kube_delete(f->c, &pod, &now, NULL), 0);
	assert_true(kt_run_until(f->base, report_gone, f, 60000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(created_with_labels_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(unchanged_is_written_by_the_heartbeat_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_change_is_written_and_a_removed_key_goes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_deleted_report_is_created_again, setup, teardown),
		cmocka_unit_test_setup_teardown(the_report_lives_and_goes_with_its_pod, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_refused_write_is_counted_and_retried, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
