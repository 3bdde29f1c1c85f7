/* Watches and informers against the real API server: event order, convergence on
 * thousands of objects, 410 Gone, and the API server dying mid-watch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/kube/informer.h"
#include "lib/kube/watch.h"
#include "tests/support/kube_test.h"

static struct kube_client *c;
static struct event_base *base;
/* The informer under test, freed after each test even when an assertion failed
 * (a leftover informer would keep calling handlers of a finished test). */
static struct kube_informer *cur_inf;
static struct mirror_holder { json_t *objs; } cur_mirror;

static int free_informer(void **state)
{
	cur_inf = kube_informer_free(cur_inf);
	json_decref(cur_mirror.objs);
	cur_mirror.objs = NULL;
	return 0;
}

static int setup(void **state)
{
	c = kt_client();
	base = event_base_new();
	return kt_widget_crd_ensure(c);
}

static int teardown(void **state)
{
	event_base_free(base);
	kube_client_free(c);
	return 0;
}

/* --- a raw watch ----------------------------------------------------------------- */

struct seen {
	char log[16][80];
	int n;
	int ended;
};

static void record_event(void *ud, enum watch_event_type type, json_t *obj)
{
	struct seen *s = ud;

	if (s->n < 16)
		snprintf(s->log[s->n++], sizeof(s->log[0]), "%s %s=%s", watch_event_type_name(type),
			 kube_obj_name(obj),
			 json_string_value(json_object_get(json_object_get(obj, "data"), "k")) ?: "-");
}

static void record_end(void *ud, int rc, const struct kube_error *err)
{
	((struct seen *)ud)->ended = 1;
}

static int three_events(void *ud)
{
	return ((struct seen *)ud)->n >= 3;
}

static void a_watch_sees_add_update_delete_in_order(void **state)
{
	char ns[64];
	json_t *list = NULL;
	struct seen s = { .n = 0 };
	struct kube_watch *w = NULL;
	struct kube_ref coll = { .res = &KUBE_CONFIGMAPS, .ns = ns };

	assert_int_equal(kt_namespace_new(c, "itest-watch", ns, sizeof(ns)), 0);
	assert_int_equal(kube_list(c, &coll, NULL, &list, NULL), 0);
	const char *rv = json_string_value(json_object_get(json_object_get(list, "metadata"),
							   "resourceVersion"));
	/* Only "w": the namespace's own kube-root-ca.crt may appear at any time. */
	struct kube_watch_opts wo = { .ref = coll, .resource_version = rv, .allow_bookmarks = 1,
				      .field_selector = "metadata.name=w",
				      .on_event = record_event, .on_end = record_end, .ud = &s };
	assert_int_equal(kube_watch_start(c, base, &wo, &w, NULL), 0);
	json_decref(list);

	struct kube_ref ref = { .res = &KUBE_CONFIGMAPS, .ns = ns, .name = "w" };
	json_t *cm = kt_configmap(ns, "w", "k", "1");
	assert_int_equal(kube_create(c, &ref, cm, NULL, NULL), 0);
	json_t *patch = json_pack("{s:{s:s}}", "data", "k", "2");
	assert_int_equal(kube_patch(c, &ref, KUBE_PATCH_MERGE, patch, NULL, NULL, NULL), 0);
	assert_int_equal(kube_delete(c, &ref, NULL, NULL), 0);

	assert_true(kt_run_until(base, three_events, &s, 10000));
	assert_string_equal(s.log[0], "ADDED w=1");
	assert_string_equal(s.log[1], "MODIFIED w=2");
	assert_string_equal(s.log[2], "DELETED w=2");
	assert_false(s.ended);
	kube_watch_stop(w);
	json_decref(cm);
	json_decref(patch);
	kt_namespace_delete(c, ns);
}

/* --- an informer's mirror, checking every handler call --------------------------- */

struct mirror {
	json_t *objs; /* key -> resourceVersion */
	unsigned long adds, updates, deletes;
	unsigned long bad; /* a call that contradicts what the handler was told before */
	char first_bad[400];
	int synced;
};

static void note_bad(struct mirror *m, const char *what, const char *key)
{
	if (!m->bad++)
		snprintf(m->first_bad, sizeof(m->first_bad), "%s %s", what, key);
}

static void key_of(const json_t *obj, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", kube_obj_namespace(obj), kube_obj_name(obj));
}

static void m_add(void *ud, const json_t *obj)
{
	struct mirror *m = ud;
	char key[300];

	key_of(obj, key, sizeof(key));
	if (json_object_get(m->objs, key))
		note_bad(m, "add of a known object", key);
	json_object_set_new(m->objs, key, json_string(kube_obj_resource_version(obj)));
	m->adds++;
}

static void m_update(void *ud, const json_t *old_obj, const json_t *new_obj)
{
	struct mirror *m = ud;
	char key[300];

	key_of(new_obj, key, sizeof(key));
	const char *known = json_string_value(json_object_get(m->objs, key));
	if (!known)
		note_bad(m, "update of an unknown object", key);
	else if (strcmp(known, kube_obj_resource_version(new_obj)) == 0)
		note_bad(m, "update delivered twice", key);
	else if (strcmp(known, kube_obj_resource_version(old_obj)) != 0)
		note_bad(m, "update whose old state was never delivered", key);
	json_object_set_new(m->objs, key, json_string(kube_obj_resource_version(new_obj)));
	m->updates++;
}

static void m_delete(void *ud, const json_t *obj)
{
	struct mirror *m = ud;
	char key[300];

	key_of(obj, key, sizeof(key));
	if (!json_object_get(m->objs, key))
		note_bad(m, "delete of an unknown object", key);
	json_object_del(m->objs, key);
	m->deletes++;
}

static void m_synced(void *ud)
{
	((struct mirror *)ud)->synced = 1;
}

static struct kube_informer *start_informer(const struct kube_resource *res, const char *ns,
					    struct mirror *m)
{
	struct kube_informer *inf = NULL;
	struct kube_informer_opts io = {
		.res = res, .ns = ns, .page_size = 500, .backoff_base_ms = 100, .backoff_max_ms = 1000,
		.handlers = { m_add, m_update, m_delete, m_synced }, .ud = m,
	};

	memset(m, 0, sizeof(*m));
	m->objs = json_object();
	assert_int_equal(kube_informer_new(c, base, &io, &inf), 0);
	assert_int_equal(kube_informer_start(inf), 0);
	cur_inf = inf;
	cur_mirror.objs = m->objs;
	return inf;
}

/* The mirror equals what the server lists now, key by key, version by version. */
static int mirror_matches_server(struct mirror *m, const struct kube_resource *res, const char *ns)
{
	json_t *items = NULL;
	size_t i;
	json_t *it;
	int same;

	if (kube_list_all(c, &(struct kube_ref){ .res = res, .ns = ns }, NULL, &items, NULL, NULL) < 0)
		return 0;
	same = json_array_size(items) == json_object_size(m->objs);
	json_array_foreach(items, i, it) {
		char key[300];
		key_of(it, key, sizeof(key));
		const char *rv = json_string_value(json_object_get(m->objs, key));
		if (!rv || strcmp(rv, kube_obj_resource_version(it)) != 0)
			same = 0;
	}
	json_decref(items);
	return same;
}

/* What the informer did, for a failing test's output. */
static int explain(struct kube_informer *inf, struct mirror *m, int ok)
{
	struct kube_informer_stats st = kube_informer_stats(inf);

	if (!ok)
		fprintf(stderr, "informer: synced=%d cached=%zu lists=%lu gone=%lu watches=%lu "
			"failures=%lu events=%lu dup=%lu; mirror: %zu objects, %lu/%lu/%lu "
			"add/update/delete, bad=%lu %s; rv=%s\n",
			kube_informer_has_synced(inf), kube_informer_count(inf), st.lists, st.relists_gone,
			st.watches, st.watch_failures, st.events, st.duplicates, json_object_size(m->objs),
			m->adds, m->updates, m->deletes, m->bad, m->first_bad,
			kube_informer_resource_version(inf) ?: "-");
	return ok;
}

struct converge {
	struct mirror *m;
	size_t want;
};

static int has_count(void *ud)
{
	struct converge *cv = ud;
	return cv->m->synced && json_object_size(cv->m->objs) == cv->want;
}

struct pending {
	struct mirror *m;
	const struct kube_resource *res;
	const char *ns;
	long next_check;
};

static int matches_server(void *ud)
{
	struct pending *p = ud;

	/* Listing is a request: not on every loop turn. */
	if (kt_now_ms() < p->next_check)
		return 0;
	p->next_check = kt_now_ms() + 200;
	return p->m->synced && mirror_matches_server(p->m, p->res, p->ns);
}

static void an_informer_converges_on_2000_objects(void **state)
{
	char ns[64], name[32];
	struct mirror m;
	struct kube_ref coll = { .res = &KUBE_CONFIGMAPS };

	assert_int_equal(kt_namespace_new(c, "itest-2k", ns, sizeof(ns)), 0);
	coll.ns = ns;
	for (int i = 0; i < 1500; i++) {
		snprintf(name, sizeof(name), "cm-%04d", i);
		json_t *cm = kt_configmap(ns, name, "i", name);
		assert_int_equal(kube_create(c, &coll, cm, NULL, NULL), 0);
		json_decref(cm);
	}
	struct kube_informer *inf = start_informer(&KUBE_CONFIGMAPS, ns, &m);
	/* 500 more while it lists and watches. */
	for (int i = 1500; i < 2000; i++) {
		snprintf(name, sizeof(name), "cm-%04d", i);
		json_t *cm = kt_configmap(ns, name, "i", name);
		assert_int_equal(kube_create(c, &coll, cm, NULL, NULL), 0);
		json_decref(cm);
		if (i % 50 == 0)
			kt_run_for(base, 1);
	}
	/* 2000, and the namespace's kube-root-ca.crt when the controller has made it. */
	struct converge cv = { &m, 2000 };
	assert_true(explain(inf, &m, kt_run_until(base, has_count, &cv, 30000) ||
				     (cv.want = 2001, kt_run_until(base, has_count, &cv, 100))));
	struct pending p = { &m, &KUBE_CONFIGMAPS, ns, 0 };
	assert_true(explain(inf, &m, kt_run_until(base, matches_server, &p, 10000)));
	assert_int_equal(m.bad, 0);
	assert_int_equal(kube_informer_count(inf), json_object_size(m.objs));
	assert_non_null(kube_informer_get(inf, ns, "cm-1999"));
	free_informer(NULL);
	kt_namespace_delete(c, ns);
}

/* Changes made while the informer was not watching, then etcd compacted past its
 * version: resuming gets 410 Gone, the informer relists, and the handlers see each
 * change exactly once. */
static void gone_relists_without_lost_or_duplicate_calls(void **state)
{
	char ns[64], name[32];
	struct mirror m;
	struct kube_ref coll = { .res = &KT_WIDGETS };

	assert_int_equal(kt_namespace_new(c, "itest-gone", ns, sizeof(ns)), 0);
	coll.ns = ns;
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "w-%02d", i);
		json_t *w = json_pack("{s:s, s:s, s:{s:s}, s:{s:i}}", "apiVersion", "test.autotrace.dev/v1",
				      "kind", "Widget", "metadata", "name", name, "spec", "v", 0);
		assert_int_equal(kube_create(c, &coll, w, NULL, NULL), 0);
		json_decref(w);
	}
	struct kube_informer *inf = start_informer(&KT_WIDGETS, ns, &m);
	struct pending p = { &m, &KT_WIDGETS, ns, 0 };
	assert_true(explain(inf, &m, kt_run_until(base, matches_server, &p, 15000)));
	assert_int_equal(m.adds, 30);

	/* Stop reading the stream; the loop does not run until the end. */
	kube_informer_restart_watch(inf);
	for (int i = 0; i < 10; i++) { /* 10 updates */
		snprintf(name, sizeof(name), "w-%02d", i);
		json_t *patch = json_pack("{s:{s:i}}", "spec", "v", 1);
		assert_int_equal(kube_patch(c, &(struct kube_ref){ .res = &KT_WIDGETS, .ns = ns, .name = name },
					    KUBE_PATCH_MERGE, patch, NULL, NULL, NULL), 0);
		json_decref(patch);
	}
	for (int i = 10; i < 15; i++) { /* 5 deletes */
		snprintf(name, sizeof(name), "w-%02d", i);
		assert_int_equal(kube_delete(c, &(struct kube_ref){ .res = &KT_WIDGETS, .ns = ns, .name = name },
					     NULL, NULL), 0);
	}
	for (int i = 30; i < 37; i++) { /* 7 adds */
		snprintf(name, sizeof(name), "w-%02d", i);
		json_t *w = json_pack("{s:s, s:s, s:{s:s}, s:{s:i}}", "apiVersion", "test.autotrace.dev/v1",
				      "kind", "Widget", "metadata", "name", name, "spec", "v", 0);
		assert_int_equal(kube_create(c, &coll, w, NULL, NULL), 0);
		json_decref(w);
	}
	assert_int_equal(kt_etcd_compact(), 0);

	p.next_check = 0;
	assert_true(explain(inf, &m, kt_run_until(base, matches_server, &p, 20000)));
	struct kube_informer_stats st = kube_informer_stats(inf);
	assert_int_equal(st.relists_gone, 1);
	assert_int_equal(m.bad, 0);
	assert_int_equal(m.adds, 37);
	assert_int_equal(m.updates, 10);
	assert_int_equal(m.deletes, 5);
	free_informer(NULL);
	kt_namespace_delete(c, ns);
}

/* kill -9 of kube-apiserver mid-watch, changes after it is back: the informer
 * reconnects by itself and converges, with no contradictory handler call. */
static void an_api_server_restart_mid_watch_is_survived(void **state)
{
	char ns[64], name[32];
	struct mirror m;
	struct kube_ref coll = { .res = &KUBE_CONFIGMAPS };

	assert_int_equal(kt_namespace_new(c, "itest-restart", ns, sizeof(ns)), 0);
	coll.ns = ns;
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "before-%02d", i);
		json_t *cm = kt_configmap(ns, name, "i", name);
		assert_int_equal(kube_create(c, &coll, cm, NULL, NULL), 0);
		json_decref(cm);
	}
	struct kube_informer *inf = start_informer(&KUBE_CONFIGMAPS, ns, &m);
	struct pending p = { &m, &KUBE_CONFIGMAPS, ns, 0 };
	assert_true(explain(inf, &m, kt_run_until(base, matches_server, &p, 15000)));

	assert_int_equal(kt_cluster_ctl("kill9", "kube-apiserver"), 0);
	kt_run_for(base, 1500); /* the informer sees the stream die and retries */
	assert_int_equal(kt_cluster_ctl("start", "kube-apiserver"), 0);

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "after-%02d", i);
		json_t *cm = kt_configmap(ns, name, "i", name);
		assert_int_equal(kube_create(c, &coll, cm, NULL, NULL), 0);
		json_decref(cm);
	}
	assert_int_equal(kube_delete(c, &(struct kube_ref){ .res = &KUBE_CONFIGMAPS, .ns = ns,
							   .name = "before-00" }, NULL, NULL), 0);
	p.next_check = 0;
	assert_true(explain(inf, &m, kt_run_until(base, matches_server, &p, 30000)));
	assert_true(kube_informer_stats(inf).watch_failures >= 1);
	assert_int_equal(m.bad, 0);
	assert_null(json_object_get(m.objs, "before-00"));
	free_informer(NULL);
	kt_namespace_delete(c, ns);
}

/* --- a summarizing informer ------------------------------------------------------ */

/* The cache keeps each ConfigMap's data "i" (null when it has none). */
static json_t *data_i(void *ud, const json_t *obj)
{
	const json_t *v = json_object_get(json_object_get(obj, "data"), "i");

	return v ? json_incref((json_t *)v) : json_null();
}

struct summaries {
	int synced, adds, updates, deletes;
	char last[64]; /* "update 1->2", "delete 2" */
};

static void s_add(void *ud, const json_t *obj)
{
	((struct summaries *)ud)->adds++;
}

static void s_update(void *ud, const json_t *old_obj, const json_t *new_obj)
{
	struct summaries *s = ud;

	s->updates++;
	snprintf(s->last, sizeof(s->last), "update %s->%s", json_string_value(old_obj) ?: "null",
		 json_string_value(new_obj) ?: "null");
}

static void s_delete(void *ud, const json_t *obj)
{
	struct summaries *s = ud;

	s->deletes++;
	snprintf(s->last, sizeof(s->last), "delete %s", json_string_value(obj) ?: "null");
}

static void s_synced(void *ud)
{
	((struct summaries *)ud)->synced = 1;
}

static int s_is_synced(void *ud)
{
	return ((struct summaries *)ud)->synced;
}

static int s_has_update(void *ud)
{
	return ((struct summaries *)ud)->updates > 0;
}

static int s_has_delete(void *ud)
{
	return ((struct summaries *)ud)->deletes > 0;
}

/* Keeps data "i", and nothing of a ConfigMap without it. */
static json_t *data_i_or_skip(void *ud, const json_t *obj)
{
	const json_t *v = json_object_get(json_object_get(obj, "data"), "i");

	return v ? json_incref((json_t *)v) : NULL;
}

static int s_two_adds(void *ud)
{
	return ((struct summaries *)ud)->adds >= 2;
}

/* A summary of NULL leaves the object out: the cache holds only what its reader wants
 * (the webhook keeps only namespaces with an opt-in annotation). An object that comes
 * to have one is an add; one that loses it, a delete. */
static void a_summary_of_null_leaves_the_object_out(void **state)
{
	char ns[64];
	struct summaries s = { 0 };
	struct kube_ref coll = { .res = &KUBE_CONFIGMAPS };
	struct kube_informer_opts io = {
		.res = &KUBE_CONFIGMAPS, .backoff_base_ms = 100, .backoff_max_ms = 1000,
		.summarize = data_i_or_skip, .handlers = { s_add, s_update, s_delete, s_synced },
		.ud = &s,
	};
	json_t *add_i = json_pack("{s:{s:s}}", "data", "i", "5");
	json_t *drop_i = json_pack("{s:{s:n}}", "data", "i");

	assert_int_equal(kt_namespace_new(c, "itest-skip", ns, sizeof(ns)), 0);
	coll.ns = io.ns = ns;
	json_t *a = kt_configmap(ns, "a", "i", "1"), *b = kt_configmap(ns, "b", "other", "x");
	assert_int_equal(kube_create(c, &coll, a, NULL, NULL), 0);
	assert_int_equal(kube_create(c, &coll, b, NULL, NULL), 0);
	assert_int_equal(kube_informer_new(c, base, &io, &cur_inf), 0);
	assert_int_equal(kube_informer_start(cur_inf), 0);
	assert_true(kt_run_until(base, s_is_synced, &s, 10000));
	assert_int_equal(s.adds, 1);
	assert_int_equal(kube_informer_count(cur_inf), 1);
	assert_null(kube_informer_get(cur_inf, ns, "b"));

	assert_int_equal(kube_patch(c, &(struct kube_ref){ .res = &KUBE_CONFIGMAPS, .ns = ns, .name = "b" },
				    KUBE_PATCH_MERGE, add_i, NULL, NULL, NULL), 0);
	assert_true(kt_run_until(base, s_two_adds, &s, 10000));
	assert_string_equal(json_string_value(kube_informer_get(cur_inf, ns, "b")), "5");

	assert_int_equal(kube_patch(c, &(struct kube_ref){ .res = &KUBE_CONFIGMAPS, .ns = ns, .name = "a" },
				    KUBE_PATCH_MERGE, drop_i, NULL, NULL, NULL), 0);
	assert_true(kt_run_until(base, s_has_delete, &s, 10000));
	assert_string_equal(s.last, "delete 1");
	assert_null(kube_informer_get(cur_inf, ns, "a"));
	assert_int_equal(kube_informer_count(cur_inf), 1);
	assert_int_equal(s.updates, 0);
	json_decref(a);
	json_decref(b);
	json_decref(add_i);
	json_decref(drop_i);
	free_informer(NULL);
	kt_namespace_delete(c, ns);
}

/* Handlers get the summaries, and hear of a change only when the summary changed: a
 * label added is no event for a cache that keeps data, a data change is one. */
static void a_summarizing_informer_reports_changes_to_what_it_keeps(void **state)
{
	char ns[64];
	struct summaries s = { 0 };
	struct kube_ref coll = { .res = &KUBE_CONFIGMAPS }, one = { .res = &KUBE_CONFIGMAPS,
								   .name = "cm" };
	struct kube_informer_opts io = {
		.res = &KUBE_CONFIGMAPS, .label_selector = "app=summary",
		.backoff_base_ms = 100, .backoff_max_ms = 1000, .summarize = data_i,
		.handlers = { s_add, s_update, s_delete, s_synced }, .ud = &s,
	};
	json_t *label = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "extra", "yes");
	json_t *data = json_pack("{s:{s:s}}", "data", "i", "2");

	assert_int_equal(kt_namespace_new(c, "itest-sum", ns, sizeof(ns)), 0);
	coll.ns = one.ns = io.ns = ns;
	json_t *cm = kt_configmap(ns, "cm", "i", "1");
	json_object_set_new(json_object_get(cm, "metadata"), "labels",
			    json_pack("{s:s}", "app", "summary"));
	assert_int_equal(kube_create(c, &coll, cm, NULL, NULL), 0);
	assert_int_equal(kube_informer_new(c, base, &io, &cur_inf), 0);
	assert_int_equal(kube_informer_start(cur_inf), 0);
	assert_true(kt_run_until(base, s_is_synced, &s, 10000));
	assert_int_equal(s.adds, 1);
	assert_string_equal(json_string_value(kube_informer_get(cur_inf, ns, "cm")), "1");

	assert_int_equal(kube_patch(c, &one, KUBE_PATCH_MERGE, label, NULL, NULL, NULL), 0);
	kt_run_for(base, 1500);
	assert_int_equal(s.updates, 0);
	assert_int_equal(kube_informer_stats(cur_inf).duplicates, 1);

	assert_int_equal(kube_patch(c, &one, KUBE_PATCH_MERGE, data, NULL, NULL, NULL), 0);
	assert_true(kt_run_until(base, s_has_update, &s, 10000));
	assert_string_equal(s.last, "update 1->2");
	assert_string_equal(json_string_value(kube_informer_get(cur_inf, ns, "cm")), "2");

	assert_int_equal(kube_delete(c, &one, NULL, NULL), 0);
	assert_true(kt_run_until(base, s_has_delete, &s, 10000));
	assert_string_equal(s.last, "delete 2");
	assert_null(kube_informer_get(cur_inf, ns, "cm"));
	assert_int_equal(s.updates, 1);
	json_decref(cm);
	json_decref(label);
	json_decref(data);
	free_informer(NULL);
	kt_namespace_delete(c, ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_watch_sees_add_update_delete_in_order),
		cmocka_unit_test_teardown(an_informer_converges_on_2000_objects, free_informer),
		cmocka_unit_test_teardown(gone_relists_without_lost_or_duplicate_calls, free_informer),
		cmocka_unit_test_teardown(a_summarizing_informer_reports_changes_to_what_it_keeps,
					  free_informer),
		cmocka_unit_test_teardown(a_summary_of_null_leaves_the_object_out, free_informer),
		cmocka_unit_test_teardown(an_api_server_restart_mid_watch_is_survived, free_informer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
