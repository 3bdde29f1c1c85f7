#include "lib/kube/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/http.h>
#include <openssl/crypto.h>

#include "lib/kube/tls.h"

struct kube_client {
	struct kube_config *cfg;
	struct kube_client_opts opts;
	struct kube_tls *tls;
	char host[256];            /* from cfg->server, without IPv6 brackets */
	char host_header[300];     /* host[:port] as the Host header carries it */
	unsigned short port;
	char *path_prefix;         /* a server URL's path ("" mostly), prepended to each */
	pthread_mutex_t lock;      /* guards the token cache */
	pthread_mutex_t sync_lock; /* one kube_client_do at a time on the members below */
	struct event_base *sync_base;
	struct kube_conn *sync_conn; /* kept open between kube_client_do calls */
	char *token;               /* from cfg->token or the token file */
	struct timespec token_mtime;
};

/* A response body as it arrives, bounded. */
struct body_buf {
	char *data;
	size_t len, cap, max;
};

/* What one exchange came to. */
struct outcome {
	struct body_buf body;
	int done, rc;
	long code;
	struct kube_error err;
};

void kube_response_release(struct kube_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

static int body_append(struct body_buf *b, const char *data, size_t n, struct kube_error *err)
{
	if (n > b->max - b->len)
		return kube_error_set(err, KUBE_ERR_TRANSPORT, -EFBIG,
				      "response larger than %zu bytes", b->max);
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p)
			return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int collect_body(void *ud, long code, const char *data, size_t len, struct kube_error *err)
{
	struct outcome *o = ud;

	return body_append(&o->body, data, len, err);
}

static void collect_done(void *ud, int rc, long code, const struct kube_error *err)
{
	struct outcome *o = ud;

	o->done = 1;
	o->rc = rc;
	o->code = code;
	if (err)
		o->err = *err;
}

static const struct kube_conn_ops collect_ops = {
	.on_body = collect_body,
	.on_done = collect_done,
};

/* Turns a finished exchange into rc/err/resp; takes the body on success. */
static int outcome_result(struct outcome *o, struct kube_response *ret_resp,
			  struct kube_error *err)
{
	if (o->rc < 0) {
		if (err)
			*err = o->err;
		return o->rc;
	}
	if (o->code < 200 || o->code > 299)
		return kube_error_from_http(err, o->code, o->body.data, o->body.len);
	ret_resp->code = o->code;
	ret_resp->body = o->body.data ? o->body.data : strdup("");
	ret_resp->len = o->body.len;
	o->body.data = NULL;
	if (!ret_resp->body)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	return 0;
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
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!tok)
		return -ENOMEM;
	free(c->token);
	c->token = tok;
	c->token_mtime = st.st_mtim;
	return 0;
}

static int method_of(const char *name, enum evhttp_cmd_type *ret)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type type;
	} methods[] = {
		{ "GET", EVHTTP_REQ_GET },	 { "POST", EVHTTP_REQ_POST },
		{ "PUT", EVHTTP_REQ_PUT },	 { "PATCH", EVHTTP_REQ_PATCH },
		{ "DELETE", EVHTTP_REQ_DELETE }, { "HEAD", EVHTTP_REQ_HEAD },
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(name ? name : "GET", methods[i].name) == 0) {
			*ret = methods[i].type;
			return 0;
		}
	}
	return -EINVAL;
}

int kube_client_send(struct kube_client *c, struct kube_conn *conn, const struct kube_request *req,
		     const struct kube_conn_ops *ops, void *ud, struct kube_error *err)
{
	struct kube_conn_request r = {
		.body = req->body,
		.body_len = req->body_len,
		.connect_timeout_ms = c->opts.connect_timeout_ms,
		.max_body = req->timeout_ms < 0 ? 0 : c->opts.max_response_bytes,
	};
	char *path = NULL, *auth = NULL;
	int rc;

	if (!req->path || req->path[0] != '/')
		return kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "request path must start with /");
	if (method_of(req->method, &r.method) < 0)
		return kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "unknown HTTP method %s",
				      req->method);
	if (asprintf(&path, "%s%s", c->path_prefix, req->path) < 0)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	r.path = path;
	r.timeout_ms = req->timeout_ms == 0 ? c->opts.request_timeout_ms : req->timeout_ms;

	pthread_mutex_lock(&c->lock);
	rc = refresh_token_locked(c);
	if (rc == 0 && c->token && asprintf(&auth, "Bearer %s", c->token) < 0)
		rc = -ENOMEM;
	pthread_mutex_unlock(&c->lock);
	if (rc < 0) {
		free(path);
		return kube_error_set(err, KUBE_ERR_LOCAL, rc, "token file %s: %s",
				      c->cfg->token_file, strerror(-rc));
	}

	const char *headers[19];
	size_t n = 0;
	headers[n++] = "Host";
	headers[n++] = c->host_header;
	headers[n++] = "User-Agent";
	headers[n++] = c->opts.user_agent;
	headers[n++] = "Accept";
	headers[n++] = "application/json";
	if (req->body) {
		headers[n++] = "Content-Type";
		headers[n++] = req->content_type ? req->content_type : "application/json";
	}
	if (auth) {
		headers[n++] = "Authorization";
		headers[n++] = auth;
	}
	for (const char *const *h = c->opts.extra_headers; h && h[0] && h[1] && n + 2 < 19; h += 2) {
		headers[n++] = h[0];
		headers[n++] = h[1];
	}
	headers[n] = NULL;
	r.headers = headers;
	rc = kube_conn_send(conn, &r, ops, ud, err);
	if (auth) {
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
	}
	free(path);
	return rc;
}

int kube_client_open(struct kube_client *c, struct event_base *base, struct kube_conn **ret_conn,
		     struct kube_error *err)
{
	return kube_conn_new(base, c->tls, c->host, c->port, ret_conn, err);
}

/* Splits cfg->server ("https://host[:port][/prefix]") into the client's parts. */
static int parse_server(struct kube_client *c, struct kube_error *err)
{
	struct evhttp_uri *uri = evhttp_uri_parse(c->cfg->server ? c->cfg->server : "");
	const char *scheme, *host, *path;
	size_t hl;
	int port, rc = 0;

	if (!uri)
		return kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "server %s is not a URL",
				      c->cfg->server ? c->cfg->server : "(none)");
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	path = evhttp_uri_get_path(uri);
	port = evhttp_uri_get_port(uri);
	if (!scheme || strcasecmp(scheme, "https") != 0 || !host || !host[0]) {
		rc = kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "server %s is not an https URL",
				    c->cfg->server);
		goto out;
	}
	c->port = (unsigned short)(port > 0 ? port : 443);
	hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	if (hl >= sizeof(c->host)) {
		rc = kube_error_set(err, KUBE_ERR_LOCAL, -ENAMETOOLONG, "server name too long");
		goto out;
	}
	memcpy(c->host, host, hl);
	c->host[hl] = '\0';
	snprintf(c->host_header, sizeof(c->host_header), strchr(c->host, ':') ? "[%s]:%u" : "%s:%u",
		 c->host, (unsigned)c->port);
	c->path_prefix = strdup(path ? path : "");
	if (!c->path_prefix) {
		rc = kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
		goto out;
	}
	size_t pl = strlen(c->path_prefix);
	if (pl && c->path_prefix[pl - 1] == '/')
		c->path_prefix[pl - 1] = '\0';
out:
	evhttp_uri_free(uri);
	return rc;
}

int kube_client_new(struct kube_config *cfg, const struct kube_client_opts *opts,
		    struct kube_client **ret_client, struct kube_error *err)
{
	struct kube_client *c = calloc(1, sizeof(*c));
	int rc;

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
	if ((rc = parse_server(c, err)) < 0 || (rc = kube_tls_new(cfg, &c->tls, err)) < 0)
		goto fail;
	if (cfg->token && !(c->token = strdup(cfg->token))) {
		rc = kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
		goto fail;
	}
	*ret_client = c;
	return 0;
fail:
	kube_client_free(c);
	return rc;
}

struct kube_client *kube_client_free(struct kube_client *c)
{
	if (!c)
		return NULL;
	kube_conn_free(c->sync_conn);
	if (c->sync_base)
		event_base_free(c->sync_base);
	kube_tls_free(c->tls);
	if (c->token) {
		OPENSSL_cleanse(c->token, strlen(c->token));
		free(c->token);
	}
	free(c->path_prefix);
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

/* One exchange on the kept connection, run to its end on the private base. */
static int sync_exchange(struct kube_client *c, const struct kube_request *req, struct outcome *o,
			 struct kube_error *err)
{
	int rc;

	if (c->sync_conn && !kube_conn_reusable(c->sync_conn)) {
		kube_conn_free(c->sync_conn);
		c->sync_conn = NULL;
	}
	if (!c->sync_conn && (rc = kube_client_open(c, c->sync_base, &c->sync_conn, err)) < 0)
		return rc;
	rc = kube_client_send(c, c->sync_conn, req, &collect_ops, o, err);
	if (rc < 0)
		return rc;
	while (!o->done)
		event_base_loop(c->sync_base, EVLOOP_ONCE);
	return 0;
}

int kube_client_do(struct kube_client *c, const struct kube_request *req,
		   struct kube_response *ret_resp, struct kube_error *err)
{
	struct outcome o = { .body.max = c->opts.max_response_bytes };
	int rc;

	pthread_mutex_lock(&c->sync_lock);
	if (!c->sync_base && !(c->sync_base = event_base_new())) {
		pthread_mutex_unlock(&c->sync_lock);
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	}
	rc = sync_exchange(c, req, &o, err);
	/* A kept connection the server closed while it sat idle fails before any answer:
	 * that is not the request's fault, so it goes once more on a new connection. */
	if (rc == 0 && o.rc < 0 && o.code == 0 && o.err.kind != KUBE_ERR_TIMEOUT &&
	    kube_conn_was_reused(c->sync_conn)) {
		free(o.body.data);
		o = (struct outcome){ .body.max = c->opts.max_response_bytes };
		rc = sync_exchange(c, req, &o, err);
	}
	if (rc == 0)
		rc = outcome_result(&o, ret_resp, err);
	pthread_mutex_unlock(&c->sync_lock);
	free(o.body.data);
	return rc;
}

struct kube_call {
	struct kube_conn *conn;
	struct outcome outcome;
	kube_response_fn fn;
	void *ud;
};

static void call_free(struct kube_call *call)
{
	kube_conn_free(call->conn);
	free(call->outcome.body.data);
	free(call);
}

static void call_done(void *ud, int rc, long code, const struct kube_error *err)
{
	struct kube_call *call = ud;
	struct kube_response resp = { 0 };
	struct kube_error e = { 0 };

	collect_done(&call->outcome, rc, code, err);
	rc = outcome_result(&call->outcome, &resp, &e);
	call->fn(call->ud, rc, rc == 0 ? &resp : NULL, rc == 0 ? NULL : &e);
	kube_response_release(&resp);
	call_free(call);
}

static int call_body(void *ud, long code, const char *data, size_t len, struct kube_error *err)
{
	struct kube_call *call = ud;

	return body_append(&call->outcome.body, data, len, err);
}

static const struct kube_conn_ops call_ops = {
	.on_body = call_body,
	.on_done = call_done,
};

int kube_client_call(struct kube_client *c, struct event_base *base, const struct kube_request *req,
		     kube_response_fn fn, void *ud, struct kube_call **ret_call)
{
	struct kube_error err;
	struct kube_call *call = calloc(1, sizeof(*call));
	int rc;

	if (!call)
		return -ENOMEM;
	call->fn = fn;
	call->ud = ud;
	call->outcome.body.max = c->opts.max_response_bytes;
	rc = kube_client_open(c, base, &call->conn, &err);
	if (rc == 0)
		rc = kube_client_send(c, call->conn, req, &call_ops, call, &err);
	if (rc < 0) {
		call_free(call);
		return rc;
	}
	if (ret_call)
		*ret_call = call;
	return 0;
}

void kube_call_cancel(struct kube_call *call)
{
	if (call)
		call_free(call);
}
