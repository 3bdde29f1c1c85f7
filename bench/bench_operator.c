/* autotrace-operator at scale on the local control plane: many namespaces with one
 * Instrumentation each and injected kwok pods on kwok nodes. Prints
 *   - the operator's RSS at scale next to its RSS on the same cluster before the objects
 *     existed (so the ratio is what the objects cost);
 *   - the time from its start to every status converged (observedGeneration, injected
 *     pods, ready agents, config revision), next to the time one client takes just to
 *     list the same objects;
 *   - p50/p99 from a CR change (kubectl-style merge patch) to its ConfigMap's new
 *     revision, next to the time the same change takes to reach a watch (the floor).
 *
 * Size: BENCH_OP_NAMESPACES (default 1000), BENCH_OP_PODS (10000), BENCH_OP_NODES (100),
 * BENCH_OP_CHANGES (100); the defaults are the figures, scale them down on a
 * slow machine. The operator is bin/autotrace-operator (BENCH_OP_BIN to override). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/kube/informer.h"
#include "tests/support/kube_test.h"

#define IN_FLIGHT 32

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	long n = v ? strtol(v, NULL, 10) : def;

	return n > 0 ? n : def;
}

static long n_ns, n_pods, n_nodes, n_changes;
static char run_id[16];

/* --- many requests in flight ------------------------------------------------------- */

typedef int (*gen_fn)(long i, char *path, size_t plen, char *body, size_t blen);

struct pipe_run {
	struct kube_client *c;
	struct event_base *base;
	gen_fn gen;
	const char *method;
	long next, total, in_flight, failed;
};

static void pipe_start(struct pipe_run *p);

static void pipe_done(void *ud, int rc, struct kube_response *resp, const struct kube_error *err)
{
	struct pipe_run *p = ud;

	p->in_flight--;
	if (rc < 0 && rc != -EEXIST)
		p->failed++;
	pipe_start(p);
}

static void pipe_start(struct pipe_run *p)
{
	char path[256], body[2048];

	while (p->next < p->total && p->in_flight < IN_FLIGHT) {
		long i = p->next++;
		if (p->gen(i, path, sizeof(path), body, sizeof(body)) < 0) {
			p->failed++;
			continue;
		}
		struct kube_request req = { .method = p->method, .path = path, .body = body,
					    .body_len = strlen(body),
					    .content_type = strcmp(p->method, "PATCH") == 0
								    ? "application/merge-patch+json"
								    : NULL };
		if (kube_client_call(p->c, p->base, &req, pipe_done, p, NULL) == 0)
			p->in_flight++;
		else
			p->failed++;
	}
}

static int pipe_finished(void *ud)
{
	struct pipe_run *p = ud;
	return p->next >= p->total && p->in_flight == 0;
}

static long run_pipe(struct kube_client *c, struct event_base *base, const char *method,
		     gen_fn gen, long total, const char *what)
{
	struct pipe_run p = { .c = c, .base = base, .gen = gen, .method = method, .total = total };
	long t0 = kt_now_ms();

	pipe_start(&p);
	kt_run_until(base, pipe_finished, &p, 1800000);
	printf("operator: created %ld %s in %.1f s (%ld failed)\n", total - p.failed, what,
	       (double)(kt_now_ms() - t0) / 1000.0, p.failed);
	fflush(stdout);
	return p.failed;
}

static int gen_node(long i, char *path, size_t plen, char *body, size_t blen)
{
	snprintf(path, plen, "/api/v1/nodes");
	snprintf(body, blen,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"bop-node-%ld\","
		 "\"annotations\":{\"node.alpha.kubernetes.io/ttl\":\"0\",\"kwok.x-k8s.io/node\":"
		 "\"fake\"},\"labels\":{\"type\":\"kwok\",\"autotrace-bench\":\"operator\"}}}",
		 i);
	return 0;
}

static int gen_ns(long i, char *path, size_t plen, char *body, size_t blen)
{
	snprintf(path, plen, "/api/v1/namespaces");
	snprintf(body, blen,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
		 "\"bop-%s-%ld\",\"labels\":{\"autotrace-bench\":\"operator\"}}}",
		 run_id, i);
	return 0;
}

static int gen_sa(long i, char *path, size_t plen, char *body, size_t blen)
{
	snprintf(path, plen, "/api/v1/namespaces/bop-%s-%ld/serviceaccounts", run_id, i);
	snprintf(body, blen, "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":"
			     "{\"name\":\"default\"}}");
	return 0;
}

static int gen_inst(long i, char *path, size_t plen, char *body, size_t blen)
{
	snprintf(path, plen, "/apis/autotrace.dev/v1alpha1/namespaces/bop-%s-%ld/instrumentations",
		 run_id, i);
	snprintf(body, blen,
		 "{\"apiVersion\":\"autotrace.dev/v1alpha1\",\"kind\":\"Instrumentation\","
		 "\"metadata\":{\"name\":\"traces\"},\"spec\":{\"exporter\":{\"endpoint\":"
		 "\"http://otel-collector.observability:4318\"},\"sampler\":{\"type\":"
		 "\"parentbased_traceidratio\",\"ratio\":0.25},\"resourceAttributes\":"
		 "{\"deployment.environment.name\":\"bench\"}}}");
	return 0;
}

static int gen_pod(long i, char *path, size_t plen, char *body, size_t blen)
{
	long ns = i % n_ns;

	snprintf(path, plen, "/api/v1/namespaces/bop-%s-%ld/pods", run_id, ns);
	snprintf(body, blen,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"app-%ld\","
		 "\"labels\":{\"autotrace.dev/injected\":\"true\",\"app\":\"bench\"},"
		 "\"annotations\":{\"autotrace.dev/instrumentation\":\"bop-%s-%ld/traces\"}},"
		 "\"spec\":{\"nodeName\":\"bop-node-%ld\",\"automountServiceAccountToken\":false,"
		 "\"initContainers\":[{\"name\":\"autotrace-agent\",\"image\":"
		 "\"registry.invalid/agent:1\",\"restartPolicy\":\"Always\"}],\"containers\":"
		 "[{\"name\":\"app\",\"image\":\"registry.invalid/app:1\"}]}}",
		 i, run_id, ns, i % n_nodes);
	return 0;
}

/* --- reading state ----------------------------------------------------------------- */

/* Injected pods whose agent is ready, and Instrumentations whose status matches. */
static long count_ready_pods(struct kube_client *c)
{
	struct kube_ref ref = { .res = &KUBE_PODS };
	struct kube_list_opts o = { .label_selector = "app=bench", .limit = 2000 };
	json_t *items = NULL;
	long n = 0;
	size_t i;
	json_t *p;

	if (kube_list_all(c, &ref, &o, &items, NULL, NULL) < 0)
		return -1;
	json_array_foreach(items, i, p) {
		json_t *st = json_array_get(json_object_get(json_object_get(p, "status"),
							    "initContainerStatuses"),
					    0);
		n += json_is_true(json_object_get(st, "ready"));
	}
	json_decref(items);
	return n;
}

static long converged_instrumentations(struct kube_client *c)
{
	struct kube_ref ref = { .res = &KUBE_INSTRUMENTATIONS };
	struct kube_list_opts o = { .label_selector = NULL, .limit = 1000 };
	json_t *items = NULL, *it;
	long n = 0;
	size_t i;

	if (kube_list_all(c, &ref, &o, &items, NULL, NULL) < 0)
		return -1;
	json_array_foreach(items, i, it) {
		const char *ns = kube_obj_namespace(it);
		long idx = -1, want;
		const json_t *st = json_object_get(it, "status");

		if (!ns || strncmp(ns, "bop-", 4) != 0 ||
		    sscanf(ns + 4 + strlen(run_id) + 1, "%ld", &idx) != 1)
			continue;
		want = n_pods / n_ns + (idx < n_pods % n_ns ? 1 : 0);
		if (json_integer_value(json_object_get(st, "observedGeneration")) ==
			    json_integer_value(json_object_get(json_object_get(it, "metadata"),
							       "generation")) &&
		    json_integer_value(json_object_get(st, "injectedPods")) == want &&
		    json_integer_value(json_object_get(st, "readyAgents")) == want &&
		    json_object_get(st, "configRevision"))
			n++;
	}
	json_decref(items);
	return n;
}

static long rss_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			sscanf(line + strlen(field) + 1, "%ld", &v);
	fclose(f);
	return v;
}

static int op_port;

/* A free TCP port on 127.0.0.1 for the operator's /metrics. */
static int free_port(void)
{
	FILE *f = popen("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); "
			"print(s.getsockname()[1])'",
			"r");
	int port = 0;

	if (f) {
		if (fscanf(f, "%d", &port) != 1)
			port = 0;
		pclose(f);
	}
	return port;
}

/* Prints the operator's counts of reconciles and API writes. */
static void print_writes(const char *when)
{
	char cmd[256], line[512];
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "curl -s http://127.0.0.1:%d/metrics | grep -E "
		 "'^autotrace_operator_(api_writes|reconciles)_total'",
		 op_port);
	f = popen(cmd, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("operator: %s: %s", when, line);
	pclose(f);
}

static pid_t start_operator(const char *bin, const char *ns, const char *log)
{
	char listen[64];
	pid_t pid;

	op_port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", op_port);
	pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(bin, bin, "--namespace", ns, "--listen", listen, "--no-webhook-cert",
		      "--lease-duration-ms", "5000", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop_operator(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* --- CR change → ConfigMap latency -------------------------------------------------- */

struct watcher {
	char target_ns[128];
	char old_rev[64];
	long seen_cm_ms, seen_cr_ms;
	long change_gen;
};

static void cm_update(void *ud, const json_t *old_obj, const json_t *obj)
{
	struct watcher *w = ud;
	const char *rev = kube_obj_annotation(obj, "autotrace.dev/config-revision");

	if (!w->seen_cm_ms && strcmp(kube_obj_namespace(obj), w->target_ns) == 0 && rev &&
	    strcmp(rev, w->old_rev) != 0)
		w->seen_cm_ms = kt_now_ms();
}

static void cr_update(void *ud, const json_t *old_obj, const json_t *obj)
{
	struct watcher *w = ud;

	if (!w->seen_cr_ms && strcmp(kube_obj_namespace(obj), w->target_ns) == 0 &&
	    json_integer_value(json_object_get(json_object_get(obj, "metadata"), "generation")) >=
		    w->change_gen)
		w->seen_cr_ms = kt_now_ms();
}

static int both_seen(void *ud)
{
	struct watcher *w = ud;
	return w->seen_cm_ms && w->seen_cr_ms;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static double pct(long *v, long n, double p)
{
	long i = (long)(p * (double)(n - 1) + 0.5);
	return n ? (double)v[i] : 0;
}

static int informer_synced(void *ud)
{
	struct kube_informer **infs = ud;
	return kube_informer_has_synced(infs[0]) && kube_informer_has_synced(infs[1]);
}

static void measure_changes(struct kube_client *c, struct event_base *base)
{
	struct watcher w = { 0 };
	struct kube_informer *cms = NULL, *crs = NULL;
	struct kube_informer_opts co = { .res = &KUBE_CONFIGMAPS,
					 .label_selector = "app.kubernetes.io/managed-by=autotrace",
					 .handlers = { .on_update = cm_update }, .ud = &w };
	struct kube_informer_opts ro = { .res = &KUBE_INSTRUMENTATIONS,
					 .handlers = { .on_update = cr_update }, .ud = &w };
	long *op_ms = calloc((size_t)n_changes, sizeof(long));
	long *watch_ms = calloc((size_t)n_changes, sizeof(long));
	long done = 0, missed = 0;

	if (!op_ms || !watch_ms || kube_informer_new(c, base, &co, &cms) < 0 ||
	    kube_informer_new(c, base, &ro, &crs) < 0 || kube_informer_start(cms) < 0 ||
	    kube_informer_start(crs) < 0)
		goto out;
	struct kube_informer *both[2] = { cms, crs };
	kt_run_until(base, informer_synced, both, 120000);
	for (long k = 0; k < n_changes; k++) {
		long idx = (k * 7919) % n_ns;
		char ns[128], cmname[300], patch[128];
		snprintf(ns, sizeof(ns), "bop-%s-%ld", run_id, idx);
		snprintf(cmname, sizeof(cmname), "autotrace.%s.traces", ns);
		const json_t *cm = kube_informer_get(cms, ns, cmname);
		const json_t *cr = kube_informer_get(crs, ns, "traces");
		const char *rev = cm ? kube_obj_annotation(cm, "autotrace.dev/config-revision") : NULL;
		if (!rev || !cr) {
			missed++;
			continue;
		}
		memset(&w, 0, sizeof(w));
		snprintf(w.target_ns, sizeof(w.target_ns), "%s", ns);
		snprintf(w.old_rev, sizeof(w.old_rev), "%s", rev);
		w.change_gen = json_integer_value(json_object_get(json_object_get(cr, "metadata"),
								  "generation")) + 1;
		/* A ratio never used before, so the content always changes. */
		snprintf(patch, sizeof(patch), "{\"spec\":{\"sampler\":{\"ratio\":0.%04ld}}}",
			 1000 + k);
		json_t *p = json_loads(patch, 0, NULL);
		struct kube_ref ref = { .res = &KUBE_INSTRUMENTATIONS, .ns = ns, .name = "traces" };
		long t0 = kt_now_ms();
		int rc = kube_patch(c, &ref, KUBE_PATCH_MERGE, p, NULL, NULL, NULL);
		json_decref(p);
		if (rc < 0 || !kt_run_until(base, both_seen, &w, 10000)) {
			missed++;
			continue;
		}
		op_ms[done] = w.seen_cm_ms - t0;
		watch_ms[done] = w.seen_cr_ms - t0;
		done++;
	}
	qsort(op_ms, (size_t)done, sizeof(long), cmp_long);
	qsort(watch_ms, (size_t)done, sizeof(long), cmp_long);
	printf("operator: CR change -> ConfigMap revision (%ld changes, %ld missed): p50 %.0f ms, "
	       "p99 %.0f ms\n",
	       done, missed, pct(op_ms, done, 0.5), pct(op_ms, done, 0.99));
	printf("operator: baseline CR change -> seen by a watch: p50 %.0f ms, p99 %.0f ms\n",
	       pct(watch_ms, done, 0.5), pct(watch_ms, done, 0.99));
	printf("operator: ratio ConfigMap/watch: p50 %.2f, p99 %.2f\n",
	       pct(op_ms, done, 0.5) / (pct(watch_ms, done, 0.5) ? pct(watch_ms, done, 0.5) : 1),
	       pct(op_ms, done, 0.99) / (pct(watch_ms, done, 0.99) ? pct(watch_ms, done, 0.99) : 1));
out:
	kube_informer_free(cms);
	kube_informer_free(crs);
	free(op_ms);
	free(watch_ms);
}

struct conv {
	struct kube_client *c;
	long want, have, last_poll;
};

static int converged(void *ud)
{
	struct conv *cv = ud;

	if (kt_now_ms() - cv->last_poll < 250)
		return 0;
	cv->last_poll = kt_now_ms();
	cv->have = converged_instrumentations(cv->c);
	return cv->have >= cv->want;
}

static int pods_ready(void *ud)
{
	struct conv *cv = ud;

	if (kt_now_ms() - cv->last_poll < 2000)
		return 0;
	cv->last_poll = kt_now_ms();
	cv->have = count_ready_pods(cv->c);
	return cv->have >= cv->want;
}

int main(int argc, char **argv)
{
	if (!getenv("KUBECONFIG")) {
		printf("operator: skipped, no local control plane (KUBECONFIG unset)\n");
		return 0;
	}
	n_ns = env_long("BENCH_OP_NAMESPACES", 1000);
	n_pods = env_long("BENCH_OP_PODS", 10000);
	n_nodes = env_long("BENCH_OP_NODES", 100);
	n_changes = env_long("BENCH_OP_CHANGES", 100);
	const char *bin = getenv("BENCH_OP_BIN") ? getenv("BENCH_OP_BIN") : "bin/autotrace-operator";
	snprintf(run_id, sizeof(run_id), "%ld", (kt_now_ms() / 1000) % 100000);
	printf("operator: %ld namespaces, one Instrumentation each, %ld injected kwok pods on %ld "
	       "kwok nodes, %ld CR changes (BENCH_OP_NAMESPACES/PODS/NODES/CHANGES)\n",
	       n_ns, n_pods, n_nodes, n_changes);
	if (access(bin, X_OK) != 0) {
		printf("operator: skipped, %s not built\n", bin);
		return 0;
	}
	struct kube_client *c = kt_client();
	struct event_base *base = event_base_new();
	char opns[64], log[128];
	long t0, list_ms;
	pid_t pid;

	snprintf(log, sizeof(log), "build/bench-operator-%s.log", run_id);
	if (kt_namespace_new(c, "bench-op", opns, sizeof(opns)) < 0 ||
	    system("kubectl apply -f crds/instrumentation.yaml >/dev/null && kubectl wait --for "
		   "condition=established crd/instrumentations.autotrace.dev >/dev/null") != 0) {
		printf("operator: cannot prepare the cluster\n");
		return 1;
	}
	/* Baseline RSS: the same binary on this cluster before the objects exist. */
	pid = start_operator(bin, opns, log);
	kt_run_for(base, 3000);
	long idle_rss = rss_kib(pid, "VmRSS");
	stop_operator(pid);

	run_pipe(c, base, "POST", gen_node, n_nodes, "kwok nodes");
	run_pipe(c, base, "POST", gen_ns, n_ns, "namespaces");
	run_pipe(c, base, "POST", gen_sa, n_ns, "ServiceAccounts");
	run_pipe(c, base, "POST", gen_inst, n_ns, "Instrumentations");
	run_pipe(c, base, "POST", gen_pod, n_pods, "injected pods");
	struct conv pr = { .c = c, .want = n_pods };
	t0 = kt_now_ms();
	kt_run_until(base, pods_ready, &pr, 1800000);
	printf("operator: kwok made %ld of %ld agents ready in %.1f s\n", pr.have, n_pods,
	       (double)(kt_now_ms() - t0) / 1000.0);

	/* Baseline time: one client listing what the operator must read. */
	t0 = kt_now_ms();
	count_ready_pods(c);
	converged_instrumentations(c);
	list_ms = kt_now_ms() - t0;

	struct conv cv = { .c = c, .want = n_ns };
	t0 = kt_now_ms();
	pid = start_operator(bin, opns, log);
	int ok = kt_run_until(base, converged, &cv, 1800000);
	long conv_ms = kt_now_ms() - t0;
	long rss = rss_kib(pid, "VmRSS"), hwm = rss_kib(pid, "VmHWM");
	printf("operator: %s %ld of %ld statuses in %.2f s from start (baseline: listing the pods "
	       "and Instrumentations once took %.2f s; ratio %.1f)\n",
	       ok ? "converged" : "NOT converged:", cv.have, n_ns, (double)conv_ms / 1000.0,
	       (double)list_ms / 1000.0, (double)conv_ms / (double)(list_ms ? list_ms : 1));
	printf("operator: RSS %.1f MiB (peak %.1f MiB) at scale vs %.1f MiB idle on the same "
	       "cluster: ratio %.2f, %.1f KiB per injected pod\n",
	       (double)rss / 1024.0, (double)hwm / 1024.0, (double)idle_rss / 1024.0,
	       (double)rss / (double)(idle_rss > 0 ? idle_rss : 1),
	       (double)(rss - idle_rss) / (double)n_pods);
	print_writes("at convergence");
	fflush(stdout);
	measure_changes(c, base);
	print_writes("after the changes");
	printf("operator: RSS after the changes %.1f MiB; log in %s\n",
	       (double)rss_kib(pid, "VmRSS") / 1024.0, log);
	stop_operator(pid);

	/* Clean up without waiting: namespaces take their objects along. */
	if (!getenv("BENCH_OP_KEEP")) {
		struct kube_ref nref = { .res = &KUBE_NAMESPACES };
		struct kube_ref noderef = { .res = &KUBE_NODES };
		for (long i = 0; i < n_ns; i++) {
			char ns[64];
			snprintf(ns, sizeof(ns), "bop-%s-%ld", run_id, i);
			nref.name = ns;
			kube_delete(c, &nref, NULL, NULL);
		}
		for (long i = 0; i < n_nodes; i++) {
			char node[64];
			snprintf(node, sizeof(node), "bop-node-%ld", i);
			noderef.name = node;
			kube_delete(c, &noderef, NULL, NULL);
		}
		kt_namespace_delete(c, opns);
	}
	event_base_free(base);
	kube_client_free(c);
	return 0;
}
