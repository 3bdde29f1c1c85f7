/* The running autotrace-webhook over HTTPS keep-alive, pinned to one core:
 * AdmissionReviews per second and p50/p99 per review (a Deployment's pod in an opted-in
 * namespace, answered with the agent's patch), next to GET /healthz over the same kind
 * of connections in the same run (the server's floor: TLS, HTTP parsing, the loop).
 * The load comes from wrk on the other core: one connection (latency) and 16
 * (throughput). Needs a cluster ($KUBECONFIG; bench/run.sh gives one) for the caches,
 * and wrk; says so and exits 0 without them. Run from the repository root.
 * Usage: bench_webhook_direct [seconds per run, default 5] */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/kube/api.h"
#include "tests/support/admission_fixtures.h"
#include "tests/support/kube_test.h"
#include "tests/support/webhook_proc.h"

#define SERVER_CPU 0
#define CLIENT_CPU 1

struct wrk_figures {
	double per_s, p50_us, p99_us;
	long non_2xx;
};

/* "123.45us", "1.20ms", "2.00s" → µs. */
static double parse_duration_us(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (strncmp(end, "us", 2) == 0)
		return v;
	if (strncmp(end, "ms", 2) == 0)
		return v * 1e3;
	if (*end == 's')
		return v * 1e6;
	return -1;
}

/* Runs wrk on CLIENT_CPU and reads its summary. */
static int run_wrk(const char *url, const char *script, int connections, long seconds,
		   struct wrk_figures *ret)
{
	char conns[16], dur[16], cmd[1024], line[512];
	struct wrk_figures f = { .p50_us = -1, .p99_us = -1 };
	FILE *p;

	snprintf(conns, sizeof(conns), "%d", connections);
	snprintf(dur, sizeof(dur), "%lds", seconds);
	snprintf(cmd, sizeof(cmd), "taskset -c %d wrk -t1 -c%s -d%s --latency %s%s '%s' 2>&1",
		 CLIENT_CPU, conns, dur, script ? "-s " : "", script ? script : "", url);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	while (fgets(line, sizeof(line), p)) {
		char *s = line + strspn(line, " \t");

		if (strncmp(s, "Requests/sec:", 13) == 0)
			f.per_s = strtod(s + 13, NULL);
		else if (strncmp(s, "50%", 3) == 0)
			f.p50_us = parse_duration_us(s + 3 + strspn(s + 3, " "));
		else if (strncmp(s, "99%", 3) == 0)
			f.p99_us = parse_duration_us(s + 3 + strspn(s + 3, " "));
		else if (strncmp(s, "Non-2xx or 3xx responses:", 25) == 0)
			f.non_2xx = strtol(s + 25, NULL, 10);
	}
	if (pclose(p) != 0 || f.per_s <= 0)
		return -EIO;
	*ret = f;
	return 0;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -EIO;
}

static size_t keep(char *data, size_t size, size_t n, void *ud)
{
	char *buf = ud;
	size_t have = strlen(buf), add = size * n;

	if (have + add < 8192) {
		memcpy(buf + have, data, add);
		buf[have + add] = '\0';
	}
	return add;
}

/* One review through libcurl, checking the CA: is it what the benchmark means to time? */
static int check_answer(const struct webhook_proc *w, const char *review)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[128], body[8192] = "";
	CURLcode rc;

	snprintf(url, sizeof(url), "https://127.0.0.1:%u/mutate-v1-pod", (unsigned)w->port);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CAINFO, w->ca_file);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, review);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, (void *)body);
	rc = curl_easy_perform(curl);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK || !strstr(body, "\"patch\"")) {
		fprintf(stderr, "bench_webhook_direct: the review was not answered with a patch "
				"(%s): %.300s\n", curl_easy_strerror(rc), body);
		return -EIO;
	}
	return 0;
}

static void print_row(const char *what, const struct wrk_figures *f, const struct wrk_figures *base)
{
	printf("  %-34s %9.0f/s  p50 %7.1f us  p99 %7.1f us", what, f->per_s, f->p50_us, f->p99_us);
	if (base)
		printf("   (%.2fx the rate, %.2fx p50 of /healthz)", f->per_s / base->per_s,
		       f->p50_us / base->p50_us);
	if (f->non_2xx)
		printf("  [%ld non-2xx]", f->non_2xx);
	printf("\n");
}

int main(int argc, char **argv)
{
	long seconds = argc > 1 ? strtol(argv[1], NULL, 10) : 5;
	struct webhook_proc w = { 0 };
	struct webhook_proc_opts o = { .name = "bench-webhook-direct", .cpu = SERVER_CPU,
				       .log_level = "warn" /* no line per review */ };
	struct kube_client *c;
	char ns[64], url_mutate[128], url_health[128], script[700], body_path[700];
	json_t *pod, *inst, *annot;
	char *review = NULL, *lua = NULL;
	struct wrk_figures h1, m1, h16, m16;
	int rc = 0;

	if (!getenv("KUBECONFIG") || system("command -v wrk >/dev/null 2>&1") != 0 ||
	    system("command -v taskset >/dev/null 2>&1") != 0) {
		printf("bench_webhook_direct: needs $KUBECONFIG (a cluster), wrk and taskset; "
		       "not run\n");
		return 0;
	}
	if (seconds < 1 || seconds > 3600)
		seconds = 5;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = kt_client();
	if (kt_namespace_new(c, "bench-wh", ns, sizeof(ns)) < 0) {
		fprintf(stderr, "bench_webhook_direct: cannot create a namespace\n");
		return 1;
	}
	annot = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "autotrace.dev/inject", "true");
	kube_patch(c, &(struct kube_ref){ .res = &KUBE_NAMESPACES, .name = ns }, KUBE_PATCH_MERGE,
		   annot, NULL, NULL, NULL);
	json_decref(annot);
	inst = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}}}", "apiVersion", "autotrace.dev/v1alpha1",
			 "kind", "Instrumentation", "metadata", "name", "traces", "spec", "exporter",
			 "endpoint", "http://collector.observability:4318");
	if (kube_create(c, &(struct kube_ref){ .res = &KUBE_INSTRUMENTATIONS, .ns = ns }, inst,
			NULL, NULL) < 0) {
		printf("bench_webhook_direct: cannot create an Instrumentation (is the CRD "
		       "installed? kubectl apply -f crds/instrumentation.yaml); not run\n");
		json_decref(inst);
		rc = 0;
		goto out;
	}
	json_decref(inst);
	if (webhook_proc_start(&w, &o, 15000) < 0 || webhook_proc_wait_ready(&w, 30000) < 0) {
		fprintf(stderr, "bench_webhook_direct: the webhook did not start; see %s\n",
			w.log_file);
		rc = 1;
		goto out;
	}
	sleep(1); /* the Instrumentation reaches the cache through the watch */
	pod = fixture_json_load("tests/fixtures/webhook/pods/deployment-pod.json");
	review = pod ? fixture_review_new(pod, ns, "3f6f1c2a-0000-4000-8000-00000000bench",
					  "CREATE") : NULL;
	json_decref(pod);
	if (!review || check_answer(&w, review) < 0) {
		rc = 1;
		goto out;
	}
	snprintf(body_path, sizeof(body_path), "%s/review.json", w.dir);
	snprintf(script, sizeof(script), "%s/post-review.lua", w.dir);
	if (asprintf(&lua, "local f = io.open(\"%s\", \"rb\")\nwrk.method = \"POST\"\n"
			   "wrk.body = f:read(\"*a\")\nf:close()\n"
			   "wrk.headers[\"Content-Type\"] = \"application/json\"\n",
		     body_path) < 0 ||
	    write_file(body_path, review) < 0 || write_file(script, lua) < 0) {
		rc = 1;
		goto out;
	}
	snprintf(url_mutate, sizeof(url_mutate), "https://127.0.0.1:%u/mutate-v1-pod",
		 (unsigned)w.port);
	snprintf(url_health, sizeof(url_health), "https://127.0.0.1:%u/healthz", (unsigned)w.port);
	if (run_wrk(url_health, NULL, 1, seconds, &h1) < 0 ||
	    run_wrk(url_mutate, script, 1, seconds, &m1) < 0 ||
	    run_wrk(url_health, NULL, 16, seconds, &h16) < 0 ||
	    run_wrk(url_mutate, script, 16, seconds, &m16) < 0) {
		fprintf(stderr, "bench_webhook_direct: wrk failed\n");
		rc = 1;
		goto out;
	}
	printf("webhook over HTTPS keep-alive, server pinned to CPU %d, wrk on CPU %d, %ld s per "
	       "run; review %zu bytes, answered with the agent's patch\n",
	       SERVER_CPU, CLIENT_CPU, seconds, strlen(review));
	printf(" 1 connection:\n");
	print_row("GET /healthz (baseline)", &h1, NULL);
	print_row("POST /mutate-v1-pod", &m1, &h1);
	printf(" 16 connections:\n");
	print_row("GET /healthz (baseline)", &h16, NULL);
	print_row("POST /mutate-v1-pod", &m16, &h16);
	printf(" webhook RSS after the runs: %ld KiB\n", webhook_proc_rss_kb(&w));
out:
	free(lua);
	free(review);
	webhook_proc_stop(&w);
	kt_namespace_delete(c, ns);
	kube_client_free(c);
	return rc;
}
