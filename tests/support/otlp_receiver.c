#include "tests/support/otlp_receiver.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct otlp_receiver {
	pid_t pid;
	int port;
	char dir[64];
	char spans_path[96], port_path[96], log_path[96];
	char endpoint[48];
	char *tls_cert, *tls_key, *client_ca;
};

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int read_port(const char *path)
{
	char buf[16] = "";
	int port = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		port = (int)strtol(buf, NULL, 10);
	fclose(f);
	return port;
}

static int spawn_once(struct otlp_receiver *r, int port)
{
	char port_arg[16];
	pid_t pid;

	snprintf(port_arg, sizeof(port_arg), "%d", port);
	unlink(r->port_path);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(r->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		{
			const char *argv[16] = { "otlp-receiver", "-port", port_arg, "-out",
						 r->spans_path, "-port-file", r->port_path };
			int argc = 7;

			if (r->tls_cert) {
				argv[argc++] = "-tls-cert";
				argv[argc++] = r->tls_cert;
				argv[argc++] = "-tls-key";
				argv[argc++] = r->tls_key;
			}
			if (r->client_ca) {
				argv[argc++] = "-client-ca";
				argv[argc++] = r->client_ca;
			}
			argv[argc] = NULL;
			execvp("otlp-receiver", (char *const *)(uintptr_t)argv);
		}
		_exit(127);
	}
	r->pid = pid;
	for (int i = 0; i < 1000; i++) { /* up to 10 s */
		int status;

		r->port = read_port(r->port_path);
		if (r->port > 0) {
			snprintf(r->endpoint, sizeof(r->endpoint), "%s://127.0.0.1:%d",
				 r->tls_cert ? "https" : "http", r->port);
			return 0;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			r->pid = 0;
			return -ECHILD;
		}
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

static int spawn(struct otlp_receiver *r, int port)
{
	int err = 0;

	/* A restart on a fixed port can race the old socket's teardown: try a few times. */
	for (int attempt = 0; attempt < 20; attempt++) {
		err = spawn_once(r, port);
		if (err != -ECHILD)
			return err;
		sleep_ms(100);
	}
	fprintf(stderr, "otlp-receiver keeps exiting (see %s)\n", r->log_path);
	return err;
}

int otlp_receiver_start(int port, struct otlp_receiver **ret_receiver)
{
	struct otlp_receiver_options opts = { .port = port };

	return otlp_receiver_start_opts(&opts, ret_receiver);
}

int otlp_receiver_start_opts(const struct otlp_receiver_options *opts,
			     struct otlp_receiver **ret_receiver)
{
	struct otlp_receiver *r = calloc(1, sizeof(*r));
	int port = opts->port;
	int err;

	if (!r)
		return -ENOMEM;
	if ((opts->tls_cert && !(r->tls_cert = strdup(opts->tls_cert))) ||
	    (opts->tls_key && !(r->tls_key = strdup(opts->tls_key))) ||
	    (opts->client_ca && !(r->client_ca = strdup(opts->client_ca)))) {
		otlp_receiver_free(r);
		return -ENOMEM;
	}
	snprintf(r->dir, sizeof(r->dir), "/tmp/otlp-receiver-XXXXXX");
	if (!mkdtemp(r->dir)) {
		err = -errno;
		r->dir[0] = '\0';
		otlp_receiver_free(r);
		return err;
	}
	snprintf(r->spans_path, sizeof(r->spans_path), "%s/spans.jsonl", r->dir);
	snprintf(r->port_path, sizeof(r->port_path), "%s/port", r->dir);
	snprintf(r->log_path, sizeof(r->log_path), "%s/log", r->dir);
	err = spawn(r, port);
	if (err < 0) {
		otlp_receiver_free(r);
		return err;
	}
	*ret_receiver = r;
	return 0;
}

int otlp_receiver_stop(struct otlp_receiver *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
	return 0;
}

int otlp_receiver_restart(struct otlp_receiver *r)
{
	otlp_receiver_stop(r);
	return spawn(r, r->port);
}

struct otlp_receiver *otlp_receiver_free(struct otlp_receiver *r)
{
	if (!r)
		return NULL;
	otlp_receiver_stop(r);
	if (r->dir[0] && r->spans_path[0]) {
		unlink(r->spans_path);
		unlink(r->port_path);
		unlink(r->log_path);
		rmdir(r->dir);
	}
	free(r->tls_cert);
	free(r->tls_key);
	free(r->client_ca);
	free(r);
	return NULL;
}

int otlp_receiver_port(const struct otlp_receiver *r)
{
	return r->port;
}

const char *otlp_receiver_endpoint(const struct otlp_receiver *r)
{
	return r->endpoint;
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
	return size * n;
}

int otlp_receiver_set_behavior(struct otlp_receiver *r, const char *json)
{
	char url[96];
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;
	CURLcode cc;

	if (!c || !h) {
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s/admin/behavior", r->endpoint);
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* The admin side trusts its own child; over mutual TLS it is not reachable. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return cc == CURLE_OK && status == 204 ? 0 : -EIO;
}

int otlp_receiver_spans(struct otlp_receiver *r, json_t **ret_spans)
{
	json_t *arr = json_array();
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0;

	if (!arr)
		return -ENOMEM;
	f = fopen(r->spans_path, "r");
	if (!f) {
		*ret_spans = arr; /* nothing received yet */
		return 0;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *span;

		if (line[n - 1] != '\n')
			break; /* a line still being written */
		span = json_loadb(line, (size_t)n, 0, NULL);
		if (!span) {
			err = -EBADMSG;
			break;
		}
		json_array_append_new(arr, span);
	}
	free(line);
	fclose(f);
	if (err < 0) {
		json_decref(arr);
		return err;
	}
	*ret_spans = arr;
	return 0;
}

int otlp_receiver_wait_spans(struct otlp_receiver *r, size_t n, int timeout_ms,
			     json_t **ret_spans)
{
	json_t *arr = NULL;

	for (int waited = 0;; waited += 20) {
		int err = otlp_receiver_spans(r, &arr);

		if (err < 0)
			return err;
		if (json_array_size(arr) >= n) {
			*ret_spans = arr;
			return 0;
		}
		if (waited >= timeout_ms) {
			*ret_spans = arr;
			return -ETIMEDOUT;
		}
		json_decref(arr);
		sleep_ms(20);
	}
}

json_t *otlp_receiver_find_span(json_t *spans, const char *span_id_hex)
{
	size_t i;
	json_t *s;

	json_array_foreach(spans, i, s) {
		const char *id = json_string_value(json_object_get(s, "span_id"));

		if (id && strcmp(id, span_id_hex) == 0)
			return s;
	}
	return NULL;
}
