#include "tests/support/http_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void *loop_thread(void *arg)
{
	struct http_fixture *f = arg;

	event_base_loop(f->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int http_fixture_init(struct http_fixture *f, const struct http_server_opts *opts)
{
	int r;

	f->base = event_base_new();
	if (!f->base)
		return -ENOMEM;
	r = http_server_new(f->base, opts, &f->server);
	if (r < 0) {
		event_base_free(f->base);
		f->base = NULL;
		return r;
	}
	f->port = http_server_port(f->server);
	return 0;
}

static void on_loop_started(evutil_socket_t fd, short what, void *arg)
{
	__atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

int http_fixture_start(struct http_fixture *f)
{
	struct timeval now = { 0, 0 };
	int started = 0;

	/* A loopbreak before the loop runs is forgotten when it starts: wait until it
	 * runs, so that stop always stops it. */
	if (event_base_once(f->base, -1, EV_TIMEOUT, on_loop_started, &started, &now) < 0)
		return -ENOMEM;
	if (pthread_create(&f->thread, NULL, loop_thread, f) != 0)
		return -EAGAIN;
	f->running = true;
	while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE))
		usleep(1000);
	return 0;
}

void http_fixture_stop(struct http_fixture *f)
{
	if (f->running) {
		event_base_loopbreak(f->base);
		pthread_join(f->thread, NULL);
		f->running = false;
	}
	f->server = http_server_free(f->server);
	if (f->base)
		event_base_free(f->base);
	f->base = NULL;
}

struct transfer {
	struct http_fixture *f;
	struct http_reply *r;
	size_t cap;
	const char *upload;
	size_t upload_left;
	int failed;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	if (t->f->receiving_flag)
		*t->f->receiving_flag = 1;
	if (t->r->len + n + 1 > t->cap) {
		size_t cap = (t->r->len + n + 1) * 2;
		char *grown = realloc(t->r->body, cap);

		if (!grown) {
			t->failed = 1;
			return 0;
		}
		t->r->body = grown;
		t->cap = cap;
	}
	memcpy(t->r->body + t->r->len, data, n);
	t->r->len += n;
	t->r->body[t->r->len] = '\0';
	return n;
}

static void copy_header_value(char *out, size_t size, const char *line, size_t len,
			      size_t name_len)
{
	const char *v = line + name_len;
	size_t n = len - name_len;

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	if (n > 6 && strncasecmp(line, "Allow:", 6) == 0)
		copy_header_value(t->r->allow, sizeof(t->r->allow), line, n, 6);
	else if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0)
		copy_header_value(t->r->content_type, sizeof(t->r->content_type), line, n, 13);
	return n;
}

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	/* Small pieces, so the body really goes in several chunks. */
	if (n > 4096)
		n = 4096;
	if (n > t->upload_left)
		n = t->upload_left;
	memcpy(buf, t->upload, n);
	t->upload += n;
	t->upload_left -= n;
	return n;
}

static void read_subject(CURL *curl, struct http_reply *r)
{
	struct curl_certinfo *ci = NULL;

	r->subject[0] = r->serial[0] = '\0';
	if (curl_easy_getinfo(curl, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
	    ci->num_of_certs < 1)
		return;
	for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next)
		if (strncmp(s->data, "Subject:", 8) == 0)
			snprintf(r->subject, sizeof(r->subject), "%s", s->data + 8);
		else if (strncmp(s->data, "Serial Number:", 14) == 0)
			snprintf(r->serial, sizeof(r->serial), "%s", s->data + 14);
}

void http_reply_clear(struct http_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

CURLcode http_fixture_request(struct http_fixture *f, CURL *curl, const char *method,
			      const char *path, const void *body, size_t len,
			      struct http_reply *r)
{
	struct transfer t = { .f = f, .r = r, .upload = body, .upload_left = len };
	struct curl_slist *headers = NULL;
	char url[512];
	CURLcode rc;

	http_reply_clear(r);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%u%s", f->ca_file ? "https" : "http",
		 f->port, path);
	/* Options of an earlier request on this handle must not carry over. */
	curl_easy_setopt(curl, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
	headers = curl_slist_append(headers, "X-Test: yes");
	headers = curl_slist_append(headers, "Expect:");
	if (f->ca_file) {
		curl_easy_setopt(curl, CURLOPT_CAINFO, f->ca_file);
		curl_easy_setopt(curl, CURLOPT_CERTINFO, 1L);
	}
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (body && f->chunked) {
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, -1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(curl, CURLOPT_READDATA, &t);
		headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
	} else if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "POST") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	rc = curl_easy_perform(curl);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (t.failed && rc == CURLE_OK)
		rc = CURLE_OUT_OF_MEMORY;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &r->num_connects);
	if (f->ca_file && rc == CURLE_OK)
		read_subject(curl, r);
	if (!r->body) {
		r->body = calloc(1, 1);
		if (!r->body)
			rc = CURLE_OUT_OF_MEMORY;
	}
	return rc;
}
