#include "lib/otlp/http_post.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/otlp/response.h"

struct otlp_http {
	CURL *curl;
	struct otlp_buf body;
	bool body_truncated;
	struct otlp_http_response *resp; /* the response being filled in */
};

int otlp_http_new(struct otlp_http **ret_http)
{
	struct otlp_http *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return -ENOMEM;
	}
	*ret_http = h;
	return 0;
}

struct otlp_http *otlp_http_free(struct otlp_http *h)
{
	if (!h)
		return NULL;
	curl_easy_cleanup(h->curl);
	otlp_buf_free(&h->body);
	free(h);
	return NULL;
}

/* Keeps at most OTLP_RESPONSE_BODY_MAX bytes; the rest is read and thrown away so that
 * the connection stays usable. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct otlp_http *h = userdata;
	size_t n = size * nmemb;
	size_t room = OTLP_RESPONSE_BODY_MAX - h->body.len;
	size_t keep = n < room ? n : room;

	if (keep < n)
		h->body_truncated = true;
	if (keep && otlp_buf_append(&h->body, data, keep) < 0)
		return 0;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
	struct otlp_http *h = userdata;
	struct otlp_http_response *r = h->resp;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";
	size_t k = sizeof(name) - 1;

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new header block (after a 100 Continue, say): forget the last one. */
		r->has_retry_after = false;
		return n;
	}
	if (n > k && strncasecmp(data, name, k) == 0) {
		const char *v = data + k;
		size_t len = n - k;

		while (len && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		if (len < sizeof(r->retry_after)) {
			memcpy(r->retry_after, v, len);
			r->retry_after[len] = '\0';
			r->has_retry_after = true;
		}
	}
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const uint64_t *abort_at = userdata;
	uint64_t at = __atomic_load_n(abort_at, __ATOMIC_RELAXED);

	return at && now_ns() >= at; /* non-zero aborts the transfer */
}

static int transport_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static struct curl_slist *build_headers(const struct otlp_http_request *req)
{
	struct curl_slist *list = NULL, *next;
	char line[128];

	snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
	list = curl_slist_append(list, line);
	if (!list)
		return NULL;
	/* The body is already in memory: no round trip waiting for 100 Continue. */
	if (!(next = curl_slist_append(list, "Expect:")))
		goto fail;
	list = next;
	if (req->gzip) {
		if (!(next = curl_slist_append(list, "Content-Encoding: gzip")))
			goto fail;
		list = next;
	}
	for (size_t i = 0; i < req->n_headers; i++) {
		if (!(next = curl_slist_append(list, req->headers[i])))
			goto fail;
		list = next;
	}
	return list;
fail:
	curl_slist_free_all(list);
	return NULL;
}

int otlp_http_post(struct otlp_http *h, const struct otlp_http_request *req,
		   struct otlp_http_response *ret_response)
{
	struct otlp_http_response r = { 0 };
	struct curl_slist *headers;
	CURL *c = h->curl;
	CURLcode cc;
	int err;

	h->body.len = 0;
	h->body_truncated = false;
	h->resp = &r;
	headers = build_headers(req);
	if (!headers) {
		err = -ENOMEM;
		snprintf(r.error, sizeof(r.error), "out of memory");
		goto done;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms ? req->timeout_ms : 1));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r.error);
	if (req->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	if (req->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, req->cert_file);
	if (req->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, req->key_file);
	if (req->insecure_skip_verify) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (req->abort_at_ns) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)(uintptr_t)req->abort_at_ns);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	cc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	if (cc != CURLE_OK) {
		if (!r.error[0])
			snprintf(r.error, sizeof(r.error), "%s", curl_easy_strerror(cc));
		err = transport_errno(cc);
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	r.body = h->body.data;
	r.body_len = h->body.len;
	r.body_truncated = h->body_truncated;
	err = 0;
done:
	h->resp = NULL;
	*ret_response = r;
	return err;
}
