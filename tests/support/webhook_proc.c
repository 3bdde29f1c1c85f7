#include "tests/support/webhook_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/kube/api.h"
#include "lib/kube/resource.h"
#include "lib/text/base64.h"
#include "tests/support/secretdir.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A port the kernel says is free now (it could be taken before the daemon binds it;
 * the daemon then fails to start and the caller sees it). */
static int free_port(uint16_t *ret_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		r = -errno;
	close(fd);
	if (r == 0)
		*ret_port = ntohs(a.sin_port);
	return r;
}

int webhook_proc_rotate(struct webhook_proc *w, int days)
{
	struct testcert_issue_opts o = { .common_name = "autotrace-webhook", .days = days,
					 .serial = (uint64_t)(now_ms() * 16 + ++w->certs_issued) };
	char *cert = NULL, *key = NULL;
	int r = testcert_issue_pem(w->ca, &o, &cert, &key);

	if (r == 0) {
		struct secretdir_file files[2] = {
			{ "tls.crt", cert, strlen(cert) },
			{ "tls.key", key, strlen(key) },
		};
		r = secretdir_write(w->cert_dir, files, 2);
	}
	free(cert);
	free(key);
	return r;
}

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
	char **buf = ud;
	size_t old = *buf ? strlen(*buf) : 0, add = size * n;
	char *grown = realloc(*buf, old + add + 1);

	if (!grown)
		return 0;
	memcpy(grown + old, data, add);
	grown[old + add] = '\0';
	*buf = grown;
	return add;
}

int webhook_proc_get(struct webhook_proc *w, const char *path, long *ret_code, char **ret_body)
{
	CURL *curl = curl_easy_init();
	char url[256], *body = NULL;
	CURLcode rc;
	long code = 0;

	if (!curl)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)w->metrics_port, path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		free(body);
		return -ECONNREFUSED;
	}
	*ret_code = code;
	*ret_body = body ? body : strdup("");
	return *ret_body ? 0 : -ENOMEM;
}

int webhook_proc_metric(struct webhook_proc *w, const char *series, double *ret_value)
{
	char *body = NULL;
	size_t n = strlen(series);
	long code;
	int r = webhook_proc_get(w, "/metrics", &code, &body);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (const char *line = body; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, series, n) == 0 && line[n] == ' ') {
			*ret_value = strtod(line + n + 1, NULL);
			r = 0;
			break;
		}
	}
	free(body);
	return r;
}

static int wait_path(struct webhook_proc *w, const char *path, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	for (;;) {
		char *body = NULL;
		long code = 0;

		if (webhook_proc_get(w, path, &code, &body) == 0) {
			free(body);
			if (code == 200)
				return 0;
		}
		if (w->pid && waitpid(w->pid, NULL, WNOHANG) == w->pid) {
			w->pid = 0;
			return -ECHILD; /* it exited: see its log */
		}
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(50000);
	}
}

int webhook_proc_wait_ready(struct webhook_proc *w, long timeout_ms)
{
	return wait_path(w, "/readyz", timeout_ms);
}

static int spawn(struct webhook_proc *w)
{
	const char *bin = getenv("WEBHOOK_BIN") ? getenv("WEBHOOK_BIN") : "bin/autotrace-webhook";
	char listen[64], metrics[64], cert[700], key[700], image[160], ns[80], level[32];
	int log_fd;
	pid_t pid;

	snprintf(listen, sizeof(listen), "--listen=127.0.0.1:%u", (unsigned)w->port);
	snprintf(metrics, sizeof(metrics), "--metrics-listen=127.0.0.1:%u",
		 (unsigned)w->metrics_port);
	snprintf(cert, sizeof(cert), "--tls-cert-file=%s/tls.crt", w->cert_dir);
	snprintf(key, sizeof(key), "--tls-key-file=%s/tls.key", w->cert_dir);
	snprintf(image, sizeof(image), "--agent-image=%s", w->agent_image);
	snprintf(ns, sizeof(ns), "--namespace=%s", w->ns);
	snprintf(level, sizeof(level), "--log-level=%s", w->log_level);
	log_fd = open(w->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(log_fd);
		return -errno;
	}
	if (pid == 0) {
		char *argv[32] = { (char *)bin, listen, metrics, cert, key, image, ns, level,
				   "--tls-reload-interval-ms=200", "--shutdown-grace-ms=5000" };
		size_t n = 10;

		for (const char *const *a = w->extra_args; a && *a && n < 31; a++)
			argv[n++] = (char *)*a;
		argv[n] = NULL;

		if (w->cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(w->cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		dup2(log_fd, STDERR_FILENO);
		execv(bin, argv);
		dprintf(log_fd, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(log_fd);
	w->pid = pid;
	return 0;
}

int webhook_proc_restart(struct webhook_proc *w, long timeout_ms)
{
	int r = spawn(w);

	return r < 0 ? r : wait_path(w, "/healthz", timeout_ms);
}

int webhook_proc_start(struct webhook_proc *w, const struct webhook_proc_opts *opts,
		       long timeout_ms)
{
	char cwd[256];
	int r;

	memset(w, 0, sizeof(*w));
	w->cpu = opts->cpu;
	w->extra_args = opts->extra_args;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	snprintf(w->dir, sizeof(w->dir), "%s/build/%s", cwd, opts->name);
	snprintf(w->ca_file, sizeof(w->ca_file), "%s/ca.crt", w->dir);
	snprintf(w->cert_dir, sizeof(w->cert_dir), "%s/tls", w->dir);
	snprintf(w->log_file, sizeof(w->log_file), "%s/webhook.log", w->dir);
	snprintf(w->agent_image, sizeof(w->agent_image), "%s",
		 opts->agent_image ? opts->agent_image : "registry.invalid/autotrace-agent:test");
	snprintf(w->ns, sizeof(w->ns), "%s", opts->ns ? opts->ns : "autotrace-system");
	snprintf(w->log_level, sizeof(w->log_level), "%s",
		 opts->log_level		 ? opts->log_level
		 : getenv("WEBHOOK_LOG_LEVEL") ? getenv("WEBHOOK_LOG_LEVEL")
					       : "info");
	mkdir(w->dir, 0755); /* build/ exists: the binaries are in it */
	unlink(w->log_file);
	if ((r = testcert_ca_new("autotrace-webhook-test-ca", &w->ca)) < 0 ||
	    (r = testcert_ca_write(w->ca, w->ca_file)) < 0 || (r = webhook_proc_rotate(w, 1)) < 0 ||
	    (r = free_port(&w->port)) < 0 || (r = free_port(&w->metrics_port)) < 0)
		return r;
	return webhook_proc_restart(w, timeout_ms);
}

int webhook_proc_signal(struct webhook_proc *w, int sig, int wait, int *ret_status)
{
	int status = 0;

	if (!w->pid)
		return -ESRCH;
	if (kill(w->pid, sig) < 0)
		return -errno;
	if (!wait)
		return 0;
	if (waitpid(w->pid, &status, 0) < 0)
		return -errno;
	w->pid = 0;
	if (ret_status)
		*ret_status = status;
	return 0;
}

void webhook_proc_stop(struct webhook_proc *w)
{
	if (w->pid) {
		kill(w->pid, SIGCONT);
		kill(w->pid, SIGTERM);
		for (int i = 0; i < 100 && waitpid(w->pid, NULL, WNOHANG) == 0; i++)
			usleep(50000);
		if (waitpid(w->pid, NULL, WNOHANG) == 0) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
		}
		w->pid = 0;
	}
	w->ca = testcert_ca_free(w->ca);
}

long webhook_proc_status_kb(const struct webhook_proc *w, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)w->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':' &&
		    sscanf(line + n + 1, "%ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long webhook_proc_rss_kb(const struct webhook_proc *w)
{
	return webhook_proc_status_kb(w, "VmRSS");
}

/* The CA file as base64, for caBundle; new string. */
static char *ca_bundle(const struct webhook_proc *w)
{
	FILE *f = fopen(w->ca_file, "rb");
	unsigned char pem[16384];
	size_t n;
	char *out;

	if (!f)
		return NULL;
	n = fread(pem, 1, sizeof(pem), f);
	fclose(f);
	if (base64_encode(pem, n, &out) < 0)
		return NULL;
	return out;
}

int webhook_proc_register(struct kube_client *c, const struct webhook_proc *w, const char *name,
			  int timeout_s, const json_t *namespace_selector)
{
	char url[128];

	snprintf(url, sizeof(url), "https://127.0.0.1:%u/mutate-v1-pod", (unsigned)w->port);
	return webhook_proc_register_url(c, w, name, WEBHOOK_PROC_HOOK_NAME, url, timeout_s,
					 namespace_selector);
}

int webhook_proc_register_url(struct kube_client *c, const struct webhook_proc *w,
			      const char *name, const char *hook_name, const char *url,
			      int timeout_s, const json_t *namespace_selector)
{
	struct kube_ref ref = { .res = &KUBE_MUTATING_WEBHOOK_CONFIGURATIONS };
	char *bundle = ca_bundle(w);
	json_t *cfg, *sel;
	int r;

	if (!bundle)
		return -EIO;
	sel = namespace_selector
		      ? json_deep_copy(namespace_selector)
		      : json_pack("{s:[{s:s, s:s, s:[s,s,s]}]}", "matchExpressions", "key",
				  "kubernetes.io/metadata.name", "operator", "NotIn", "values",
				  "kube-system", "kube-public", "kube-node-lease");
	cfg = json_pack("{s:s, s:s, s:{s:s}, s:[{s:s, s:{s:s, s:s}, s:[{s:[s], s:[s], s:[s], "
			"s:[s]}], s:s, s:s, s:[s], s:i, s:s, s:o}]}",
			"apiVersion", "admissionregistration.k8s.io/v1", "kind",
			"MutatingWebhookConfiguration", "metadata", "name", name, "webhooks", "name",
			hook_name, "clientConfig", "url", url, "caBundle", bundle,
			"rules", "operations", "CREATE", "apiGroups", "", "apiVersions", "v1",
			"resources", "pods", "failurePolicy", "Ignore", "sideEffects", "None",
			"admissionReviewVersions", "v1", "timeoutSeconds", timeout_s,
			"reinvocationPolicy", "IfNeeded", "namespaceSelector", sel);
	free(bundle);
	if (!cfg)
		return -ENOMEM;
	webhook_proc_unregister(c, name);
	r = kube_create(c, &ref, cfg, NULL, NULL);
	json_decref(cfg);
	return r;
}

void webhook_proc_unregister(struct kube_client *c, const char *name)
{
	struct kube_ref ref = { .res = &KUBE_MUTATING_WEBHOOK_CONFIGURATIONS, .name = name };

	kube_delete(c, &ref, NULL, NULL);
}
