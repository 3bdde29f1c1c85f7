/* lib/kube requests against the real API server: CRUD and every patch type on
 * ConfigMaps and on a custom resource, paging and selectors, the status
 * subresource, and errors a caller can act on. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/kube_test.h"

static struct kube_client *c;
static char ns[64];

static int setup(void **state)
{
	c = kt_client();
	if (kt_namespace_new(c, "itest-api", ns, sizeof(ns)) < 0)
		return -1;
	return kt_widget_crd_ensure(c);
}

static int teardown(void **state)
{
	kt_namespace_delete(c, ns);
	kube_client_free(c);
	return 0;
}

static const char *data_of(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "data"), key));
}

static void configmap_create_get_update_delete(void **state)
{
	struct kube_ref ref = { .res = &KUBE_CONFIGMAPS, .ns = ns, .name = "crud" };
	json_t *cm = kt_configmap(ns, "crud", "k", "v1"), *got = NULL, *stored = NULL;
	struct kube_error err;

	assert_int_equal(kube_create(c, &ref, cm, &stored, &err), 0);
	assert_non_null(kube_obj_uid(stored));
	assert_int_equal(kube_get(c, &ref, &got, &err), 0);
	assert_string_equal(data_of(got, "k"), "v1");

	/* Update with the stored resourceVersion succeeds ... */
	json_object_set_new(json_object_get(got, "data"), "k", json_string("v2"));
	json_t *updated = NULL;
	assert_int_equal(kube_update(c, &ref, got, &updated, &err), 0);
	assert_string_equal(data_of(updated, "k"), "v2");
	/* ... and a second update from the same, now stale, version is a Conflict. */
	assert_int_equal(kube_update(c, &ref, got, NULL, &err), -EBUSY);
	assert_int_equal(err.http_code, 409);
	assert_string_equal(err.reason, "Conflict");

	/* Creating it again: AlreadyExists, told apart from Conflict. */
	assert_int_equal(kube_create(c, &ref, cm, NULL, &err), -EEXIST);
	assert_string_equal(err.reason, "AlreadyExists");

	assert_int_equal(kube_delete(c, &ref, NULL, &err), 0);
	assert_int_equal(kube_get(c, &ref, &got, &err), -ENOENT);
	assert_int_equal(err.kind, KUBE_ERR_API);
	assert_string_equal(err.reason, "NotFound");
	assert_non_null(strstr(err.message, "\"crud\" not found"));
	json_decref(cm);
	json_decref(stored);
	json_decref(updated);
	json_decref(got);
}

static void every_patch_type_on_a_configmap(void **state)
{
	struct kube_ref ref = { .res = &KUBE_CONFIGMAPS, .ns = ns, .name = "patched" };
	json_t *cm = kt_configmap(ns, "patched", "a", "1"), *out = NULL;
	struct kube_error err;
	struct kube_patch_opts apply = { .field_manager = "autotrace-itest", .force = 1 };

	assert_int_equal(kube_create(c, &ref, cm, NULL, &err), 0);

	json_t *merge = json_pack("{s:{s:s, s:n}}", "data", "b", "2", "a");
	assert_int_equal(kube_patch(c, &ref, KUBE_PATCH_MERGE, merge, NULL, &out, &err), 0);
	assert_null(data_of(out, "a"));
	assert_string_equal(data_of(out, "b"), "2");
	json_decref(out);

	json_t *jp = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "op", "add", "path", "/data/c",
			       "value", "3", "op", "test", "path", "/data/b", "value", "2");
	assert_int_equal(kube_patch(c, &ref, KUBE_PATCH_JSON, jp, NULL, &out, &err), 0);
	assert_string_equal(data_of(out, "c"), "3");
	json_decref(out);
	/* A failing "test" operation is refused as a whole. */
	json_t *bad = json_pack("[{s:s, s:s, s:s}]", "op", "test", "path", "/data/b", "value", "nope");
	assert_true(kube_patch(c, &ref, KUBE_PATCH_JSON, bad, NULL, NULL, &err) < 0);
	assert_int_equal(err.kind, KUBE_ERR_API);

	json_t *smp = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "tier", "gold");
	assert_int_equal(kube_patch(c, &ref, KUBE_PATCH_STRATEGIC, smp, NULL, &out, &err), 0);
	assert_string_equal(kube_obj_label(out, "tier"), "gold");
	json_decref(out);

	json_t *ssa = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
				"ConfigMap", "metadata", "name", "patched", "namespace", ns, "data",
				"owned", "by-apply");
	assert_int_equal(kube_patch(c, &ref, KUBE_PATCH_APPLY, ssa, &apply, &out, &err), 0);
	assert_string_equal(data_of(out, "owned"), "by-apply");
	/* The field manager is recorded. */
	json_t *mf = json_object_get(json_object_get(out, "metadata"), "managedFields");
	int found = 0;
	for (size_t i = 0; i < json_array_size(mf); i++)
		found |= strcmp(json_string_value(json_object_get(json_array_get(mf, i), "manager")),
				"autotrace-itest") == 0;
	assert_true(found);
	json_decref(out);
	/* Apply without a field manager is refused before any request. */
	assert_int_equal(kube_patch(c, &ref, KUBE_PATCH_APPLY, ssa, NULL, NULL, &err), -EINVAL);
	assert_int_equal(err.kind, KUBE_ERR_LOCAL);

	json_decref(cm);
	json_decref(merge);
	json_decref(jp);
	json_decref(bad);
	json_decref(smp);
	json_decref(ssa);
}

static void custom_resource_crud_patch_and_status(void **state)
{
	struct kube_ref ref = { .res = &KT_WIDGETS, .ns = ns, .name = "w1" };
	struct kube_ref status = ref;
	struct kube_error err;
	json_t *out = NULL;

	status.subresource = "status";
	json_t *w = json_pack("{s:s, s:s, s:{s:s}, s:{s:i}}", "apiVersion", "test.autotrace.dev/v1",
			      "kind", "Widget", "metadata", "name", "w1", "spec", "size", 1);
	assert_int_equal(kube_create(c, &ref, w, &out, &err), 0);
	json_decref(out);

	json_t *merge = json_pack("{s:{s:i}}", "spec", "size", 2);
	assert_int_equal(kube_patch(c, &ref, KUBE_PATCH_MERGE, merge, NULL, &out, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "spec"), "size")), 2);
	long gen = (long)json_integer_value(json_object_get(json_object_get(out, "metadata"), "generation"));
	json_decref(out);

	/* Status goes through its subresource and does not bump the generation. */
	json_t *st = json_pack("{s:{s:s}}", "status", "phase", "Ready");
	assert_int_equal(kube_patch(c, &status, KUBE_PATCH_MERGE, st, NULL, &out, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(out, "status"), "phase")),
			    "Ready");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "metadata"), "generation")),
			 gen);
	json_decref(out);

	json_t *jp = json_pack("[{s:s, s:s, s:i}]", "op", "replace", "path", "/spec/size", "value", 5);
	assert_int_equal(kube_patch(c, &ref, KUBE_PATCH_JSON, jp, NULL, &out, &err), 0);
	json_decref(out);

	/* Strategic merge is for built-in types only: the API says so. */
	assert_true(kube_patch(c, &ref, KUBE_PATCH_STRATEGIC, merge, NULL, NULL, &err) < 0);
	assert_int_equal(err.http_code, 415);

	struct kube_patch_opts apply = { .field_manager = "autotrace-itest", .force = 1 };
	json_t *ssa = json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:s}}", "apiVersion",
				"test.autotrace.dev/v1", "kind", "Widget", "metadata", "name", "w1",
				"spec", "size", 7, "color", "blue");
	assert_int_equal(kube_patch(c, &ref, KUBE_PATCH_APPLY, ssa, &apply, &out, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(out, "spec"), "color")),
			    "blue");
	json_decref(out);

	assert_int_equal(kube_delete(c, &ref, &(struct kube_delete_opts){ .propagation_policy = "Foreground" },
				     &err), 0);
	json_decref(w);
	json_decref(merge);
	json_decref(st);
	json_decref(jp);
	json_decref(ssa);
}

static void list_pages_and_selectors(void **state)
{
	struct kube_ref coll = { .res = &KUBE_CONFIGMAPS, .ns = ns };
	struct kube_error err;
	char name[32];

	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "page-%02d", i);
		json_t *cm = kt_configmap(ns, name, "i", name);
		json_object_set_new(json_object_get(cm, "metadata"), "labels",
				    json_pack("{s:s}", "parity", i % 2 ? "odd" : "even"));
		assert_int_equal(kube_create(c, &coll, cm, NULL, &err), 0);
		json_decref(cm);
	}
	/* One page of 10 has a continue token. */
	json_t *page = NULL;
	struct kube_list_opts lo = { .limit = 10, .label_selector = "parity in (odd,even)" };
	assert_int_equal(kube_list(c, &coll, &lo, &page, &err), 0);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 10);
	assert_non_null(json_string_value(json_object_get(json_object_get(page, "metadata"), "continue")));
	json_decref(page);

	/* Every page, with a label selector: the 12 odd ones. */
	json_t *items = NULL;
	char *rv = NULL;
	lo = (struct kube_list_opts){ .limit = 5, .label_selector = "parity=odd" };
	assert_int_equal(kube_list_all(c, &coll, &lo, &items, &rv, &err), 0);
	assert_int_equal(json_array_size(items), 12);
	assert_non_null(rv);
	json_decref(items);
	free(rv);

	/* A field selector. */
	lo = (struct kube_list_opts){ .field_selector = "metadata.name=page-07" };
	assert_int_equal(kube_list_all(c, &coll, &lo, &items, NULL, &err), 0);
	assert_int_equal(json_array_size(items), 1);
	json_decref(items);

	/* A selector the server cannot parse is an Invalid/BadRequest with its message. */
	lo = (struct kube_list_opts){ .label_selector = "parity in (odd" };
	assert_int_equal(kube_list(c, &coll, &lo, &page, &err), -EINVAL);
	assert_int_equal(err.http_code, 400);
	assert_true(err.message[0] != '\0');
}

static void cluster_scoped_and_other_groups(void **state)
{
	struct kube_error err;
	json_t *items = NULL;

	assert_int_equal(kube_list_all(c, &(struct kube_ref){ .res = &KUBE_NODES }, NULL, &items, NULL,
				       &err), 0);
	assert_true(json_array_size(items) >= 1);
	json_decref(items);
	assert_int_equal(kube_list_all(c, &(struct kube_ref){ .res = &KUBE_LEASES, .ns = "kube-node-lease" },
				       NULL, &items, NULL, &err), 0);
	json_decref(items);
	assert_int_equal(kube_list_all(c, &(struct kube_ref){ .res = &KUBE_MUTATING_WEBHOOK_CONFIGURATIONS },
				       NULL, &items, NULL, &err), 0);
	json_decref(items);
	/* Every namespace at once. */
	assert_int_equal(kube_list_all(c, &(struct kube_ref){ .res = &KUBE_CONFIGMAPS }, NULL, &items,
				       NULL, &err), 0);
	assert_true(json_array_size(items) >= 25);
	json_decref(items);
	/* A name that could change the path never reaches the server. */
	json_t *obj = NULL;
	assert_int_equal(kube_get(c, &(struct kube_ref){ .res = &KUBE_CONFIGMAPS, .ns = ns,
							 .name = "../secrets/x" }, &obj, &err), -EINVAL);
	assert_int_equal(err.kind, KUBE_ERR_LOCAL);
}

/* Transport failures are distinguishable: refused, TLS, timeout. */
static void refused_tls_and_timeout_are_told_apart(void **state)
{
	const struct kube_config *real = kube_client_config(c);
	struct kube_error err;
	json_t *obj = NULL;
	struct kube_ref ref = { .res = &KUBE_NAMESPACES, .name = "default" };

	/* Refused: a port nobody listens on. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(s, (struct sockaddr *)&a, &al);
	int port = ntohs(a.sin_port);
	close(s);
	struct kube_config *cfg = calloc(1, sizeof(*cfg));
	asprintf(&cfg->server, "https://127.0.0.1:%d", port);
	cfg->namespace = strdup("default");
	struct kube_client *refused = NULL;
	assert_int_equal(kube_client_new(cfg, NULL, &refused, &err), 0);
	assert_int_equal(kube_get(refused, &ref, &obj, &err), -ECONNREFUSED);
	assert_int_equal(err.kind, KUBE_ERR_CONNECT);
	kube_client_free(refused);

	/* TLS: the real server, but the system CAs instead of the cluster's. */
	cfg = calloc(1, sizeof(*cfg));
	cfg->server = strdup(real->server);
	cfg->namespace = strdup("default");
	struct kube_client *untrusted = NULL;
	assert_int_equal(kube_client_new(cfg, NULL, &untrusted, &err), 0);
	assert_int_equal(kube_get(untrusted, &ref, &obj, &err), -EPROTO);
	assert_int_equal(err.kind, KUBE_ERR_TLS);
	kube_client_free(untrusted);

	/* Timeout: a listener that accepts and never answers. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = 0;
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	listen(s, 4);
	al = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &al);
	cfg = calloc(1, sizeof(*cfg));
	asprintf(&cfg->server, "https://127.0.0.1:%d", ntohs(a.sin_port));
	cfg->namespace = strdup("default");
	struct kube_client *silent = NULL;
	struct kube_client_opts o = { .request_timeout_ms = 300 };
	assert_int_equal(kube_client_new(cfg, &o, &silent, &err), 0);
	assert_int_equal(kube_get(silent, &ref, &obj, &err), -ETIMEDOUT);
	assert_int_equal(err.kind, KUBE_ERR_TIMEOUT);
	kube_client_free(silent);
	close(s);
}

struct exchange_seen {
	int done, rc;
	long code;
	size_t bytes;
};

static int count_body(void *ud, long code, const char *data, size_t len, struct kube_error *err)
{
	((struct exchange_seen *)ud)->bytes += len;
	return 0;
}

static void note_done(void *ud, int rc, long code, const struct kube_error *err)
{
	struct exchange_seen *s = ud;

	s->done = 1;
	s->rc = rc;
	s->code = code;
}

static int exchange_done(void *ud)
{
	return ((struct exchange_seen *)ud)->done;
}

/* Watches and asynchronous calls open a connection each: the second and later ones
 * resume the TLS session of the first instead of a full handshake. */
static void a_new_connection_resumes_the_tls_session(void **state)
{
	static const struct kube_conn_ops ops = { .on_body = count_body, .on_done = note_done };
	struct kube_client *fresh = kt_client();
	struct event_base *base = event_base_new();
	struct kube_request req = { .path = "/api/v1/namespaces/default" };

	for (int i = 0; i < 3; i++) {
		struct exchange_seen seen = { 0 };
		struct kube_conn *conn = NULL;

		assert_int_equal(kube_client_open(fresh, base, &conn, NULL), 0);
		assert_int_equal(kube_client_send(fresh, conn, &req, &ops, &seen, NULL), 0);
		assert_true(kt_run_until(base, exchange_done, &seen, 10000));
		assert_int_equal(seen.rc, 0);
		assert_int_equal(seen.code, 200);
		assert_true(seen.bytes > 50);
		/* The first connection has no session to resume; the later ones do. */
		assert_int_equal(kube_conn_tls_resumed(conn), i > 0);
		kube_conn_free(conn);
	}
	event_base_free(base);
	kube_client_free(fresh);
}

/* A response over the client's bound is an error, not an allocation that grows. */
static void a_response_over_the_bound_is_refused(void **state)
{
	struct kube_config *cfg = NULL;
	struct kube_client *small = NULL;
	struct kube_client_opts o = { .max_response_bytes = 1024 };
	struct kube_error err;
	json_t *list = NULL;
	char errbuf[256];

	assert_int_equal(kube_config_load_default(NULL, &cfg, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(kube_client_new(cfg, &o, &small, NULL), 0);
	assert_int_equal(kube_list(small, &(struct kube_ref){ .res = &KUBE_NAMESPACES }, NULL, &list, &err),
			 -EFBIG);
	assert_int_equal(err.kind, KUBE_ERR_TRANSPORT);
	assert_null(list);
	/* The same client still answers what fits. */
	json_t *obj = NULL;
	assert_int_equal(kube_get(small, &(struct kube_ref){ .res = &KUBE_NAMESPACES, .name = "default" },
				  &obj, &err), 0);
	json_decref(obj);
	kube_client_free(small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(configmap_create_get_update_delete),
		cmocka_unit_test(every_patch_type_on_a_configmap),
		cmocka_unit_test(custom_resource_crud_patch_and_status),
		cmocka_unit_test(list_pages_and_selectors),
		cmocka_unit_test(cluster_scoped_and_other_groups),
		cmocka_unit_test(refused_tls_and_timeout_are_told_apart),
		cmocka_unit_test(a_new_connection_resumes_the_tls_session),
		cmocka_unit_test(a_response_over_the_bound_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
