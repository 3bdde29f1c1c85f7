#include "lib/kube/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <sys/stat.h>

#include "lib/log/log.h"

struct kube_client {
	struct kube_config *cfg;
	struct kube_client_opts opts;
	pthread_mutex_t lock;      /* guards the token cache */
	pthread_mutex_t sync_lock; /* one kube_client_do at a time on `sync` */
	CURL *sync;                /* reused by kube_client_do: keeps its connection open */
	char *token;          /* from cfg->token or the token file */
	struct timespec token_mtime;
};

struct body_buf {
	char *data;
	size_t len, cap, max;
	int too_big;
};

void kube_response_release(struct kube_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

static size_t collect_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct body_buf *b = ud;
	size_t n = size * nmemb;

	if (b->len + n > b->max) {
		b->too_big = 1;
		return 0; /* aborts the transfer */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

int kube_error_from_curl(struct kube_error *err, CURLcode code, const char *detail)
{
	const char *what = detail && detail[0] ? detail : curl_easy_strerror(code);

	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		return kube_error_set(err, KUBE_ERR_TIMEOUT, -ETIMEDOUT, "%s", what);
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return kube_error_set(err, KUBE_ERR_CONNECT, -ECONNREFUSED, "%s", what);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return kube_error_set(err, KUBE_ERR_TLS, -EPROTO, "%s", what);
	default:
		return kube_error_set(err, KUBE_ERR_TRANSPORT, -EIO, "%s", what);
	}
}

/* Re-reads a token file when it changed (projected tokens rotate). Holds c->lock. */
static int refresh_token_locked(struct kube_client *c)
{
	struct stat st;
	FILE *f;
	char buf[16384];
	size_t n;

	if (!c->cfg->token_file)
		return 0;
	if (stat(c->cfg->token_file, &st) < 0)
		return c->token ? 0 : -errno; /* keep the last good token */
	if (c->token && st.st_mtim.tv_sec == c->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
		return 0;
	f = fopen(c->cfg->token_file, "re");
	if (!f)
		return c->token ? 0 : -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	char *tok = strdup(buf);
	if (!tok)
		return -ENOMEM;
	free(c->token);
	c->token = tok;
	c->token_mtime = st.st_mtim;
	return 0;
}

static const char *method_of(const struct kube_request *req)
{
	return req->method ? req->method : "GET";
}

/* Sets every option of a request on `easy`; *headers gets the header list the
 * caller frees after the transfer. */
static int setup_easy(struct kube_client *c, CURL *easy, const struct kube_request *req,
		      struct curl_slist **headers, struct kube_error *err)
{
	const struct kube_config *cfg = c->cfg;
	struct curl_slist *h = NULL, *t;
	char *url = NULL, *auth = NULL;
	int rc;

	if (!req->path || req->path[0] != '/')
		return kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "request path must start with /");
	if (asprintf(&url, "%s%s", cfg->server, req->path) < 0)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 15L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 5L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, c->opts.user_agent);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	long timeout = req->timeout_ms == 0 ? c->opts.request_timeout_ms
					    : (req->timeout_ms < 0 ? 0 : req->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	if (cfg->ca_pem) {
		struct curl_blob blob = { cfg->ca_pem, cfg->ca_pem_len, CURL_BLOB_COPY };
		curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
	} else if (cfg->ca_file) {
		curl_easy_setopt(easy, CURLOPT_CAINFO, cfg->ca_file);
	}
	if (cfg->client_cert_pem) {
		struct curl_blob cert = { cfg->client_cert_pem, cfg->client_cert_pem_len, CURL_BLOB_COPY };
		curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (cfg->client_cert_file) {
		curl_easy_setopt(easy, CURLOPT_SSLCERT, cfg->client_cert_file);
	}
	if (cfg->client_key_pem) {
		struct curl_blob key = { cfg->client_key_pem, cfg->client_key_pem_len, CURL_BLOB_COPY };
		curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (cfg->client_key_file) {
		curl_easy_setopt(easy, CURLOPT_SSLKEY, cfg->client_key_file);
	}

	const char *method = method_of(req);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
	}

	pthread_mutex_lock(&c->lock);
	rc = refresh_token_locked(c);
	if (rc == 0 && c->token && asprintf(&auth, "Authorization: Bearer %s", c->token) < 0)
		rc = -ENOMEM;
	pthread_mutex_unlock(&c->lock);
	if (rc < 0)
		return kube_error_set(err, KUBE_ERR_LOCAL, rc, "token file %s: %s",
				      cfg->token_file, strerror(-rc));

	char ctype[160];
	snprintf(ctype, sizeof(ctype), "Content-Type: %s",
		 req->content_type ? req->content_type : "application/json");
	const char *lines[] = { "Accept: application/json", req->body ? ctype : NULL, auth,
				"Expect:" };
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!lines[i])
			continue;
		t = curl_slist_append(h, lines[i]);
		if (!t) {
			rc = -ENOMEM;
			break;
		}
		h = t;
	}
	if (auth) {
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
	}
	if (rc < 0) {
		curl_slist_free_all(h);
		return kube_error_set(err, KUBE_ERR_LOCAL, rc, "out of memory");
	}
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	*headers = h;
	return 0;
}

int kube_client_new(struct kube_config *cfg, const struct kube_client_opts *opts,
		    struct kube_client **ret_client, struct kube_error *err)
{
	struct kube_client *c = calloc(1, sizeof(*c));

	if (!c) {
		kube_config_free(cfg);
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	}
	c->cfg = cfg;
	if (opts)
		c->opts = *opts;
	if (!c->opts.connect_timeout_ms)
		c->opts.connect_timeout_ms = 5000;
	if (!c->opts.request_timeout_ms)
		c->opts.request_timeout_ms = 30000;
	if (!c->opts.max_response_bytes)
		c->opts.max_response_bytes = (size_t)512 << 20;
	if (!c->opts.user_agent)
		c->opts.user_agent = "autotrace";
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->sync_lock, NULL);
	if (cfg->token && !(c->token = strdup(cfg->token))) {
		kube_client_free(c);
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	}
	*ret_client = c;
	return 0;
}

struct kube_client *kube_client_free(struct kube_client *c)
{
	if (!c)
		return NULL;
	if (c->sync)
		curl_easy_cleanup(c->sync);
	if (c->token) {
		OPENSSL_cleanse(c->token, strlen(c->token));
		free(c->token);
	}
	kube_config_free(c->cfg);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->sync_lock);
	free(c);
	return NULL;
}

const struct kube_config *kube_client_config(const struct kube_client *c)
{
	return c->cfg;
}

/* Turns a finished transfer into rc/err/resp. Takes b->data on success. */
static int finish(CURL *easy, CURLcode code, struct body_buf *b, const char *errbuf,
		  struct kube_response *ret_resp, struct kube_error *err)
{
	long http = 0;

	if (b->too_big)
		return kube_error_set(err, KUBE_ERR_TRANSPORT, -EFBIG,
				      "response larger than %zu bytes", b->max);
	if (code != CURLE_OK)
		return kube_error_from_curl(err, code, errbuf);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
	if (http < 200 || http > 299)
		return kube_error_from_http(err, http, b->data, b->len);
	ret_resp->code = http;
	ret_resp->body = b->data ? b->data : strdup("");
	ret_resp->len = b->len;
	b->data = NULL;
	if (!ret_resp->body)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	return 0;
}

int kube_client_do(struct kube_client *c, const struct kube_request *req,
		   struct kube_response *ret_resp, struct kube_error *err)
{
	struct body_buf b = { .max = c->opts.max_response_bytes };
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	int rc;

	pthread_mutex_lock(&c->sync_lock);
	if (!c->sync && !(c->sync = curl_easy_init())) {
		pthread_mutex_unlock(&c->sync_lock);
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	}
	CURL *easy = c->sync;
	/* Reset drops the options of the last request but keeps the connection. */
	curl_easy_reset(easy);
	rc = setup_easy(c, easy, req, &headers, err);
	if (rc == 0) {
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect_body);
		curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
		CURLcode code = curl_easy_perform(easy);
		rc = finish(easy, code, &b, errbuf, ret_resp, err);
		curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	}
	pthread_mutex_unlock(&c->sync_lock);
	curl_slist_free_all(headers);
	free(b.data);
	return rc;
}

struct kube_call {
	struct curl_loop *loop;
	CURL *easy;
	struct curl_slist *headers;
	struct body_buf body;
	char errbuf[CURL_ERROR_SIZE];
	kube_response_fn fn;
	void *ud;
};

static void call_free(struct kube_call *call)
{
	curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->headers);
	free(call->body.data);
	free(call);
}

static void call_done(void *ud, CURL *easy, CURLcode code)
{
	struct kube_call *call = ud;
	struct kube_response resp = { 0 };
	struct kube_error err = { 0 };
	int rc = finish(easy, code, &call->body, call->errbuf, &resp, &err);

	call->fn(call->ud, rc, rc == 0 ? &resp : NULL, rc == 0 ? NULL : &err);
	kube_response_release(&resp);
	call_free(call);
}

int kube_client_call(struct kube_client *c, struct curl_loop *loop, const struct kube_request *req,
		     kube_response_fn fn, void *ud, struct kube_call **ret_call)
{
	struct kube_error err;
	struct kube_call *call = calloc(1, sizeof(*call));
	int rc;

	if (!call)
		return -ENOMEM;
	call->loop = loop;
	call->fn = fn;
	call->ud = ud;
	call->body.max = c->opts.max_response_bytes;
	call->easy = curl_easy_init();
	if (!call->easy) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = setup_easy(c, call->easy, req, &call->headers, &err);
	if (rc < 0)
		goto fail;
	curl_easy_setopt(call->easy, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(call->easy, CURLOPT_WRITEDATA, &call->body);
	curl_easy_setopt(call->easy, CURLOPT_ERRORBUFFER, call->errbuf);
	rc = curl_loop_add(loop, call->easy, call_done, call);
	if (rc < 0)
		goto fail;
	if (ret_call)
		*ret_call = call;
	return 0;
fail:
	call_free(call);
	return rc;
}

void kube_call_cancel(struct kube_call *call)
{
	if (!call)
		return;
	curl_loop_remove(call->loop, call->easy);
	call_free(call);
}

int kube_client_easy_new(struct kube_client *c, const struct kube_request *req,
			 curl_write_callback write_fn, void *write_ud, CURL **ret_easy,
			 struct curl_slist **ret_headers, struct kube_error *err)
{
	CURL *easy = curl_easy_init();
	struct curl_slist *headers = NULL;
	int rc;

	if (!easy)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	rc = setup_easy(c, easy, req, &headers, err);
	if (rc < 0) {
		curl_easy_cleanup(easy);
		return rc;
	}
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_fn);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, write_ud);
	*ret_easy = easy;
	*ret_headers = headers;
	return 0;
}

void kube_client_easy_free(CURL *easy, struct curl_slist *headers)
{
	if (easy)
		curl_easy_cleanup(easy);
	curl_slist_free_all(headers);
}
