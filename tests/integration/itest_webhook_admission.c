/* The real autotrace-webhook binary behind the real API server, checked on the pods
 * the API server stores: injection of pods created directly and by a Deployment, pods
 * left alone (opted out, kube-system, the webhook's own namespace), Instrumentations
 * not listable yet (no CRD), a hung and a dead webhook (failurePolicy Ignore, within
 * timeoutSeconds), a certificate rotated while pods are being created, /metrics, and
 * SIGTERM. The daemon's stderr is build/itest-webhook/webhook.log. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "lib/instrumentation/naming.h"
#include "lib/kube/api.h"
#include "tests/support/kube_test.h"
#include "tests/support/webhook_proc.h"

#define CONFIG_NAME   "autotrace-itest-webhook"
#define TIMEOUT_S     2
#define INST_NAME     "traces"
#define ENDPOINT      "http://collector.observability:4318"
#define SELECTOR_KEY  "itest.autotrace.dev/webhook"
#define ROTATIONS     5
#define LOAD_THREADS  4
#define LOAD_PODS     15 /* per thread */
#define SHUTDOWN_DELAY_MS 1500
#define STR(x)		  #x
#define XSTR(x)		  STR(x)

static struct kube_client *c;
static struct webhook_proc wh;
static char run_id[32], app_ns[64], own_ns[64];
static int crd_was_missing;
/* Admissions the daemon running now has seen, counted by the tests. */
static int seen_injected, seen_opted_out, seen_excluded;

/* ---- objects ------------------------------------------------------------------- */

static int namespace_new(const char *prefix, char *buf, size_t len)
{
	struct kube_ref ref = { .res = &KUBE_NAMESPACES };
	json_t *ns;
	int r;

	snprintf(buf, len, "%s-%s", prefix, run_id);
	ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s}}}", "apiVersion", "v1", "kind",
		       "Namespace", "metadata", "name", buf, "labels", SELECTOR_KEY, run_id,
		       "annotations", "autotrace.dev/inject", "true");
	r = kube_create(c, &ref, ns, NULL, NULL);
	json_decref(ns);
	return r;
}

/* Pods are refused until the namespace's default ServiceAccount exists. */
static int wait_service_account(const char *ns)
{
	struct kube_ref ref = { .res = &KUBE_SERVICEACCOUNTS, .ns = ns, .name = "default" };

	for (long deadline = kt_now_ms() + 30000; kt_now_ms() < deadline; usleep(100000)) {
		json_t *sa = NULL;

		if (kube_get(c, &ref, &sa, NULL) == 0) {
			json_decref(sa);
			return 0;
		}
	}
	return -ETIMEDOUT;
}

static json_t *pod_json(const char *name, const char *inject, const char *batch)
{
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:{}, s:{s:s}}, s:{s:[{s:s, s:s}]}}",
				"apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
				"annotations", "labels", "batch", batch ? batch : "none", "spec",
				"containers", "name", "app", "image", "registry.invalid/app:1");

	if (inject)
		json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
				    "autotrace.dev/inject", json_string(inject));
	return pod;
}

/* Creates a pod on client cl; *ret_pod (may be NULL): the pod as stored, and
 * *ret_ms how long the create took. */
static int create_pod(struct kube_client *cl, const char *ns, const char *name,
		      const char *inject, const char *batch, json_t **ret_pod, long *ret_ms)
{
	struct kube_ref ref = { .res = &KUBE_PODS, .ns = ns };
	json_t *pod = pod_json(name, inject, batch);
	long t0 = kt_now_ms();
	struct kube_error err;
	char buf[700];
	int r = kube_create(cl, &ref, pod, ret_pod, &err);

	if (ret_ms)
		*ret_ms = kt_now_ms() - t0;
	if (r < 0)
		fprintf(stderr, "# create pod %s/%s: %s\n", ns, name,
			kube_error_format(&err, buf, sizeof(buf)));
	json_decref(pod);
	return r;
}

static int instrumentation_create(const char *ns)
{
	struct kube_ref ref = { .res = &KUBE_INSTRUMENTATIONS, .ns = ns };
	json_t *inst = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}}}", "apiVersion",
				 "autotrace.dev/v1alpha1", "kind", "Instrumentation", "metadata",
				 "name", INST_NAME, "spec", "exporter", "endpoint", ENDPOINT);
	int r = -ETIMEDOUT;

	/* A CRD just installed may take a moment to be served. */
	for (long deadline = kt_now_ms() + 30000; kt_now_ms() < deadline; usleep(200000)) {
		r = kube_create(c, &ref, inst, NULL, NULL);
		if (r == 0 || r == -EEXIST)
			break;
	}
	json_decref(inst);
	return r == -EEXIST ? 0 : r;
}

static int crd_installed(void)
{
	struct kube_ref ref = { .res = &KUBE_CRDS, .name = "instrumentations.autotrace.dev" };
	json_t *crd = NULL;
	int r = kube_get(c, &ref, &crd, NULL);

	json_decref(crd);
	return r == 0;
}

/* kubectl apply -f crds/instrumentation.yaml, in effect: the API server takes YAML. */
static int crd_install(void)
{
	struct kube_request req = { .method = "POST",
				    .path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
				    .content_type = "application/yaml" };
	struct kube_response resp = { 0 };
	struct kube_error err;
	char *yaml = NULL;
	size_t len = 0;
	FILE *f = fopen("crds/instrumentation.yaml", "rb");
	int r;

	if (!f)
		return -errno;
	yaml = calloc(1, 1 << 20);
	len = yaml ? fread(yaml, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (!yaml)
		return -ENOMEM;
	req.body = yaml;
	req.body_len = len;
	r = kube_client_do(c, &req, &resp, &err);
	free(yaml);
	kube_response_release(&resp);
	return r == -EEXIST ? 0 : r;
}

/* ---- what a user checks on a stored pod -------------------------------------------- */

static const json_t *named(const json_t *list, const char *name)
{
	size_t i;
	const json_t *item;

	json_array_foreach(list, i, item)
		if (json_is_string(json_object_get(item, "name")) &&
		    strcmp(json_string_value(json_object_get(item, "name")), name) == 0)
			return item;
	return NULL;
}

static const char *env_value(const json_t *container, const char *name)
{
	return json_string_value(json_object_get(named(json_object_get(container, "env"), name),
						 "value"));
}

static void assert_has_agent(const json_t *pod, const char *ns, const char *service)
{
	const json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	const json_t *agent = named(json_object_get(spec, "initContainers"), "autotrace-agent");
	const json_t *vol = named(json_object_get(spec, "volumes"), "autotrace-config");
	char cm[256], inst[160];

	assert_non_null(agent);
	assert_string_equal(json_string_value(json_object_get(agent, "restartPolicy")), "Always");
	assert_string_equal(json_string_value(json_object_get(agent, "image")), wh.agent_image);
	assert_true(json_is_true(json_object_get(spec, "shareProcessNamespace")));
	assert_string_equal(env_value(agent, "OTEL_EXPORTER_OTLP_ENDPOINT") ?: "-", ENDPOINT);
	if (service)
		assert_string_equal(env_value(agent, "OTEL_SERVICE_NAME") ?: "-", service);
	assert_non_null(named(json_object_get(agent, "volumeMounts"), "autotrace-config"));
	assert_non_null(vol);
	assert_int_equal(instrumentation_configmap_name(ns, INST_NAME, cm, sizeof(cm)), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(vol, "configMap"),
							      "name")) ?: "-", cm);
	assert_true(json_is_true(json_object_get(json_object_get(vol, "configMap"), "optional")));
	assert_string_equal(kube_obj_label(pod, "autotrace.dev/injected") ?: "-", "true");
	snprintf(inst, sizeof(inst), "%s/%s", ns, INST_NAME);
	assert_string_equal(kube_obj_annotation(pod, "autotrace.dev/instrumentation") ?: "-", inst);
	/* Every application container says which one it is, for containerNames targets. */
	const json_t *app;
	size_t i;
	json_array_foreach(json_object_get(spec, "containers"), i, app)
		assert_string_equal(env_value(app, "AUTOTRACE_CONTAINER_NAME") ?: "-",
				    json_string_value(json_object_get(app, "name")));
	(void)meta;
}

/* No agent, no label, no status annotation: exactly what was sent. */
static void assert_untouched(const json_t *pod)
{
	const json_t *spec = json_object_get(pod, "spec");

	assert_null(named(json_object_get(spec, "initContainers"), "autotrace-agent"));
	assert_null(named(json_object_get(spec, "volumes"), "autotrace-config"));
	assert_null(kube_obj_label(pod, "autotrace.dev/injected"));
	assert_null(kube_obj_annotation(pod, "autotrace.dev/status"));
	assert_false(json_is_true(json_object_get(spec, "shareProcessNamespace")));
}

/* Does the daemon's log hold this text? */
static int log_has(const char *text)
{
	FILE *f = fopen(wh.log_file, "r");
	char line[2048];
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return found;
}

static double metric(const char *series)
{
	double v = -1;

	if (webhook_proc_metric(&wh, series, &v) < 0)
		return -1;
	return v;
}

static double admissions(const char *result, const char *reason)
{
	char series[160];
	double v;

	snprintf(series, sizeof(series),
		 "autotrace_webhook_admissions_total{result=\"%s\",reason=\"%s\"}", result, reason);
	v = metric(series);
	return v < 0 ? 0 : v;
}

/* Sum of the API server's apiserver_admission_webhook_fail_open_count for our hook. */
static double apiserver_fail_open(void)
{
	static const char prefix[] = "apiserver_admission_webhook_fail_open_count{";
	struct kube_request req = { .path = "/metrics" };
	struct kube_response resp = { 0 };
	double sum = 0;

	if (kube_client_do(c, &req, &resp, NULL) < 0)
		return -1;
	for (const char *line = resp.body; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		char buf[1024];

		if (n < sizeof(buf) && strncmp(line, prefix, sizeof(prefix) - 1) == 0) {
			memcpy(buf, line, n);
			buf[n] = '\0';
			if (strstr(buf, "name=\"" WEBHOOK_PROC_HOOK_NAME "\"") && strrchr(buf, ' '))
				sum += strtod(strrchr(buf, ' ') + 1, NULL);
		}
		line = end ? end + 1 : NULL;
	}
	kube_response_release(&resp);
	return sum;
}

/* ---- setup ----------------------------------------------------------------------- */

static int group_setup(void **state)
{
	static const char *const extra[] = { "--shutdown-delay-ms=" XSTR(SHUTDOWN_DELAY_MS), NULL };
	struct webhook_proc_opts o = { .name = "itest-webhook", .cpu = -1, .extra_args = extra };
	json_t *sel;
	int r;

	c = kt_client();
	snprintf(run_id, sizeof(run_id), "%ld%d", kt_now_ms() % 100000, getpid() % 1000);
	if ((r = namespace_new("itest-wh", app_ns, sizeof(app_ns))) < 0 ||
	    (r = namespace_new("itest-wh-own", own_ns, sizeof(own_ns))) < 0)
		return r;
	o.ns = own_ns;
	crd_was_missing = !crd_installed();
	if ((r = webhook_proc_start(&wh, &o, 15000)) < 0) {
		fprintf(stderr, "# webhook did not start (%s); see %s\n", strerror(-r), wh.log_file);
		return r;
	}
	/* Only this run's namespaces (and never kube-system) reach the webhook, so other
	 * tests sharing the cluster are not affected. */
	sel = json_pack("{s:[{s:s, s:s, s:[s]}, {s:s, s:s, s:[s,s,s]}]}", "matchExpressions",
			"key", SELECTOR_KEY, "operator", "In", "values", run_id, "key",
			"kubernetes.io/metadata.name", "operator", "NotIn", "values", "kube-system",
			"kube-public", "kube-node-lease");
	r = webhook_proc_register(c, &wh, CONFIG_NAME, TIMEOUT_S, sel);
	json_decref(sel);
	if (r < 0)
		return r;
	if ((r = wait_service_account(app_ns)) < 0 || (r = wait_service_account(own_ns)) < 0)
		return r;
	/* The API server picks up a new webhook configuration within a moment. */
	sleep(2);
	return 0;
}

static int group_teardown(void **state)
{
	struct kube_ref pod = { .res = &KUBE_PODS, .ns = "kube-system", .name = NULL };
	char name[64];

	webhook_proc_unregister(c, CONFIG_NAME);
	webhook_proc_stop(&wh);
	snprintf(name, sizeof(name), "itest-wh-%s", run_id);
	pod.name = name;
	kube_delete(c, &pod, NULL, NULL);
	kt_namespace_delete(c, app_ns);
	kt_namespace_delete(c, own_ns);
	kube_client_free(c);
	return 0;
}

/* ---- tests ----------------------------------------------------------------------- */

static void before_the_crd_exists_opted_in_pods_are_admitted_unchanged(void **state)
{
	json_t *pod = NULL;
	char *body = NULL;
	long code = 0;

	if (!crd_was_missing) {
		fprintf(stderr, "# the CRD was already installed: nothing to check before it\n");
		skip();
	}
	assert_int_equal(webhook_proc_get(&wh, "/readyz", &code, &body), 0);
	assert_int_equal(code, 503);
	assert_non_null(strstr(body, "instrumentations"));
	free(body);
	assert_int_equal(create_pod(c, app_ns, "before-crd", NULL, NULL, &pod, NULL), 0);
	assert_untouched(pod);
	json_decref(pod);
	assert_true(admissions("error", "lookup_failed") >= 1);

	assert_int_equal(crd_install(), 0);
	assert_int_equal(instrumentation_create(app_ns), 0);
	/* The informer retries with backoff (at most 10 s) and then lists. */
	assert_int_equal(webhook_proc_wait_ready(&wh, 30000), 0);
}

static void a_pod_in_an_annotated_namespace_gets_the_agent(void **state)
{
	json_t *pod = NULL;

	if (!crd_was_missing) {
		assert_int_equal(instrumentation_create(app_ns), 0);
		assert_int_equal(webhook_proc_wait_ready(&wh, 30000), 0);
	}
	/* The Instrumentation reaches the cache through the watch: give it a moment. */
	for (long deadline = kt_now_ms() + 10000; kt_now_ms() < deadline; usleep(200000))
		if (metric("autotrace_webhook_informer_objects{resource=\"instrumentations\"}") >= 1)
			break;
	assert_int_equal(create_pod(c, app_ns, "direct", NULL, NULL, &pod, NULL), 0);
	assert_has_agent(pod, app_ns, "direct");
	json_decref(pod);
}

static int deployment_pods(const char *ns, json_t **ret_items)
{
	struct kube_ref ref = { .res = &KUBE_PODS, .ns = ns };
	struct kube_list_opts lo = { .label_selector = "app=web" };

	return kube_list_all(c, &ref, &lo, ret_items, NULL, NULL);
}

static int all_running(json_t *items, size_t want)
{
	size_t i;
	json_t *p;

	if (json_array_size(items) != want)
		return 0;
	json_array_foreach(items, i, p) {
		const char *phase = json_string_value(
			json_object_get(json_object_get(p, "status"), "phase"));
		if (!phase || strcmp(phase, "Running") != 0)
			return 0;
	}
	return 1;
}

static void pods_of_a_deployment_get_the_agent_and_run(void **state)
{
	struct kube_ref ref = { .res = &KUBE_DEPLOYMENTS, .ns = app_ns };
	json_t *dep = json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}}, "
				"s:{s:[{s:s, s:s}]}}}}",
				"apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name",
				"web", "spec", "replicas", 2, "selector", "matchLabels", "app", "web",
				"template", "metadata", "labels", "app", "web", "spec", "containers",
				"name", "app", "image", "registry.invalid/web:1");
	json_t *items = NULL, *p;
	size_t i;
	int running = 0;

	assert_int_equal(kube_create(c, &ref, dep, NULL, NULL), 0);
	json_decref(dep);
	for (long deadline = kt_now_ms() + 60000; kt_now_ms() < deadline; usleep(500000)) {
		json_decref(items);
		items = NULL;
		if (deployment_pods(app_ns, &items) == 0 && all_running(items, 2)) {
			running = 1;
			break;
		}
	}
	assert_true(running);
	json_array_foreach(items, i, p)
		assert_has_agent(p, app_ns, "web");
	json_decref(items);
}

static void opted_out_excluded_and_kube_system_pods_are_untouched(void **state)
{
	char inject[160], name[64];
	json_t *pod = NULL;

	assert_int_equal(create_pod(c, app_ns, "opted-out", "false", NULL, &pod, NULL), 0);
	assert_untouched(pod);
	json_decref(pod);

	/* The webhook's own namespace: opted in by its annotation, and still left alone. */
	assert_int_equal(create_pod(c, own_ns, "own", NULL, NULL, &pod, NULL), 0);
	assert_untouched(pod);
	json_decref(pod);

	snprintf(inject, sizeof(inject), "%s/%s", app_ns, INST_NAME);
	snprintf(name, sizeof(name), "itest-wh-%s", run_id);
	assert_int_equal(create_pod(c, "kube-system", name, inject, NULL, &pod, NULL), 0);
	assert_untouched(pod);
	json_decref(pod);
}

static void a_hung_webhook_delays_pods_by_its_timeout_at_most(void **state)
{
	json_t *pod = NULL;
	long ms = 0;

	assert_int_equal(webhook_proc_signal(&wh, SIGSTOP, 0, NULL), 0);
	assert_int_equal(create_pod(c, app_ns, "while-hung", NULL, NULL, &pod, &ms), 0);
	fprintf(stderr, "# created in %ld ms with the webhook stopped (timeoutSeconds %d)\n", ms,
		TIMEOUT_S);
	assert_untouched(pod);
	json_decref(pod);
	/* The API server waited for the webhook, then went on without it. */
	assert_in_range(ms, TIMEOUT_S * 1000 - 500, TIMEOUT_S * 1000 + 2000);
}

static void a_dead_webhook_lets_pods_through_unchanged(void **state)
{
	json_t *pod = NULL;
	long ms = 0;

	assert_int_equal(webhook_proc_signal(&wh, SIGKILL, 1, NULL), 0);
	assert_int_equal(create_pod(c, app_ns, "while-dead", NULL, NULL, &pod, &ms), 0);
	fprintf(stderr, "# created in %ld ms with the webhook gone\n", ms);
	assert_untouched(pod);
	json_decref(pod);
	assert_true(ms < TIMEOUT_S * 1000 + 2000);

	/* Back for the tests that follow; counters start again at zero. */
	assert_int_equal(webhook_proc_restart(&wh, 15000), 0);
	assert_int_equal(webhook_proc_wait_ready(&wh, 30000), 0);
	seen_injected = seen_opted_out = seen_excluded = 0;
}

struct loader {
	pthread_t thread;
	int index;
	int created, failed;
};

static void *load(void *arg)
{
	struct loader *l = arg;
	struct kube_client *cl = kt_client();
	char name[64];

	for (int i = 0; i < LOAD_PODS; i++) {
		snprintf(name, sizeof(name), "rot-%d-%d", l->index, i);
		if (create_pod(cl, app_ns, name, NULL, "rotation", NULL, NULL) == 0)
			l->created++;
		else
			l->failed++;
	}
	kube_client_free(cl);
	return NULL;
}

static void rotating_the_certificate_under_load_fails_no_admission(void **state)
{
	struct kube_ref ref = { .res = &KUBE_PODS, .ns = app_ns };
	struct kube_list_opts lo = { .label_selector = "batch=rotation" };
	struct loader loaders[LOAD_THREADS] = { 0 };
	double fail_open_before = apiserver_fail_open(), fail_open_after, expiry;
	json_t *items = NULL, *p;
	int created = 0, with_agent = 0;
	size_t i;

	for (int t = 0; t < LOAD_THREADS; t++) {
		loaders[t].index = t;
		assert_int_equal(pthread_create(&loaders[t].thread, NULL, load, &loaders[t]), 0);
	}
	for (int k = 1; k <= ROTATIONS; k++) {
		usleep(400000);
		assert_int_equal(webhook_proc_rotate(&wh, 1 + k), 0);
		for (long deadline = kt_now_ms() + 5000; kt_now_ms() < deadline; usleep(50000))
			if (metric("autotrace_webhook_tls_certificate_reloads_total") >= k)
				break;
		assert_int_equal((int)metric("autotrace_webhook_tls_certificate_reloads_total"), k);
	}
	for (int t = 0; t < LOAD_THREADS; t++) {
		pthread_join(loaders[t].thread, NULL);
		created += loaders[t].created;
		assert_int_equal(loaders[t].failed, 0);
	}
	fail_open_after = apiserver_fail_open();
	assert_int_equal(kube_list_all(c, &ref, &lo, &items, NULL, NULL), 0);
	json_array_foreach(items, i, p) {
		assert_has_agent(p, app_ns, NULL);
		with_agent++;
	}
	json_decref(items);
	fprintf(stderr, "# %d pods created during %d rotations, %d with the agent; API server "
		"fail-open count %.0f -> %.0f\n", created, ROTATIONS, with_agent, fail_open_before,
		fail_open_after);
	assert_int_equal(created, LOAD_THREADS * LOAD_PODS);
	assert_int_equal(with_agent, created);
	assert_true(fail_open_after == fail_open_before);
	seen_injected += created;

	/* The last certificate is the one served: valid for 1 + ROTATIONS days. */
	expiry = metric("autotrace_webhook_tls_certificate_expiry_timestamp_seconds");
	double want = (double)time(NULL) + (1 + ROTATIONS) * 86400.0;
	assert_true(expiry > want - 600 && expiry < want + 600);
	assert_int_equal((int)metric("autotrace_webhook_tls_certificate_reload_errors_total"), 0);
	sleep(1); /* the daemon says so in its log within a second */
	assert_true(log_has("serving certificate reloaded"));
}

/* `checker check metrics` (tools/metrics-lint, or a real promtool) accepts text; its
 * problems, if any, go to the test's stderr. */
static int metrics_lint_accepts(const char *checker, const char *text)
{
	char cmd[4200];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' check metrics 1>&2", checker);
	p = popen(cmd, "w");
	if (!p)
		return -1;
	fputs(text, p);
	return pclose(p) == 0;
}

static void metrics_count_what_happened(void **state)
{
	json_t *pod = NULL;
	char *body = NULL;
	long code = 0;

	assert_int_equal(create_pod(c, app_ns, "out-again", "false", NULL, &pod, NULL), 0);
	json_decref(pod);
	seen_opted_out++;
	assert_int_equal(create_pod(c, own_ns, "own-again", NULL, NULL, &pod, NULL), 0);
	json_decref(pod);
	seen_excluded++;

	assert_int_equal(webhook_proc_get(&wh, "/metrics", &code, &body), 0);
	for (const char *l = strstr(body, "\nautotrace_webhook_admissions_total{"); l;
	     l = strstr(l + 1, "\nautotrace_webhook_admissions_total{"))
		fprintf(stderr, "# %.*s\n", (int)strcspn(l + 1, "\n"), l + 1);
	free(body);
	body = NULL;
	assert_int_equal((int)admissions("injected", "sidecar"), seen_injected);
	assert_int_equal((int)admissions("unchanged", "opted_out"), seen_opted_out);
	assert_int_equal((int)admissions("skipped", "excluded_namespace"), seen_excluded);
	/* reinvocationPolicy IfNeeded: the API server may call again for a pod already
	 * injected, and the answer is then "unchanged, already_injected", never a second
	 * agent. */
	double again = admissions("unchanged", "already_injected");
	assert_true(again <= seen_injected);
	assert_int_equal((int)metric("autotrace_webhook_admission_duration_seconds_count"),
			 seen_injected + seen_opted_out + seen_excluded + (int)again);
	assert_int_equal((int)metric("autotrace_webhook_informer_synced{resource=\"namespaces\"}"), 1);
	assert_int_equal(
		(int)metric("autotrace_webhook_informer_synced{resource=\"instrumentations\"}"), 1);

	assert_int_equal(webhook_proc_get(&wh, "/metrics", &code, &body), 0);
	assert_int_equal(code, 200);
	const char *checker = getenv("METRICS_LINT");
	if (checker && access(checker, X_OK) == 0)
		assert_int_equal(metrics_lint_accepts(checker, body), 1);
	else
		fprintf(stderr, "# METRICS_LINT not set: exposition not linted\n");
	free(body);
}

/* With --shutdown-delay-ms, SIGTERM first makes it unready while it goes on admitting
 * (the endpoints catch up meanwhile), then it closes the listener and exits 0. */
static void sigterm_keeps_admitting_for_the_delay_then_exits_zero(void **state)
{
	long t0 = kt_now_ms(), code = 0;
	json_t *pod = NULL;
	char *body = NULL;
	int status = -1;

	assert_int_equal(webhook_proc_signal(&wh, SIGTERM, 0, NULL), 0);
	usleep(100000);
	assert_int_equal(webhook_proc_get(&wh, "/readyz", &code, &body), 0);
	assert_int_equal(code, 503);
	assert_string_equal(body, "stopping\n");
	free(body);
	assert_int_equal(create_pod(c, app_ns, "during-shutdown", NULL, NULL, &pod, NULL), 0);
	assert_has_agent(pod, app_ns, "during-shutdown");
	json_decref(pod);

	assert_int_equal(webhook_proc_signal(&wh, 0, 1, &status), 0);
	fprintf(stderr, "# exited %ld ms after SIGTERM (delay %d ms)\n", kt_now_ms() - t0,
		SHUTDOWN_DELAY_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(kt_now_ms() - t0 >= SHUTDOWN_DELAY_MS - 100);
	assert_true(log_has("requests in flight finished; exiting"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(before_the_crd_exists_opted_in_pods_are_admitted_unchanged),
		cmocka_unit_test(a_pod_in_an_annotated_namespace_gets_the_agent),
		cmocka_unit_test(pods_of_a_deployment_get_the_agent_and_run),
		cmocka_unit_test(opted_out_excluded_and_kube_system_pods_are_untouched),
		cmocka_unit_test(a_hung_webhook_delays_pods_by_its_timeout_at_most),
		cmocka_unit_test(a_dead_webhook_lets_pods_through_unchanged),
		cmocka_unit_test(rotating_the_certificate_under_load_fails_no_admission),
		cmocka_unit_test(metrics_count_what_happened),
		cmocka_unit_test(sigterm_keeps_admitting_for_the_delay_then_exits_zero),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
