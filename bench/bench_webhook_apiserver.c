/* Pods per second through the API server, without and with the webhook in the path:
 * the same pods (a Deployment's pod with the ServiceAccount token the API server adds,
 * bound round-robin to the kwok nodes) are created from 8 clients, in three arms that
 * take turns (A B C D E E D C B A, so that drift in the cluster falls on all of them):
 *   - without: a namespace the webhook's namespaceSelector does not match, so the API
 *     server never calls it (as if it were not registered);
 *   - injecting: an opted-in namespace, the webhook adds the agent to every pod;
 *   - not opted in: the webhook is called and leaves the pod as it is (most of a
 *     fleet's pods);
 *   - null webhook: tools/null-webhook (Go's net/http, answers "allowed" at once) is
 *     called instead: the floor of what a webhook call costs through the API server on
 *     this machine, whatever the webhook does (skipped when null-webhook is not on
 *     PATH; `make bench` puts it there);
 *   - pre-injected, no call: the pod as the webhook leaves it, created in a namespace no
 *     webhook selects: what the sidecar itself costs the cluster (a bigger pod to store,
 *     schedule and start), so that injecting / pre-injected is the webhook's own share.
 * Each turn waits for kwok to have started the pods of the one before, so no turn
 * pays for another's. Prints each arm's rate and its ratio to "without", and the
 * webhook's latency as the API server measured it
 * (apiserver_admission_webhook_admission_duration_seconds, p50/p99 interpolated in its
 * buckets) next to the webhook's own histogram, for the injecting arm; and, when
 * $BENCH_APISERVER_SPANS names the file an OTLP receiver writes the API server's traces
 * to (bench/run.sh sets that up), the exact p50/p99 of its "Call mutating webhook"
 * spans: one client in eight carries a sampled traceparent with a trace id of the arm's
 * own (tracing costs the API server too: a sample keeps that off the rates), and the
 * one-create-at-a-time runs carry it on every create.
 * Needs a cluster with kwok nodes ($KUBECONFIG, bench/run.sh gives one) and the
 * Instrumentation CRD (applied from crds/ when missing). Run from the repository root.
 * Usage: bench_webhook_apiserver [pods per arm, default 2000] */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/kube/api.h"
#include "tests/support/kube_test.h"
#include "tests/support/webhook_proc.h"

#define THREADS	    8
#define SERIAL_PODS 200
#define CONFIG_NAME "autotrace-bench-webhook"
#define MAX_BUCKETS 64

static int n_pods = 2000;
static json_t *nodes; /* names of the kwok nodes */
/* A pod as the webhook left it, server fields removed: what the pre-injected arm
 * creates (read-only while workers run). */
static json_t *injected_template;

struct worker {
	pthread_t thread;
	const char *ns;
	const char *traceparent;
	const json_t *template; /* NULL: the plain pod */
	int first, step, base, count;
	int created, failed;
};

static void *create_pods(void *arg)
{
	struct worker *wk = arg;
	const char *headers[] = { wk->traceparent ? "traceparent" : NULL, wk->traceparent, NULL };
	struct kube_client *c = kt_client_with(&(struct kube_client_opts){ .extra_headers = headers });
	struct kube_ref ref = { .res = &KUBE_PODS, .ns = wk->ns };
	char name[64];

	for (int i = wk->base + wk->first; i < wk->base + wk->count; i += wk->step) {
		const char *node = json_string_value(json_array_get(nodes, (size_t)i %
									      json_array_size(nodes)));
		json_t *pod;

		snprintf(name, sizeof(name), "web-7d4b9c8f6d-%05d", i);
		if (wk->template) {
			pod = json_deep_copy(wk->template);
			json_object_set_new(json_object_get(pod, "metadata"), "name", json_string(name));
			json_object_set_new(json_object_get(pod, "spec"), "nodeName",
					    json_string(node ? node : "kwok-node-0"));
		} else
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

/* Creates pods base .. base+count-1 in ns from `threads` clients; into *ret_ms the time
 * it took, into *ret_created / *ret_failed the counts. */
static void run(const char *ns, const char *traceparent, const json_t *template, int threads,
		int base, int count, long *ret_ms, int *ret_created, int *ret_failed)
{
	struct worker wk[THREADS];
	long t0 = kt_now_ms();
	int created = 0, failed = 0;

	for (int t = 0; t < threads; t++) {
		wk[t] = (struct worker){ .ns = ns, .traceparent = t == 0 ? traceparent : NULL,
					 .template = template,
					 .first = t, .step = threads,
					 .base = base, .count = count };
		if (pthread_create(&wk[t].thread, NULL, create_pods, &wk[t]) != 0) {
			wk[t].thread = 0;
			wk[t].failed = count / threads;
		}
	}
	for (int t = 0; t < threads; t++) {
		if (wk[t].thread)
			pthread_join(wk[t].thread, NULL);
		created += wk[t].created;
		failed += wk[t].failed;
	}
	*ret_ms = kt_now_ms() - t0;
	*ret_created = created;
	*ret_failed = failed;
}

/* Waits (up to a minute) until kwok has every pod of ns running. */
static void wait_started(struct kube_client *c, const char *ns)
{
	struct kube_list_opts lo = { .field_selector = "status.phase!=Running", .limit = 1 };

	for (long deadline = kt_now_ms() + 60000; kt_now_ms() < deadline; usleep(250000)) {
		json_t *list = NULL;
		int r = kube_list(c, &(struct kube_ref){ .res = &KUBE_PODS, .ns = ns }, &lo, &list,
				  NULL);
		size_t left = json_array_size(json_object_get(list, "items"));

		json_decref(list);
		if (r == 0 && left == 0)
			return;
	}
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

/* acc += after - before, bucket by bucket (acc takes after's bounds). */
static void accumulate(struct histogram *acc, const struct histogram *before,
		       const struct histogram *after)
{
	if (acc->n == 0) {
		memcpy(acc->le, after->le, sizeof(acc->le));
		acc->n = after->n;
	}
	if (acc->n != after->n || (before->n && before->n != after->n))
		return;
	for (int i = 0; i < after->n; i++)
		acc->count[i] += after->count[i] - (before->n ? before->count[i] : 0);
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

#define ARM_LABEL "bench.autotrace.dev/webhook"

/* A namespace with an Instrumentation; opted in or not, and selected by our webhook
 * (1), by the null webhook (2) or by none (0). */
static int arm_namespace(struct kube_client *c, const char *prefix, int opted_in, int selected,
			 char *ns, size_t len)
{
	json_t *annot = json_pack("{s:{s:{s:s?}, s:{s:s}}}", "metadata", "annotations",
				  "autotrace.dev/inject", opted_in ? "true" : NULL, "labels",
				  ARM_LABEL, selected == 1 ? "yes" : selected == 2 ? "null" : "no");
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

/* One pod through the webhook in ns, read back and stripped of what the server sets:
 * the template of the pre-injected arm. 0 or a negative errno. */
static int capture_injected(struct kube_client *c, const char *ns)
{
	static const char *const meta_keep[] = { "name", "labels", "annotations",
						 "ownerReferences", NULL };
	struct kube_ref ref = { .res = &KUBE_PODS, .ns = ns, .name = "web-7d4b9c8f6d-template" };
	struct worker wk = { .ns = ns, .first = 0, .step = 1, .base = 99999, .count = 1 };
	json_t *pod = NULL;
	int r;

	create_pods(&wk);
	if (wk.created != 1)
		return -EIO;
	ref.name = "web-7d4b9c8f6d-99999";
	r = kube_get(c, &ref, &pod, NULL);
	kube_delete(c, &ref, NULL, NULL);
	if (r < 0)
		return r;
	if (!json_object_get(json_object_get(pod, "spec"), "initContainers")) {
		json_decref(pod);
		return -ENOENT; /* not injected */
	}
	json_object_del(pod, "status");
	kube_obj_keep(json_object_get(pod, "metadata"), meta_keep);
	injected_template = pod;
	return 0;
}

enum arm { WITHOUT, INJECTING, NOT_OPTED_IN, NULL_HOOK, PRE_INJECTED, ARMS };

static const char *const arm_title[ARMS] = { "without the webhook", "injecting",
					      "called, not opted in", "null webhook (floor)",
					      "pre-injected, no call" };

#define NULL_CONFIG_NAME "autotrace-bench-null-webhook"
#define NULL_HOOK_NAME	 "null.bench.autotrace.dev"

/* Starts tools/null-webhook with w's certificates; its pid, or -1. */
static pid_t start_null_webhook(const struct webhook_proc *w, int *ret_port)
{
	char cert[700], key[700], port_file[700];
	pid_t pid;

	snprintf(cert, sizeof(cert), "%s/tls.crt", w->cert_dir);
	snprintf(key, sizeof(key), "%s/tls.key", w->cert_dir);
	snprintf(port_file, sizeof(port_file), "%s/null-webhook.port", w->dir);
	unlink(port_file);
	pid = fork();
	if (pid == 0) {
		execlp("null-webhook", "null-webhook", "-cert", cert, "-key", key, "-port-file",
		       port_file, (char *)NULL);
		_exit(127);
	}
	for (long deadline = kt_now_ms() + 10000; pid > 0 && kt_now_ms() < deadline;
	     usleep(50000)) {
		FILE *f = fopen(port_file, "r");
		int port = 0;

		if (f) {
			int ok = fscanf(f, "%d", &port) == 1;

			fclose(f);
			if (ok && port > 0) {
				*ret_port = port;
				return pid;
			}
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

struct arm_result {
	char ns[64];
	char trace_id[33];
	char traceparent[64];
	long ms;
	int created, failed;
	struct histogram api, own; /* summed over the arm's turns */
	double *call_ms;           /* the API server's webhook call spans, from its traces */
	size_t calls, calls_cap;
};

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank of a sorted array. */
static double rank_of(const double *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);

	return v[i ? i - 1 : 0];
}

/* Reads the API server's "Call mutating webhook" spans from the receiver's file (one
 * JSON span a line) into the arm whose trace id they carry. 0, or -errno. */
static int read_webhook_spans(const char *path, struct arm_result *arm, int arms)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (!strstr(line, "\"Call mutating webhook\""))
			continue;
		json_t *span = json_loads(line, 0, NULL);
		const char *tid = json_string_value(json_object_get(span, "trace_id"));
		json_int_t start = json_integer_value(json_object_get(span, "start"));
		json_int_t end = json_integer_value(json_object_get(span, "end"));

		for (int a = 0; tid && a < arms; a++) {
			struct arm_result *r = &arm[a];

			if (strcmp(tid, r->trace_id) != 0 || end < start)
				continue;
			if (r->calls == r->calls_cap) {
				size_t ncap = r->calls_cap ? 2 * r->calls_cap : 1024;
				double *p = realloc(r->call_ms, ncap * sizeof(*p));
				if (!p)
					break;
				r->call_ms = p;
				r->calls_cap = ncap;
			}
			r->call_ms[r->calls++] = (double)(end - start) / 1e6;
		}
		json_decref(span);
	}
	free(line);
	fclose(f);
	for (int a = 0; a < arms; a++)
		if (arm[a].calls)
			qsort(arm[a].call_ms, arm[a].calls, sizeof(double), by_value);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const ours[] = { "name=\"" WEBHOOK_PROC_HOOK_NAME "\"",
					    "operation=\"CREATE\"", NULL };
	static const char *const null_hook[] = { "name=\"" NULL_HOOK_NAME "\"",
						 "operation=\"CREATE\"", NULL };
	static const char *const none[] = { NULL };
	static const enum arm order[] = { WITHOUT,   INJECTING,	   NOT_OPTED_IN, NULL_HOOK,
					  PRE_INJECTED, PRE_INJECTED, NULL_HOOK, NOT_OPTED_IN,
					  INJECTING,	WITHOUT };
	const int turns_per_arm = 2;
	struct webhook_proc w = { 0 };
	struct webhook_proc_opts o = { .name = "bench-webhook-apiserver", .cpu = -1,
				       .log_level = "warn" };
	struct arm_result arm[ARMS] = { 0 }, serial[ARMS] = { 0 };
	int next_base[ARMS] = { 0 }, rc = 1, per_turn;
	json_t *selector = NULL, *null_selector = NULL;
	pid_t null_pid = -1;
	int null_port = 0;
	struct kube_client *c;

	if (!getenv("KUBECONFIG")) {
		printf("bench_webhook_apiserver: needs $KUBECONFIG (a cluster with kwok nodes); "
		       "not run\n");
		return 0;
	}
	for (int a = 0; a < ARMS; a++) {
		/* Trace ids of our own, one an arm: the API server samples what carries one. */
		snprintf(arm[a].trace_id, sizeof(arm[a].trace_id), "%016llx%016llx",
			 (unsigned long long)getpid() | 0xbe0c000000000000ull, (unsigned long long)a + 1);
		snprintf(arm[a].traceparent, sizeof(arm[a].traceparent), "00-%s-%016llx-01",
			 arm[a].trace_id, (unsigned long long)a + 0x100);
		snprintf(serial[a].trace_id, sizeof(serial[a].trace_id), "%016llx%016llx",
			 (unsigned long long)getpid() | 0xbe0c000000000000ull,
			 (unsigned long long)a + 0x101);
		snprintf(serial[a].traceparent, sizeof(serial[a].traceparent), "00-%s-%016llx-01",
			 serial[a].trace_id, (unsigned long long)a + 0x200);
	}
	if (argc > 1 && strtol(argv[1], NULL, 10) > 0 && strtol(argv[1], NULL, 10) < 1000000)
		n_pods = (int)strtol(argv[1], NULL, 10);
	per_turn = n_pods / turns_per_arm;
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
	if (arm_namespace(c, "bench-without", 1, 0, arm[WITHOUT].ns, sizeof(arm[0].ns)) < 0 ||
	    arm_namespace(c, "bench-with", 1, 1, arm[INJECTING].ns, sizeof(arm[0].ns)) < 0 ||
	    arm_namespace(c, "bench-plain", 0, 1, arm[NOT_OPTED_IN].ns, sizeof(arm[0].ns)) < 0 ||
	    arm_namespace(c, "bench-null", 0, 2, arm[NULL_HOOK].ns, sizeof(arm[0].ns)) < 0 ||
	    arm_namespace(c, "bench-pre", 1, 0, arm[PRE_INJECTED].ns, sizeof(arm[0].ns)) < 0) {
		fprintf(stderr, "bench_webhook_apiserver: cannot prepare the namespaces\n");
		goto out;
	}
	if (webhook_proc_start(&w, &o, 15000) < 0 || webhook_proc_wait_ready(&w, 30000) < 0) {
		fprintf(stderr, "bench_webhook_apiserver: the webhook did not start; see %s\n",
			w.log_file);
		goto out;
	}
	selector = json_pack("{s:{s:s}}", "matchLabels", ARM_LABEL, "yes");
	if (!selector || webhook_proc_register(c, &w, CONFIG_NAME, 10, selector) < 0) {
		fprintf(stderr, "bench_webhook_apiserver: cannot register the webhook\n");
		goto out;
	}
	null_pid = start_null_webhook(&w, &null_port);
	if (null_pid > 0) {
		char url[64];

		snprintf(url, sizeof(url), "https://127.0.0.1:%d/", null_port);
		null_selector = json_pack("{s:{s:s}}", "matchLabels", ARM_LABEL, "null");
		if (!null_selector || webhook_proc_register_url(c, &w, NULL_CONFIG_NAME, NULL_HOOK_NAME,
								url, 10, null_selector) < 0) {
			fprintf(stderr, "bench_webhook_apiserver: cannot register the null webhook\n");
			goto out;
		}
	} else {
		printf("bench_webhook_apiserver: null-webhook not on PATH or not starting: no floor "
		       "arm\n");
	}
	sleep(2); /* the API server picks the configurations up */
	if (capture_injected(c, arm[INJECTING].ns) < 0) {
		fprintf(stderr, "bench_webhook_apiserver: the webhook did not inject a first pod\n");
		goto out;
	}

	for (size_t t = 0; t < sizeof(order) / sizeof(order[0]); t++) {
		struct arm_result *r = &arm[order[t]];
		const char *const *hook = order[t] == NULL_HOOK ? null_hook : ours;
		struct histogram a0, a1, w0, w1;

		if (order[t] == NULL_HOOK && null_pid <= 0)
			continue;
		char *p0 = apiserver_metrics(c), *wp0 = webhook_metrics(&w), *p1, *wp1;
		long ms;
		int created, failed;

		run(r->ns, r->traceparent, order[t] == PRE_INJECTED ? injected_template : NULL, THREADS,
		    next_base[order[t]], per_turn, &ms, &created, &failed);
		next_base[order[t]] += per_turn;
		p1 = apiserver_metrics(c);
		wp1 = webhook_metrics(&w);
		r->ms += ms;
		r->created += created;
		r->failed += failed;
		if (p0 && p1 && wp0 && wp1) {
			read_histogram(p0, "apiserver_admission_webhook_admission_duration_seconds",
				       hook, &a0);
			read_histogram(p1, "apiserver_admission_webhook_admission_duration_seconds",
				       hook, &a1);
			read_histogram(wp0, "autotrace_webhook_admission_duration_seconds", none, &w0);
			read_histogram(wp1, "autotrace_webhook_admission_duration_seconds", none, &w1);
			accumulate(&r->api, &a0, &a1);
			accumulate(&r->own, &w0, &w1);
		}
		free(p0);
		free(p1);
		free(wp0);
		free(wp1);
		wait_started(c, r->ns);
	}
	/* The latency a lone pod create sees, with no queue in the API server: one client,
	 * one create at a time, traced apart. */
	for (int a = INJECTING; a < ARMS && getenv("BENCH_APISERVER_SPANS"); a++) {
		long ms;
		int created, failed;

		if (a == PRE_INJECTED || (a == NULL_HOOK && null_pid <= 0))
			continue;
		snprintf(serial[a].ns, sizeof(serial[a].ns), "%s", arm[a].ns);
		run(arm[a].ns, serial[a].traceparent, NULL, 1, next_base[a], SERIAL_PODS, &ms, &created,
		    &failed);
		next_base[a] += SERIAL_PODS;
		wait_started(c, arm[a].ns);
	}

	printf("%d pods per arm through the API server from %d clients, bound round-robin to "
	       "%zu kwok nodes, in turns A B C D E E D C B A\n", per_turn * turns_per_arm, THREADS,
	       json_array_size(nodes));
	double base = arm[WITHOUT].ms > 0 ? arm[WITHOUT].created * 1000.0 / arm[WITHOUT].ms : 0;
	for (int a = 0; a < ARMS; a++) {
		if (a == NULL_HOOK && null_pid <= 0)
			continue;
		double rate = arm[a].ms > 0 ? arm[a].created * 1000.0 / arm[a].ms : 0;

		printf("  %-24s %8.1f pods/s%s", arm_title[a], rate,
		       arm[a].failed ? " (some creates failed)" : "");
		if (a != WITHOUT && base > 0)
			printf("   ratio %.2f", rate / base);
		printf("\n");
	}
	if (arm[INJECTING].ms > 0 && arm[PRE_INJECTED].ms > 0 && arm[PRE_INJECTED].created > 0)
		printf("  the webhook's share of the injected pods' cost: injecting / pre-injected "
		       "= %.2f\n",
		       (arm[INJECTING].created * 1000.0 / arm[INJECTING].ms) /
			       (arm[PRE_INJECTED].created * 1000.0 / arm[PRE_INJECTED].ms));
	for (int a = INJECTING; a < ARMS; a++) {
		static const struct histogram zero;

		if ((a == NULL_HOOK && null_pid <= 0) || a == PRE_INJECTED)
			continue;
		double total, wtotal;
		double p50 = quantile(&zero, &arm[a].api, 0.50, &total);
		double p99 = quantile(&zero, &arm[a].api, 0.99, &total);
		double wp50 = quantile(&zero, &arm[a].own, 0.50, &wtotal);
		double wp99 = quantile(&zero, &arm[a].own, 0.99, &wtotal);

		printf("  %s: the API server's view (%.0f calls) p50 %.2f ms, p99 %.2f ms, %.0f%% "
		       "within 5 ms",
		       arm_title[a], total, p50 * 1e3, p99 * 1e3,
		       100 * share_at_most(&zero, &arm[a].api, 0.005));
		if (a != NULL_HOOK)
			printf("; the webhook's own (%.0f) p50 %.3f ms, p99 %.3f ms", wtotal,
			       wp50 * 1e3, wp99 * 1e3);
		printf("\n");
	}
	printf("  (the API server's buckets are 5 ms, 25 ms, 100 ms, ...: its figures are "
	       "interpolated inside them)\n");
	const char *spans = getenv("BENCH_APISERVER_SPANS");
	if (spans && spans[0]) {
		sleep(6); /* the API server's span exporter sends a batch every 5 s */
		if (read_webhook_spans(spans, arm, ARMS) < 0 || read_webhook_spans(spans, serial, ARMS) < 0)
			printf("  the API server's traces: cannot read %s\n", spans);
		printf("  the webhook call as the API server's traces time it (\"Call mutating "
		       "webhook\" spans):\n");
		for (int k = 0; k < 2; k++) {
			struct arm_result *set = k ? serial : arm;

			for (int a = INJECTING; a < ARMS; a++) {
				const struct arm_result *r = &set[a];

				if (a == PRE_INJECTED || !r->calls)
					continue;
				printf("    %-22s %-28s %5zu calls: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
				       "max %.2f ms\n", arm_title[a],
				       k ? "one create at a time" : "8 clients (1 traced)", r->calls,
				       rank_of(r->call_ms, r->calls, 0.50), rank_of(r->call_ms, r->calls, 0.90),
				       rank_of(r->call_ms, r->calls, 0.99), r->call_ms[r->calls - 1]);
			}
		}
	}
	rc = 0;
out:
	webhook_proc_unregister(c, CONFIG_NAME);
	webhook_proc_unregister(c, NULL_CONFIG_NAME);
	if (null_pid > 0) {
		kill(null_pid, SIGTERM);
		waitpid(null_pid, NULL, 0);
	}
	json_decref(null_selector);
	json_decref(injected_template);
	webhook_proc_stop(&w);
	for (int a = 0; a < ARMS; a++) {
		if (arm[a].ns[0])
			kt_namespace_delete(c, arm[a].ns);
		free(arm[a].call_ms);
		free(serial[a].call_ms);
	}
	json_decref(selector);
	json_decref(nodes);
	kube_client_free(c);
	return rc;
}
