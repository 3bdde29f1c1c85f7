/* The autotrace-agent daemon as a pod runs it: configured by the OTEL_* environment the
 * webhook sets, then by the mounted config file (a ConfigMap volume, updated by
 * symlink swap), against a real Go server, the real kernel and a real OTLP receiver.
 * What is checked is what a user sees: spans at the collector, /metrics. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>

#include "tests/support/otlp_receiver.h"
#include "tests/support/secretdir.h"

#define AGENT "bin/autotrace-agent"

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	getsockname(s, (struct sockaddr *)&a, &len);
	close(s);
	return ntohs(a.sin_port);
}

/* The newest hello fixture built with the local Go toolchain (mk/fixtures.mk). */
static const char *hello_binary(void)
{
	static char path[512];
	FILE *f = fopen("build/fixtures/manifest.txt", "r");
	char line[600];

	path[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char p[512], ver[64];
		int stripped;
		if (sscanf(line, "%511s %63s %d", p, ver, &stripped) == 3 && !stripped &&
		    !strstr(p, "pie"))
			snprintf(path, sizeof(path), "%s", p); /* the last is the local toolchain's */
	}
	if (f)
		fclose(f);
	return path[0] ? path : NULL;
}

static pid_t spawn(char *const argv[], char *const envp[], const char *log_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execve(argv[0], argv, envp);
		_exit(127);
	}
	return pid;
}

static int stop(pid_t pid, int sig)
{
	int status = 0;

	if (pid <= 0)
		return -1;
	/* pid 0 would signal our own process group. */
	kill(pid, sig);
	waitpid(pid, &status, 0);
	return status;
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
	return s * n;
}

static size_t keep(char *p, size_t s, size_t n, void *ud)
{
	json_t *buf = ud; /* a JSON string we append to */
	size_t len = s * n;
	const char *old = json_string_value(buf);
	char *joined = malloc(strlen(old) + len + 1);
	memcpy(joined, old, strlen(old));
	memcpy(joined + strlen(old), p, len);
	joined[strlen(old) + len] = '\0';
	json_string_set(buf, joined);
	free(joined);
	return len;
}

/* GET url; the status, or -1. */
static long get(const char *url, json_t *body)
{
	CURL *c = curl_easy_init();
	long code = -1;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body ? keep : discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

static int wait_http(const char *url, long timeout_ms)
{
	for (long end = now_ms() + timeout_ms; now_ms() < end; usleep(50000))
		if (get(url, NULL) == 200)
			return 1;
	return 0;
}

/* One scenario's world: a receiver, a Go server, an agent, a config folder. */
struct world {
	struct otlp_receiver *rx;
	pid_t app, agent;
	int app_port, metrics_port;
	char config_dir[64];
	char config_file[128];
	char app_url[64];
	char metrics_url[64];
};

static const char *config_json(const char *endpoint, const char *sampler, double ratio, char *buf,
			       size_t len, int revision)
{
	snprintf(buf, len,
		 "{\"revision\": \"%016x\", \"instrumentation\": \"shop/traces\", "
		 "\"exporter\": {\"endpoint\": \"%s\", \"protocol\": \"http/protobuf\", \"headers\": {}, "
		 "\"timeoutMs\": 5000, \"tls\": {\"insecureSkipVerify\": false}}, "
		 "\"sampler\": {\"type\": \"%s\", \"ratio\": %g}, \"propagators\": [\"tracecontext\"], "
		 "\"resourceAttributes\": {\"deployment.environment\": \"test\"}, "
		 "\"targets\": {\"containerNames\": []}, \"probes\": {\"httpServer\": true}}",
		 revision, endpoint, sampler, ratio);
	return buf;
}

/* An always_on config whose "probes" object is probes (JSON). */
static const char *config_json_probes(const char *endpoint, const char *probes, char *buf,
				      size_t len, int revision)
{
	snprintf(buf, len,
		 "{\"revision\": \"%016x\", \"instrumentation\": \"shop/traces\", "
		 "\"exporter\": {\"endpoint\": \"%s\", \"protocol\": \"http/protobuf\", \"headers\": {}, "
		 "\"timeoutMs\": 5000, \"tls\": {\"insecureSkipVerify\": false}}, "
		 "\"sampler\": {\"type\": \"always_on\", \"ratio\": 1}, \"propagators\": [\"tracecontext\"], "
		 "\"resourceAttributes\": {}, \"targets\": {\"containerNames\": []}, \"probes\": %s}",
		 revision, endpoint, probes);
	return buf;
}

static void publish_config(struct world *w, const char *json)
{
	struct secretdir_file f = { "config.json", json, strlen(json) };
	assert_int_equal(secretdir_write(w->config_dir, &f, 1), 0);
}

/* The HTTP service with a handler that makes HTTP calls (/call?url=), built with the
 * local Go toolchain (mk/fixtures.mk's httpsvc manifest, its last unstripped line). */
static const char *calling_binary(void)
{
	static char path[512];
	FILE *f = fopen("build/fixtures/httpsvc-manifest.txt", "r");
	char line[600];

	path[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char p[512], ver[64];
		int stripped;
		if (sscanf(line, "%511s %63s %d", p, ver, &stripped) == 3 && !stripped)
			snprintf(path, sizeof(path), "%s", p);
	}
	if (f)
		fclose(f);
	return path[0] ? path : NULL;
}

/* app: the Go server to run and trace; NULL: the hello server. */
static void world_start_app(struct world *w, const char *app, const char *initial_config,
			    const char *sampler_env)
{
	char env_endpoint[160], env_sampler[64], env_port[64], env_cfg[200];
	const char *hello = app ? app : hello_binary();

	memset(w, 0, sizeof(*w));
	assert_non_null(hello);
	assert_int_equal(otlp_receiver_start(0, &w->rx), 0);
	w->app_port = free_port();
	w->metrics_port = free_port();
	snprintf(w->app_url, sizeof(w->app_url), "http://127.0.0.1:%d", w->app_port);
	snprintf(w->metrics_url, sizeof(w->metrics_url), "http://127.0.0.1:%d", w->metrics_port);
	snprintf(w->config_dir, sizeof(w->config_dir), "/tmp/agent-cfg-XXXXXX");
	assert_non_null(mkdtemp(w->config_dir));
	snprintf(w->config_file, sizeof(w->config_file), "%s/config.json", w->config_dir);
	if (initial_config)
		publish_config(w, initial_config);

	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", w->app_port);
	char *app_argv[] = { (char *)hello, "-addr", addr, NULL };
	char *no_env[] = { NULL };
	w->app = spawn(app_argv, no_env, "build/atest-agent-app.log");
	assert_true(wait_http(w->app_url, 10000));

	snprintf(env_endpoint, sizeof(env_endpoint), "OTEL_EXPORTER_OTLP_ENDPOINT=%s",
		 otlp_receiver_endpoint(w->rx));
	snprintf(env_sampler, sizeof(env_sampler), "OTEL_TRACES_SAMPLER=%s", sampler_env);
	snprintf(env_port, sizeof(env_port), "AUTOTRACE_METRICS_PORT=%d", w->metrics_port);
	snprintf(env_cfg, sizeof(env_cfg), "AUTOTRACE_CONFIG_FILE=%s", w->config_file);
	char env_target[PATH_MAX + 32];
	/* Only this app: the test host runs other Go programs (a whole control plane). */
	char abs[PATH_MAX];
	assert_non_null(realpath(hello, abs));
	snprintf(env_target, sizeof(env_target), "AUTOTRACE_TARGET_EXE=%s", abs);
	char *agent_env[] = {
		env_endpoint, env_sampler, env_port, env_cfg, env_target, "OTEL_SERVICE_NAME=checkout",
		"OTEL_RESOURCE_ATTRIBUTES=k8s.namespace.name=shop,k8s.pod.name=checkout-0",
		"OTEL_EXPORTER_OTLP_TIMEOUT=2000", "AUTOTRACE_LOG_LEVEL=debug", NULL,
	};
	char *agent_argv[] = { AGENT, "--scan-interval-ms", "200", NULL };
	w->agent = spawn(agent_argv, agent_env, "build/atest-agent-daemon.log");
	char readyz[96];
	snprintf(readyz, sizeof(readyz), "%s/readyz", w->metrics_url);
	assert_true(wait_http(readyz, 10000));
}

static void world_start(struct world *w, const char *initial_config, const char *sampler_env)
{
	world_start_app(w, NULL, initial_config, sampler_env);
}

static void world_stop(struct world *w)
{
	char cmd[128];

	stop(w->agent, SIGKILL);
	stop(w->app, SIGKILL);
	w->rx = otlp_receiver_free(w->rx);
	if (w->config_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", w->config_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", w->config_dir);
	}
	memset(w, 0, sizeof(*w));
}

/* Sends n requests to path; the number that answered 200. */
static int send_requests(struct world *w, const char *path, int n)
{
	char url[160];
	int ok = 0;

	snprintf(url, sizeof(url), "%s%s", w->app_url, path);
	for (int i = 0; i < n; i++)
		ok += get(url, NULL) == 200;
	return ok;
}

/* The metrics page, as a new JSON string. */
static json_t *scrape(struct world *w)
{
	char url[96];
	json_t *body = json_string("");
	snprintf(url, sizeof(url), "%s/metrics", w->metrics_url);
	assert_int_equal(get(url, body), 200);
	return body;
}

/* The value of the sample line starting "name{labels} " on the page, or -1. */
static double sample(json_t *page, const char *prefix)
{
	char needle[512];
	snprintf(needle, sizeof(needle), "\n%s", prefix);
	const char *p = strstr(json_string_value(page), needle);
	return p ? strtod(p + strlen(needle), NULL) : -1;
}

/* Waits until probes are attached to the app (the agent scans every 200 ms). */
static void wait_attached(struct world *w)
{
	for (long end = now_ms() + 10000; now_ms() < end; usleep(100000)) {
		json_t *page = scrape(w);
		double n = sample(page, "autotrace_agent_processes_instrumented ");
		json_decref(page);
		if (n >= 1)
			return;
	}
	fail_msg("the agent never attached to the Go server (see build/atest-agent-daemon.log)");
}

/* `promtool check metrics`'s checks ($METRICS_LINT) on a page. */
static void assert_lint_clean(json_t *page)
{
	const char *checker = getenv("METRICS_LINT");
	char path[] = "/tmp/agent-metrics-XXXXXX", cmd[600];
	const char *text = json_string_value(page);
	int fd;

	if (!checker || access(checker, X_OK) != 0) {
		fprintf(stderr, "# METRICS_LINT not set: exposition not linted\n");
		return;
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s check metrics < %s", checker, path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
}

static size_t count_spans_named(json_t *spans, const char *path)
{
	size_t i, n = 0;
	json_t *s;

	json_array_foreach(spans, i, s) {
		const char *p = json_string_value(json_object_get(json_object_get(s, "attributes"), "url.path"));
		n += p && strcmp(p, path) == 0;
	}
	return n;
}

/* The scenario under way, stopped by the teardown even when an assertion failed. */
static struct world cur;

static int teardown_world(void **state)
{
	world_stop(&cur);
	return 0;
}

static void environment_alone_gives_spans_with_the_pods_resource(void **state)
{
	json_t *spans = NULL;

	world_start(&cur, NULL, "always_on");
	wait_attached(&cur);
	assert_int_equal(send_requests(&cur, "/checkout", 40), 40);
	assert_int_equal(otlp_receiver_wait_spans(cur.rx, 40, 10000, &spans), 0);
	assert_int_equal(count_spans_named(spans, "/checkout"), 40);
	json_t *res = json_object_get(json_array_get(spans, 0), "resource");
	assert_string_equal(json_string_value(json_object_get(res, "service.name")), "checkout");
	assert_string_equal(json_string_value(json_object_get(res, "k8s.pod.name")), "checkout-0");
	json_decref(spans);

	/* /metrics counts what happened, and passes `promtool check metrics`'s checks
	 * ($METRICS_LINT: tools/metrics-lint, or a real promtool). */
	json_t *page = scrape(&cur);
	assert_true(sample(page, "autotrace_agent_requests_total ") >= 40);
	assert_true(sample(page, "http_server_request_duration_seconds_count{http_request_method=\"GET\","
				 "http_response_status_code=\"200\"} ") >= 40);
	assert_lint_clean(page);
	json_decref(page);
}

/* A service that calls others: its calls show in http_client_request_duration_seconds
 * and the client counters, the mechanism carrying trace context is named, and the page
 * with those families still passes the lint. */
static void client_calls_show_in_metrics_and_pass_the_lint(void **state)
{
	const char *app = calling_binary();
	char path[80];
	json_t *page;

	assert_non_null(app);
	world_start_app(&cur, app, NULL, "always_on");
	wait_attached(&cur);
	snprintf(path, sizeof(path), "/call?url=http://127.0.0.1:%d/hello", cur.app_port);
	assert_int_equal(send_requests(&cur, path, 10), 10);
	snprintf(path, sizeof(path), "/call?url=http://127.0.0.1:%d/status/503", cur.app_port);
	send_requests(&cur, path, 3);
	assert_int_equal(send_requests(&cur, "/call?url=http://127.0.0.1:1/refused", 2), 0);
	page = scrape(&cur);
	assert_true(sample(page, "autotrace_agent_client_requests_total ") >= 15);
	snprintf(path, sizeof(path), "server_address=\"127.0.0.1\",server_port=\"%d\"} ", cur.app_port);
	char series[256];
	snprintf(series, sizeof(series), "http_client_request_duration_seconds_count{"
		 "http_request_method=\"GET\",http_response_status_code=\"200\",%s", path);
	assert_true(sample(page, series) >= 10);
	assert_non_null(strstr(json_string_value(page), "error_type=\"503\""));
	assert_non_null(strstr(json_string_value(page),
			       "server_address=\"127.0.0.1\",server_port=\"1\",error_type=\"_OTHER\"}"));
	assert_non_null(strstr(json_string_value(page), "autotrace_agent_propagation_info{mechanism=\"sk_msg\"} 1"));
	assert_lint_clean(page);
	json_decref(page);
}

static int spans_now(struct world *w);

/* The database/sql service (tests/fixtures/go/dbsvc), local toolchain. */
static const char *db_binary(void)
{
	static char path[512];
	glob_t g;

	path[0] = '\0';
	if (glob("build/fixtures/dbsvc-go*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (!strstr(g.gl_pathv[i], ".modinfo"))
				snprintf(path, sizeof(path), "%s", g.gl_pathv[i]);
		globfree(&g);
	}
	return path[0] ? path : NULL;
}

/* Waits until /metrics says the config of this revision is in force. */
static void wait_revision(struct world *w, int revision)
{
	char needle[96];

	snprintf(needle, sizeof(needle), "autotrace_agent_config_info{revision=\"%016x\"", revision);
	for (long end = now_ms() + 10000; now_ms() < end; usleep(100000)) {
		json_t *page = scrape(w);
		int found = strstr(json_string_value(page), needle) != NULL;

		json_decref(page);
		if (found)
			return;
	}
	fail_msg("revision %d never applied (see build/atest-agent-daemon.log)", revision);
}

/* Spans received so far: how many are HTTP clients, database clients, and database
 * clients with db.query.text, past the first `skip`. */
struct span_counts {
	size_t total, http_clients, db_clients, db_with_text;
};

static struct span_counts count_spans(struct world *w, size_t skip, size_t want, int timeout_ms)
{
	struct span_counts c = { 0 };
	json_t *spans = NULL, *s;
	size_t i;

	if (otlp_receiver_wait_spans(w->rx, skip + want, timeout_ms, &spans) != 0) {
		json_decref(spans);
		spans = NULL;
		assert_int_equal(otlp_receiver_spans(w->rx, &spans), 0);
	}
	usleep(300000); /* anything beyond what was waited for */
	json_decref(spans);
	assert_int_equal(otlp_receiver_spans(w->rx, &spans), 0);
	json_array_foreach(spans, i, s) {
		json_t *attrs = json_object_get(s, "attributes");

		if (i < skip)
			continue;
		c.total++;
		if (json_integer_value(json_object_get(s, "kind")) != 3)
			continue;
		if (json_object_get(attrs, "http.request.method"))
			c.http_clients++;
		if (json_object_get(attrs, "db.operation.name")) {
			c.db_clients++;
			c.db_with_text += json_object_get(attrs, "db.query.text") != NULL;
		}
	}
	json_decref(spans);
	return c;
}

/* spec.probes through the config file, live: httpClient off stops client spans while
 * the server spans go on, and on again brings them back; databaseSql.queryText turns
 * db.query.text on; the database RED family is on /metrics and passes the lint. */
static void probe_families_and_query_text_switch_live(void **state)
{
	const char *app = db_binary();
	char cfg[2048];
	struct span_counts c;
	size_t seen;
	json_t *page;

	assert_non_null(app);
	world_start_app(&cur, app, NULL, "always_on");
	wait_attached(&cur);
	publish_config(&cur, config_json_probes(otlp_receiver_endpoint(cur.rx),
						"{\"httpClient\": {\"enabled\": false}, "
						"\"databaseSql\": {\"enabled\": true}}",
						cfg, sizeof(cfg), 1));
	wait_revision(&cur, 1);
	seen = (size_t)spans_now(&cur);
	assert_int_equal(send_requests(&cur, "/call", 5), 5);
	assert_int_equal(send_requests(&cur, "/db", 5), 5);
	/* /call, /hello and /db: 15 server spans, and 10 database spans without text. */
	c = count_spans(&cur, seen, 25, 5000);
	assert_int_equal(c.http_clients, 0);
	assert_int_equal(c.total, 25);
	assert_int_equal(c.db_clients, 10);
	assert_int_equal(c.db_with_text, 0);

	publish_config(&cur, config_json_probes(otlp_receiver_endpoint(cur.rx),
						"{\"httpClient\": {\"enabled\": true}, "
						"\"databaseSql\": {\"enabled\": true, \"queryText\": true}}",
						cfg, sizeof(cfg), 2));
	wait_revision(&cur, 2);
	seen = (size_t)spans_now(&cur);
	assert_int_equal(send_requests(&cur, "/call", 5), 5);
	assert_int_equal(send_requests(&cur, "/db", 5), 5);
	c = count_spans(&cur, seen, 30, 5000);
	assert_int_equal(c.http_clients, 5);
	assert_int_equal(c.db_clients, 10);
	assert_int_equal(c.db_with_text, 10);
	assert_int_equal(c.total, 30);

	page = scrape(&cur);
	assert_true(sample(page, "db_client_operation_duration_seconds_count{db_system_name=\"sqlite\","
				 "db_operation_name=\"SELECT\"} ") >= 10);
	assert_true(sample(page, "db_client_operation_duration_seconds_count{db_system_name=\"sqlite\","
				 "db_operation_name=\"INSERT\"} ") >= 10);
	assert_lint_clean(page);
	json_decref(page);
}

static int spans_now(struct world *w)
{
	json_t *spans = NULL;
	int n = otlp_receiver_spans(w->rx, &spans) == 0 ? (int)json_array_size(spans) : -1;
	json_decref(spans);
	return n;
}

/* The mounted file wins over the environment, and a new revision applies live: the
 * sampler switches within 2 s, with no restart. */
static void a_config_change_applies_live_within_two_seconds(void **state)
{
	char cfg[2048];

	world_start(&cur, NULL, "always_on");
	publish_config(&cur, config_json(otlp_receiver_endpoint(cur.rx), "always_off", 1, cfg, sizeof(cfg), 1));
	wait_attached(&cur);
	usleep(2000000);
	int before = spans_now(&cur);
	assert_int_equal(send_requests(&cur, "/off", 20), 20);
	usleep(1500000);
	/* always_off from the file: nothing exported despite always_on in the env. */
	assert_int_equal(spans_now(&cur), before);

	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	uint64_t changed_ns = (uint64_t)wall.tv_sec * 1000000000ull + (uint64_t)wall.tv_nsec;
	publish_config(&cur, config_json(otlp_receiver_endpoint(cur.rx), "always_on", 1, cfg, sizeof(cfg), 2));
	/* A request every 50 ms for 4 s: the first one traced tells when the change took. */
	for (int i = 0; i < 80; i++) {
		send_requests(&cur, "/on", 1);
		usleep(50000);
	}
	json_t *spans = NULL;
	assert_int_equal(otlp_receiver_wait_spans(cur.rx, (size_t)before + 1, 10000, &spans), 0);
	uint64_t first = 0;
	size_t i;
	json_t *sp;
	json_array_foreach(spans, i, sp) {
		const char *p = json_string_value(json_object_get(json_object_get(sp, "attributes"), "url.path"));
		uint64_t start = (uint64_t)json_integer_value(json_object_get(sp, "start"));
		if (p && strcmp(p, "/on") == 0 && (!first || start < first))
			first = start;
	}
	json_decref(spans);
	assert_true(first > 0);
	long took = (long)((int64_t)(first - changed_ns) / 1000000);
	fprintf(stderr, "config change applied to requests %ld ms after the file changed\n", took);
	assert_true(took <= 2000);
	json_t *page = scrape(&cur);
	assert_non_null(strstr(json_string_value(page), "autotrace_agent_config_info{revision=\"0000000000000002\""));
	json_decref(page);
}

static void an_invalid_file_keeps_the_previous_config(void **state)
{
	char cfg[2048];

	world_start(&cur, config_json("http://127.0.0.1:1", "always_on", 1, cfg, sizeof(cfg), 7), "always_off");
	/* Fix the endpoint to the receiver with a good revision, then break the file. */
	publish_config(&cur, config_json(otlp_receiver_endpoint(cur.rx), "always_on", 1, cfg, sizeof(cfg), 8));
	wait_attached(&cur);
	usleep(1500000);
	publish_config(&cur, "{\"revision\": \"0000000000000009\", \"sampler\": {\"type\": \"sometimes\"}}");
	usleep(1500000);
	json_t *page = scrape(&cur);
	assert_true(sample(page, "autotrace_agent_config_errors_total ") >= 1);
	assert_true(sample(page, "autotrace_agent_config_last_load_failed ") == 1);
	json_decref(page);
	/* Still tracing with revision 8. */
	json_t *spans = NULL;
	assert_int_equal(send_requests(&cur, "/still", 10), 10);
	assert_int_equal(otlp_receiver_wait_spans(cur.rx, 10, 10000, &spans), 0);
	assert_int_equal(count_spans_named(spans, "/still"), 10);
	json_decref(spans);
}

/* The collector goes away: the agent neither crashes nor grows without bound, it
 * counts what it drops, and export resumes when the collector is back. */
static void a_collector_outage_is_survived(void **state)
{
	json_t *spans = NULL;

	world_start(&cur, NULL, "always_on");
	wait_attached(&cur);
	assert_int_equal(otlp_receiver_stop(cur.rx), 0);
	assert_int_equal(send_requests(&cur, "/during", 200), 200);
	/* The failed export shows in the metrics (within 10 s: a loaded machine delays the
	 * batch and the refused connection). */
	double failed = 0;
	for (long end = now_ms() + 10000; failed < 1 && now_ms() < end; usleep(200000)) {
		json_t *page = scrape(&cur);
		failed = sample(page, "autotrace_agent_export_requests_total{result=\"retryable_error\"} ");
		json_decref(page);
	}
	assert_true(failed >= 1);
	assert_int_equal(kill(cur.agent, 0), 0); /* still alive */
	assert_int_equal(otlp_receiver_restart(cur.rx), 0);
	assert_int_equal(send_requests(&cur, "/after", 20), 20);
	/* Everything sent after the collector came back arrives, once the backoff (1 s
	 * growing 1.5x, +-50%) lets the queue go again. */
	for (long end = now_ms() + 45000; now_ms() < end; usleep(200000)) {
		json_decref(spans);
		spans = NULL;
		otlp_receiver_spans(cur.rx, &spans);
		if (count_spans_named(spans, "/after") == 20)
			break;
	}
	assert_int_equal(count_spans_named(spans, "/after"), 20);
	json_decref(spans);
}

/* SIGTERM with spans queued: they are all exported before the agent exits 0. */
static void sigterm_flushes_what_is_queued(void **state)
{
	json_t *spans = NULL;

	world_start(&cur, NULL, "always_on");
	wait_attached(&cur);
	assert_int_equal(send_requests(&cur, "/last", 100), 100);
	int status = stop(cur.agent, SIGTERM);
	cur.agent = -1;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(otlp_receiver_wait_spans(cur.rx, 100, 5000, &spans), 0);
	assert_int_equal(count_spans_named(spans, "/last"), 100);
	json_decref(spans);
}

int main(void)
{
	if (access(AGENT, X_OK) != 0) {
		printf("1..1\nnot ok 1 - %s is not built\n", AGENT);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(environment_alone_gives_spans_with_the_pods_resource, teardown_world),
		cmocka_unit_test_teardown(a_config_change_applies_live_within_two_seconds, teardown_world),
		cmocka_unit_test_teardown(an_invalid_file_keeps_the_previous_config, teardown_world),
		cmocka_unit_test_teardown(a_collector_outage_is_survived, teardown_world),
		cmocka_unit_test_teardown(sigterm_flushes_what_is_queued, teardown_world),
		cmocka_unit_test_teardown(client_calls_show_in_metrics_and_pass_the_lint, teardown_world),
		cmocka_unit_test_teardown(probe_families_and_query_text_switch_live, teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
