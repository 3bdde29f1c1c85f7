#include "tests/support/kube_test.h"

#include "lib/log/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const struct kube_resource KT_WIDGETS = { "test.autotrace.dev", "v1", "widgets", 1 };

long kt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

struct kube_client *kt_client(void)
{
	return kt_client_with(NULL);
}

struct kube_client *kt_client_with(const struct kube_client_opts *opts)
{
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	char err[512];

	log_init_from_env();
	if (kube_config_load_default(NULL, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "no cluster: %s\n", err);
		exit(2);
	}
	if (kube_client_new(cfg, opts, &c, NULL) < 0) {
		fprintf(stderr, "cannot make a client\n");
		exit(2);
	}
	return c;
}

int kt_namespace_new(struct kube_client *c, const char *prefix, char *buf, size_t len)
{
	struct kube_ref ref = { .res = &KUBE_NAMESPACES };
	json_t *ns;
	int rc;

	snprintf(buf, len, "%s-%ld-%d", prefix, kt_now_ms() % 1000000, getpid() % 1000);
	ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
		       "name", buf);
	rc = kube_create(c, &ref, ns, NULL, NULL);
	json_decref(ns);
	return rc;
}

void kt_namespace_delete(struct kube_client *c, const char *ns)
{
	struct kube_ref ref = { .res = &KUBE_NAMESPACES, .name = ns };

	kube_delete(c, &ref, NULL, NULL);
}

int kt_widget_crd_ensure(struct kube_client *c)
{
	struct kube_ref ref = { .res = &KUBE_CRDS };
	json_error_t jerr;
	json_t *crd = json_loads(
		"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
		"\"metadata\":{\"name\":\"widgets.test.autotrace.dev\"},"
		"\"spec\":{\"group\":\"test.autotrace.dev\",\"scope\":\"Namespaced\","
		"\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\"},"
		"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
		"\"subresources\":{\"status\":{}},"
		"\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"
		"\"spec\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true},"
		"\"status\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}}}]}}",
		0, &jerr);
	int rc;

	if (!crd)
		return -EINVAL;
	rc = kube_create(c, &ref, crd, NULL, NULL);
	json_decref(crd);
	if (rc < 0 && rc != -EEXIST)
		return rc;
	/* Served once a list answers. */
	struct kube_ref list = { .res = &KT_WIDGETS, .ns = "default" };
	for (long deadline = kt_now_ms() + 30000; kt_now_ms() < deadline; usleep(100000)) {
		json_t *l = NULL;
		if (kube_list(c, &list, NULL, &l, NULL) == 0) {
			json_decref(l);
			return 0;
		}
	}
	return -ETIMEDOUT;
}

int kt_run_until(struct event_base *base, kt_pred_fn pred, void *ud, long timeout_ms)
{
	long deadline = kt_now_ms() + timeout_ms;

	while (!pred(ud)) {
		if (kt_now_ms() >= deadline)
			return pred(ud);
		kt_run_for(base, 10);
	}
	return 1;
}

void kt_run_for(struct event_base *base, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Runs a control-plane script of e2e/cluster with $CLUSTER_DIR first. */
static int run_script(const char *script, const char *a, const char *b)
{
	const char *dir = getenv("CLUSTER_DIR");
	char cmd[1024];

	if (!dir)
		return -ENOENT;
	snprintf(cmd, sizeof(cmd), "e2e/cluster/%s '%s' %s %s >&2", script, dir, a, b);
	return system(cmd) == 0 ? 0 : -EIO;
}

int kt_cluster_ctl(const char *action, const char *component)
{
	return run_script("ctl.sh", action, component);
}

int kt_etcd_compact(void)
{
	return run_script("etcd-compact.sh", "", "");
}

json_t *kt_configmap(const char *ns, const char *name, const char *k, const char *v)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
			 "metadata", "name", name, "namespace", ns, "data", k, v);
}
