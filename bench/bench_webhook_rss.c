/* autotrace-webhook's memory with many namespaces in the cluster: its RSS once ready in
 * a cluster with only its own few namespaces (the baseline), then once 10,000 more
 * (one in `every` annotated autotrace.dev/inject, as a fleet opting in namespace by
 * namespace; default one in ten) exist and the annotated ones have reached its cache
 * (it keeps only those), and what that makes per namespace. Run with every = 1 for the
 * worst case, every namespace opted in. The namespaces are deleted afterwards (the
 * namespace controller finishes that in the background). Needs a cluster ($KUBECONFIG;
 * bench/run.sh gives one).
 * Usage: bench_webhook_rss [namespaces, default 10000] [every, default 10] */
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

#define THREADS 8

static int n_namespaces = 10000;
static int every = 10; /* one namespace in `every` opts in */
static char prefix[32];

struct worker {
	pthread_t thread;
	int first;
	int done, failed;
	int remove; /* 0: create, 1: delete */
};

static void *work(void *arg)
{
	struct worker *wk = arg;
	struct kube_client *c = kt_client();
	char name[64];

	for (int i = wk->first; i < n_namespaces; i += THREADS) {
		struct kube_ref ref = { .res = &KUBE_NAMESPACES };
		int r;

		snprintf(name, sizeof(name), "%s-%05d", prefix, i);
		if (wk->remove) {
			ref.name = name;
			r = kube_delete(c, &ref, NULL, NULL);
		} else {
			json_t *ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}}", "apiVersion",
					       "v1", "kind", "Namespace", "metadata", "name", name,
					       "labels", "bench.autotrace.dev/rss", prefix, "team",
					       i % 7 ? "payments" : "search");

			if (i % every == 0)
				json_object_set_new(json_object_get(ns, "metadata"), "annotations",
						    json_pack("{s:s}", "autotrace.dev/inject", "true"));
			r = ns ? kube_create(c, &ref, ns, NULL, NULL) : -ENOMEM;
			json_decref(ns);
		}
		if (r == 0)
			wk->done++;
		else
			wk->failed++;
	}
	kube_client_free(c);
	return NULL;
}

static int all(int remove, int *ret_failed)
{
	struct worker wk[THREADS];
	int done = 0;

	*ret_failed = 0;
	for (int t = 0; t < THREADS; t++) {
		wk[t] = (struct worker){ .first = t, .remove = remove };
		if (pthread_create(&wk[t].thread, NULL, work, &wk[t]) != 0)
			return -1;
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(wk[t].thread, NULL);
		done += wk[t].done;
		*ret_failed += wk[t].failed;
	}
	return done;
}

/* How many namespaces the API server lists now. */
static double listed_namespaces(void)
{
	struct kube_client *c = kt_client();
	json_t *items = NULL;
	double n = -1;

	if (kube_list_all(c, &(struct kube_ref){ .res = &KUBE_NAMESPACES }, NULL, &items, NULL,
			  NULL) == 0)
		n = (double)json_array_size(items);
	json_decref(items);
	kube_client_free(c);
	return n;
}

static double cached(struct webhook_proc *w)
{
	double v = -1;

	webhook_proc_metric(w, "autotrace_webhook_informer_objects{resource=\"namespaces\"}", &v);
	return v;
}

int main(int argc, char **argv)
{
	struct webhook_proc w = { 0 };
	struct webhook_proc_opts o = { .name = "bench-webhook-rss", .cpu = -1,
				       .log_level = "warn" };
	double base_ns, full_ns, listed, opted_in;
	long rss0, rss1, anon0, anon1, file0, file1, t0, create_ms, sync_ms;
	int created, failed, deleted, rc = 1;

	if (!getenv("KUBECONFIG")) {
		printf("bench_webhook_rss: needs $KUBECONFIG (a cluster); not run\n");
		return 0;
	}
	if (argc > 1 && strtol(argv[1], NULL, 10) > 0 && strtol(argv[1], NULL, 10) < 1000000)
		n_namespaces = (int)strtol(argv[1], NULL, 10);
	if (argc > 2 && strtol(argv[2], NULL, 10) > 0 && strtol(argv[2], NULL, 10) <= 1000)
		every = (int)strtol(argv[2], NULL, 10);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(prefix, sizeof(prefix), "rss-%ld", kt_now_ms() % 100000);
	if (system("kubectl get crd instrumentations.autotrace.dev >/dev/null 2>&1 || "
		   "kubectl apply -f crds/instrumentation.yaml >/dev/null") != 0)
		fprintf(stderr, "bench_webhook_rss: cannot install the CRD\n");
	if (webhook_proc_start(&w, &o, 15000) < 0 || webhook_proc_wait_ready(&w, 30000) < 0) {
		fprintf(stderr, "bench_webhook_rss: the webhook did not start or get ready; "
				"see %s\n", w.log_file);
		webhook_proc_stop(&w);
		return 1;
	}
	sleep(1);
	base_ns = cached(&w);
	rss0 = webhook_proc_rss_kb(&w);
	anon0 = webhook_proc_status_kb(&w, "RssAnon");
	file0 = webhook_proc_status_kb(&w, "RssFile");

	t0 = kt_now_ms();
	created = all(0, &failed);
	create_ms = kt_now_ms() - t0;
	/* The cache holds ours once it holds every opted-in one (it keeps no other). */
	opted_in = base_ns + (n_namespaces + every - 1) / every;
	while (cached(&w) < opted_in && kt_now_ms() - t0 < create_ms + 60000)
		usleep(200000);
	sync_ms = kt_now_ms() - t0 - create_ms;
	full_ns = cached(&w);
	listed = listed_namespaces();
	sleep(1);
	rss1 = webhook_proc_rss_kb(&w);
	anon1 = webhook_proc_status_kb(&w, "RssAnon");
	file1 = webhook_proc_status_kb(&w, "RssFile");
	if (full_ns != opted_in) {
		fprintf(stderr, "bench_webhook_rss: the cache holds %.0f namespaces, %.0f opted in\n",
			full_ns, opted_in);
		goto out;
	}
	printf("webhook RSS by namespaces (%d created in %.1f s, %d failed, one in %d opted in; "
	       "those in the cache %ld ms after the last create)\n", created, create_ms / 1e3,
	       failed, every, sync_ms);
	printf("  baseline: %6.0f namespaces listed    %8ld KiB = %ld KiB anonymous + %ld KiB "
	       "file (libraries)\n", listed - created, rss0, anon0, file0);
	printf("            %6.0f namespaces listed    %8ld KiB = %ld KiB anonymous + %ld KiB "
	       "file   (%.2fx; %.0f bytes per namespace listed; %.0f opted in and cached)\n",
	       listed, rss1, anon1, file1, (double)rss1 / (double)rss0,
	       (double)(rss1 - rss0) * 1024.0 / (double)created, full_ns);
	rc = 0;
out:
	webhook_proc_stop(&w);
	deleted = all(1, &failed);
	printf("  (%d namespaces deleted; the namespace controller finalizes them in the "
	       "background)\n", deleted);
	return rc;
}
