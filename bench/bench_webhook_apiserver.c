/* Pods per second through the API server, without and with the webhook registered:
 * the same 2,000 pods (a Deployment's pod, bound round-robin to the kwok nodes) are
 * created from 8 clients into an opted-in namespace, first with no webhook, then with
 * autotrace-webhook called for every one (and injecting the agent). Prints both rates,
 * their ratio, and the webhook's latency as the API server measured it
 * (apiserver_admission_webhook_admission_duration_seconds, p50/p99 interpolated in its
 * buckets over this run) next to the webhook's own histogram.
 * Needs a cluster with kwok nodes ($KUBECONFIG, bench/run.sh gives one) and the
 * Instrumentation CRD (applied from crds/ when missing). Run from the repository root.
 * Usage: bench_webhook_apiserver [pods per run, default 2000] */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/kube/api.h"
#include "tests/support/kube_test.h"
#include "tests/support/webhook_proc.h"

#define THREADS	    8
#define CONFIG_NAME "autotrace-bench-webhook"
#define MAX_BUCKETS 64

static int n_pods = 2000;
static json_t *nodes; /* names of the kwok nodes */

struct worker {
	pthread_t thread;
	const char *ns;
	int first, step;
	int created, failed;
};

static void *create_pods(void *arg)
{
	struct worker *wk = arg;
	struct kube_client *c = kt_client();
	struct kube_ref ref = { .res = &KUBE_PODS, .ns = wk->ns };
	char name[64];

	for (int i = wk->first; i < n_pods; i += wk->step) {
		const char *node = json_string_value(json_array_get(nodes, (size_t)i %
									      json_array_size(nodes)));
		json_t *pod;

		snprintf(name, sizeof(name), "web-7d4b9c8f6d-%05d", i);
		pod = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:s, s:s, s:b}]}, "
				"s:{s:s, s:[{s:s, s:s}, {s:s, s:s}]}}",
				"apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
				"labels", "app", "web", "pod-template-hash", "7d4b9c8f6d",
				"ownerReferences", "apiVersion", "apps/v1", "kind", "ReplicaSet",
				"name", "web-7d4b9c8f6d", "uid", "5b1f0d3a-0000-4000-8000-000000000001",
				"controller", 1, "spec", "nodeName", node ? node : "kwok-node-0",
				"containers", "name", "web", "image", "registry.invalid/web:2",
				"name", "envoy", "image", "registry.invalid/envoy:1");
		if (pod && kube_create(c, &ref, pod, NULL, NULL) == 0)
			wk->created++;
		else
			wk->failed++;
		json_decref(pod);
	}
	kube_client_free(c);
	return NULL;
}

/* Creates n_pods in ns from THREADS clients; pods per second, or -1. */
static double run(const char *ns, int *ret_failed)
{
	struct worker wk[THREADS];
	long t0 = kt_now_ms(), ms;
	int created = 0, failed = 0;

	for (int t = 0; t < THREADS; t++) {
		wk[t] = (struct worker){ .ns = ns, .first = t, .step = THREADS };
		if (pthread_create(&wk[t].thread, NULL, create_pods, &wk[t]) != 0)
			return -1;
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(wk[t].thread, NULL);
		created += wk[t].created;
		failed += wk[t].failed;
	}
	ms = kt_now_ms() - t0;
	*ret_failed = failed;
	return ms > 0 ? created * 1000.0 / (double)ms : -1;
}

/* ---- histograms from a Prometheus text page ----------------------------------------- */

struct histogram {
	double le[MAX_BUCKETS];
	double count[MAX_BUCKETS]; /* cumulative */
	int n;
};

/* Adds every _bucket line of `family` whose labels contain all of `match` (each a
 * `key="value"` string, NULL-terminated) into h, bucket by bucket. */
static void read_histogram(const char *page, const char *family, const char *const *match,
			   struct histogram *h)
{
	char prefix[200], line[2048];

	snprintf(prefix, sizeof(prefix), "%s_bucket{", family);
	memset(h, 0, sizeof(*h));
	for (const char *l = page; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t n = end ? (size_t)(end - l) : strlen(l);
		int ok = n < sizeof(line) && strncmp(l, prefix, strlen(prefix)) == 0;

		if (ok) {
			memcpy(line, l, n);
			line[n] = '\0';
			for (const char *const *m = match; *m && ok; m++)
				ok = strstr(line, *m) != NULL;
		}
		const char *le = ok ? strstr(line, "le=\"") : NULL;
		const char *sp = ok ? strrchr(line, ' ') : NULL;
		if (le && sp) {
			double bound = strncmp(le + 4, "+Inf", 4) == 0 ? 1e300 : strtod(le + 4, NULL);
			int i;

			for (i = 0; i < h->n && h->le[i] != bound; i++)
				;
			if (i == h->n && h->n < MAX_BUCKETS)
				h->le[h->n++] = bound;
			if (i < h->n)
				h->count[i] += strtod(sp + 1, NULL);
		}
		l = end ? end + 1 : NULL;
	}
}

/* The q-quantile of after - before, interpolated linearly inside its bucket (as
 * Prometheus' histogram_quantile does). Buckets arrive in increasing order. */
static double quantile(const struct histogram *before, const struct histogram *after, double q,
		       double *ret_total)
{
	/* No series before the run (the first call makes it): every bucket was zero. */
	if (before->n == 0) {
		static struct histogram zero;

		memcpy(zero.le, after->le, sizeof(zero.le));
		zero.n = after->n;
		before = &zero;
	}
	double total = after->n ? after->count[after->n - 1] - before->count[after->n - 1] : 0;
	double prev_le = 0, prev = 0;

	*ret_total = total;
	if (total <= 0 || before->n != after->n)
		return -1;
	for (int i = 0; i < after->n; i++) {
		double cum = after->count[i] - before->count[i];

		if (cum >= q * total) {
			if (after->le[i] >= 1e300)
				return prev_le; /* in +Inf: the last finite bound */
			return prev_le + (after->le[i] - prev_le) * (q * total - prev) / (cum - prev);
		}
		prev_le = after->le[i];
		prev = cum;
	}
	return -1;
}

/* The share of after - before at or below bound. */
static double share_at_most(const struct histogram *before, const struct histogram *after,
			    double bound)
{
	double total = after->n ? after->count[after->n - 1] -
					  (before->n ? before->count[after->n - 1] : 0)
				: 0;

	for (int i = 0; total > 0 && (before->n == after->n || !before->n) && i < after->n; i++)
		if (after->le[i] == bound)
			return (after->count[i] - (before->n ? before->count[i] : 0)) / total;
	return -1;
}

static char *apiserver_metrics(struct kube_client *c)
{
	struct kube_request req = { .path = "/metrics" };
	struct kube_response resp = { 0 };
	char *body;

	if (kube_client_do(c, &req, &resp, NULL) < 0)
		return NULL;
	body = resp.body;
	resp.body = NULL;
	kube_response_release(&resp);
	return body;
}

static char *webhook_metrics(struct webhook_proc *w)
{
	char *body = NULL;
	long code;

	return webhook_proc_get(w, "/metrics", &code, &body) == 0 ? body : NULL;
}

/* ---- setup ----------------------------------------------------------------------- */

static int opted_in_namespace(struct kube_client *c, const char *prefix, char *ns, size_t len)
{
	json_t *annot = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
				  "autotrace.dev/inject", "true");
	json_t *inst = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}}}", "apiVersion",
				 "autotrace.dev/v1alpha1", "kind", "Instrumentation", "metadata",
				 "name", "traces", "spec", "exporter", "endpoint",
				 "http://collector.observability:4318");
	struct kube_ref sa = { .res = &KUBE_SERVICEACCOUNTS, .name = "default" };
	int r = kt_namespace_new(c, prefix, ns, len);

	if (r == 0)
		r = kube_patch(c, &(struct kube_ref){ .res = &KUBE_NAMESPACES, .name = ns },
			       KUBE_PATCH_MERGE, annot, NULL, NULL, NULL);
	for (long deadline = kt_now_ms() + 30000; r == 0 && kt_now_ms() < deadline;
	     usleep(200000)) {
		r = kube_create(c, &(struct kube_ref){ .res = &KUBE_INSTRUMENTATIONS, .ns = ns },
				inst, NULL, NULL);
		if (r == -ENOENT) /* a CRD just applied is not served yet */
			r = 0;
		else
			break;
	}
	sa.ns = ns;
	for (long deadline = kt_now_ms() + 30000; r == 0 && kt_now_ms() < deadline;
	     usleep(100000)) {
		json_t *obj = NULL;

		if (kube_get(c, &sa, &obj, NULL) == 0) {
			json_decref(obj);
			break;
		}
	}
	json_decref(annot);
	json_decref(inst);
	return r;
}

static int kwok_nodes(struct kube_client *c)
{
	struct kube_list_opts lo = { .label_selector = "type=kwok" };
	json_t *items = NULL, *n;
	size_t i;
	int r = kube_list_all(c, &(struct kube_ref){ .res = &KUBE_NODES }, &lo, &items, NULL, NULL);

	if (r < 0)
		return r;
	nodes = json_array();
	json_array_foreach(items, i, n)
		json_array_append_new(nodes, json_string(kube_obj_name(n)));
	json_decref(items);
	return json_array_size(nodes) ? 0 : -ENOENT;
}

int main(int argc, char **argv)
{
	static const char *const ours[] = { "name=\"" WEBHOOK_PROC_HOOK_NAME "\"",
					    "operation=\"CREATE\"", NULL };
	static const char *const none[] = { NULL };
	struct webhook_proc w = { 0 };
	struct webhook_proc_opts o = { .name = "bench-webhook-apiserver", .cpu = -1,
				       .log_level = "warn" };
	struct histogram a0, a1, w0, w1;
	char ns_without[64] = "", ns_with[64] = "";
	char *page0 = NULL, *page1 = NULL, *wpage0 = NULL, *wpage1 = NULL;
	double rate_without, rate_with, total, wtotal;
	int failed_without = 0, failed_with = 0, rc = 1;
	struct kube_client *c;

	if (!getenv("KUBECONFIG")) {
		printf("bench_webhook_apiserver: needs $KUBECONFIG (a cluster with kwok nodes); "
		       "not run\n");
		return 0;
	}
	if (argc > 1 && strtol(argv[1], NULL, 10) > 0 && strtol(argv[1], NULL, 10) < 1000000)
		n_pods = (int)strtol(argv[1], NULL, 10);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = kt_client();
	if (kwok_nodes(c) < 0) {
		printf("bench_webhook_apiserver: no kwok nodes (label type=kwok); not run\n");
		kube_client_free(c);
		return 0;
	}
	if (system("kubectl get crd instrumentations.autotrace.dev >/dev/null 2>&1 || "
		   "kubectl apply -f crds/instrumentation.yaml >/dev/null") != 0) {
		fprintf(stderr, "bench_webhook_apiserver: cannot install the CRD\n");
		goto out;
	}
	if (opted_in_namespace(c, "bench-without", ns_without, sizeof(ns_without)) < 0 ||
	    opted_in_namespace(c, "bench-with", ns_with, sizeof(ns_with)) < 0) {
		fprintf(stderr, "bench_webhook_apiserver: cannot prepare the namespaces\n");
		goto out;
	}
	if (webhook_proc_start(&w, &o, 15000) < 0 || webhook_proc_wait_ready(&w, 30000) < 0) {
		fprintf(stderr, "bench_webhook_apiserver: the webhook did not start; see %s\n",
			w.log_file);
		goto out;
	}

	rate_without = run(ns_without, &failed_without);

	if (webhook_proc_register(c, &w, CONFIG_NAME, 10, NULL) < 0) {
		fprintf(stderr, "bench_webhook_apiserver: cannot register the webhook\n");
		goto out;
	}
	sleep(2); /* the API server picks the configuration up */
	page0 = apiserver_metrics(c);
	wpage0 = webhook_metrics(&w);
	rate_with = run(ns_with, &failed_with);
	page1 = apiserver_metrics(c);
	wpage1 = webhook_metrics(&w);
	if (!page0 || !page1 || !wpage0 || !wpage1) {
		fprintf(stderr, "bench_webhook_apiserver: cannot read /metrics\n");
		goto out;
	}
	read_histogram(page0, "apiserver_admission_webhook_admission_duration_seconds", ours, &a0);
	read_histogram(page1, "apiserver_admission_webhook_admission_duration_seconds", ours, &a1);
	read_histogram(wpage0, "autotrace_webhook_admission_duration_seconds", none, &w0);
	read_histogram(wpage1, "autotrace_webhook_admission_duration_seconds", none, &w1);

	printf("%d pods through the API server from %d clients, bound round-robin to %zu kwok "
	       "nodes\n", n_pods, THREADS, json_array_size(nodes));
	printf("  without the webhook            %8.1f pods/s%s\n", rate_without,
	       failed_without ? " (some creates failed)" : "");
	printf("  with the webhook (injecting)   %8.1f pods/s%s   ratio %.2f\n", rate_with,
	       failed_with ? " (some creates failed)" : "", rate_with / rate_without);
	double p50 = quantile(&a0, &a1, 0.50, &total), p99 = quantile(&a0, &a1, 0.99, &total);
	printf("  API server's view of %s (%.0f calls): p50 %.2f ms, p99 %.2f ms\n",
	       WEBHOOK_PROC_HOOK_NAME, total, p50 * 1e3, p99 * 1e3);
	double wp50 = quantile(&w0, &w1, 0.50, &wtotal), wp99 = quantile(&w0, &w1, 0.99, &wtotal);
	printf("  the webhook's own view (%.0f admissions): p50 %.3f ms, p99 %.3f ms\n", wtotal,
	       wp50 * 1e3, wp99 * 1e3);
	printf("  (the API server's buckets are 5 ms, 25 ms, 100 ms, ...: its figures are "
	       "interpolated inside them; %.0f%% of its calls took 5 ms or less)\n",
	       100 * share_at_most(&a0, &a1, 0.005));
	rc = 0;
out:
	webhook_proc_unregister(c, CONFIG_NAME);
	webhook_proc_stop(&w);
	if (ns_without[0])
		kt_namespace_delete(c, ns_without);
	if (ns_with[0])
		kt_namespace_delete(c, ns_with);
	free(page0);
	free(page1);
	free(wpage0);
	free(wpage1);
	json_decref(nodes);
	kube_client_free(c);
	return rc;
}
