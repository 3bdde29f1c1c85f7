#include "lib/kube/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* A stream with no byte for this long is dead even if TCP has not noticed: far above
 * the API server's own limits (watch timeouts, bookmarks every minute). */
#define STREAM_IDLE_SECONDS 3600

struct kube_conn {
	struct event_base *base;
	struct evhttp_connection *evcon;
	struct bufferevent *bev; /* owned by evcon */
	struct event *timer;     /* the exchange's deadline, or its deferred end */
	char host[256];
	unsigned short port;

	/* the exchange in flight */
	const struct kube_conn_ops *ops;
	void *ud;
	long timeout_ms;
	long code;
	int in_flight;           /* on_done still owed */
	int ending;              /* ended by us (on_body or the timer): rc below pending */
	int end_rc;
	struct kube_error end_err;
	int have_error;          /* libevent reported `error` */
	enum evhttp_request_error error;

	int exchanges;           /* started on this connection */
	int closed;              /* libevent or the server closed it: not reusable */
	int complete;            /* the last exchange got a whole response */
	int in_callback;         /* inside a libevent callback of this connection */
	int free_pending;        /* kube_conn_free was called from inside one */
};

static void conn_destroy(struct kube_conn *conn)
{
	SSL *ssl = conn->bev ? bufferevent_openssl_get_ssl(conn->bev) : NULL;

	/* OpenSSL forgets the session of a connection freed without a close_notify, and
	 * the next connection would pay a full handshake: say goodbye when it went well. */
	if (ssl && conn->complete && SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	if (conn->evcon)
		evhttp_connection_free(conn->evcon); /* frees the request, no callback */
	if (conn->timer)
		event_free(conn->timer);
	free(conn);
}

/* Leaves a libevent callback. A free asked for inside it happens now when libevent no
 * longer touches the connection after the callback (the end of a request), else from
 * the loop through the timer (libevent still drains the body after a chunk). */
static void leave_callback(struct kube_conn *conn, int may_destroy)
{
	static const struct timeval now = { 0, 0 };

	if (--conn->in_callback > 0 || !conn->free_pending)
		return;
	if (may_destroy)
		conn_destroy(conn);
	else
		evtimer_add(conn->timer, &now);
}

void kube_conn_free(struct kube_conn *conn)
{
	if (!conn)
		return;
	conn->in_flight = 0; /* no callback from now on */
	if (conn->in_callback) {
		conn->free_pending = 1;
		return;
	}
	conn_destroy(conn);
}

/* Reports the end of the exchange, once. */
static void finish(struct kube_conn *conn, int rc, const struct kube_error *err)
{
	if (!conn->in_flight)
		return;
	conn->in_flight = 0;
	evtimer_del(conn->timer);
	if (rc < 0)
		conn->complete = 0;
	conn->ops->on_done(conn->ud, rc, conn->code, rc < 0 ? err : NULL);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
	struct kube_conn *conn = arg;

	conn->closed = 1;
}

/* What went wrong when libevent gave up on the exchange. */
static int describe_failure(struct kube_conn *conn, int sock_errno, struct kube_error *err)
{
	SSL *ssl = bufferevent_openssl_get_ssl(conn->bev);
	unsigned long tls_err = bufferevent_get_openssl_error(conn->bev);
	char buf[256];

	/* libevent files a failed system call (SSL_ERROR_SYSCALL) as an error of no
	 * library: that is the socket's failure, not TLS's. */
	while (tls_err && ERR_GET_LIB(tls_err) == 0)
		tls_err = bufferevent_get_openssl_error(conn->bev);

	if (conn->have_error && conn->error == EVREQ_HTTP_TIMEOUT)
		return kube_error_set(err, KUBE_ERR_TIMEOUT, -ETIMEDOUT,
				      "no data from %s:%u in time", conn->host, conn->port);
	if (conn->have_error && conn->error == EVREQ_HTTP_DATA_TOO_LONG)
		return kube_error_set(err, KUBE_ERR_TRANSPORT, -EFBIG,
				      "response body over the limit");
	if (conn->have_error && conn->error == EVREQ_HTTP_INVALID_HEADER)
		return kube_error_set(err, KUBE_ERR_TRANSPORT, -EIO,
				      "malformed HTTP response from %s:%u", conn->host, conn->port);
	if (tls_err || (ssl && SSL_get_verify_result(ssl) != X509_V_OK))
		return kube_error_set(err, KUBE_ERR_TLS, -EPROTO, "TLS with %s:%u: %s", conn->host,
				      conn->port, kube_tls_describe_failure(ssl, tls_err, buf,
									    sizeof(buf)));
	if (ssl && !SSL_is_init_finished(ssl)) {
		int connect_errno = sock_errno == ECONNREFUSED || sock_errno == EHOSTUNREACH ||
				    sock_errno == ENETUNREACH || sock_errno == EADDRNOTAVAIL;

		if (connect_errno || SSL_get_state(ssl) == TLS_ST_BEFORE)
			return kube_error_set(err, KUBE_ERR_CONNECT, -ECONNREFUSED,
					      "cannot connect to %s:%u%s%s", conn->host, conn->port,
					      connect_errno ? ": " : "",
					      connect_errno ? strerror(sock_errno) : "");
		return kube_error_set(err, KUBE_ERR_TLS, -EPROTO,
				      "TLS handshake with %s:%u did not complete", conn->host,
				      conn->port);
	}
	return kube_error_set(err, KUBE_ERR_TRANSPORT, -EIO,
			      "connection to %s:%u closed before the response ended", conn->host,
			      conn->port);
}

/* Hands `data` to on_body; a refusal ends the exchange from the loop (libevent must not
 * lose its connection under its own feet). Returns nonzero once ending. */
static int deliver(struct kube_conn *conn, struct evbuffer *buf)
{
	struct evbuffer_iovec vec[8];

	while (!conn->ending && conn->in_flight && evbuffer_get_length(buf) > 0) {
		int n = evbuffer_peek(buf, -1, NULL, vec, 8);
		size_t used = 0;

		for (int i = 0; i < n && i < 8 && !conn->ending && conn->in_flight; i++) {
			struct kube_error err = { 0 };
			int rc = conn->ops->on_body(conn->ud, conn->code, vec[i].iov_base,
						    vec[i].iov_len, &err);
			used += vec[i].iov_len;
			if (!conn->in_flight)
				return 1; /* freed from inside on_body */
			if (rc < 0) {
				conn->ending = 1;
				conn->end_rc = rc;
				conn->end_err = err;
				conn->closed = 1; /* the rest of the response is still coming */
				static const struct timeval now = { 0, 0 };
				evtimer_add(conn->timer, &now);
			}
		}
		evbuffer_drain(buf, used);
	}
	return conn->ending;
}

/* Requests go out as several TLS records (headers, body): without TCP_NODELAY the
 * second waits for the server's delayed ACK, 40 ms a write. Keepalives find a server
 * that vanished under a quiet watch. */
static void tune_socket(struct kube_conn *conn)
{
	evutil_socket_t fd = bufferevent_getfd(conn->bev);
	int on = 1, idle = 15, intvl = 5, cnt = 4;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static int on_header(struct evhttp_request *req, void *arg)
{
	struct kube_conn *conn = arg;

	conn->code = evhttp_request_get_response_code(req);
	if (conn->timeout_ms < 0)
		evtimer_del(conn->timer); /* a stream has started: no deadline from now */
	return 0;
}

static void on_chunk(struct evhttp_request *req, void *arg)
{
	struct kube_conn *conn = arg;

	if (!conn->in_flight || conn->ending)
		return;
	conn->in_callback++;
	deliver(conn, evhttp_request_get_input_buffer(req));
	leave_callback(conn, 0);
}

static void on_error(enum evhttp_request_error error, void *arg)
{
	struct kube_conn *conn = arg;

	conn->have_error = 1;
	conn->error = error;
}

/* libevent's end of a request: req NULL after an error, a zero code when the
 * connection could not be made, else the whole response has been read. */
static void on_complete(struct evhttp_request *req, void *arg)
{
	struct kube_conn *conn = arg;
	int sock_errno = errno;
	struct kube_error err = { 0 };

	conn->in_callback++;
	if (conn->in_flight && !conn->ending) {
		if (req && evhttp_request_get_response_code(req) > 0) {
			conn->code = evhttp_request_get_response_code(req);
			if (!deliver(conn, evhttp_request_get_input_buffer(req))) {
				conn->complete = 1;
				finish(conn, 0, NULL);
			}
		} else {
			conn->closed = 1;
			finish(conn, describe_failure(conn, sock_errno, &err), &err);
		}
	}
	leave_callback(conn, 1);
}

/* The deadline passed, or on_body refused (dropping libevent's connection cancels the
 * request without a callback), or a free waits for libevent to be done. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct kube_conn *conn = arg;
	struct kube_error err = { 0 };
	int rc;

	if (conn->free_pending) {
		conn_destroy(conn);
		return;
	}
	if (!conn->in_flight)
		return;
	if (conn->ending) {
		rc = conn->end_rc;
		err = conn->end_err;
	} else {
		rc = kube_error_set(&err, KUBE_ERR_TIMEOUT, -ETIMEDOUT, "no answer from %s:%u within %ld ms",
				    conn->host, conn->port,
				    conn->timeout_ms > 0 ? conn->timeout_ms : 0);
	}
	conn->closed = 1;
	evhttp_connection_free(conn->evcon);
	conn->evcon = NULL;
	conn->bev = NULL;
	finish(conn, rc, &err);
}

int kube_conn_new(struct event_base *base, struct kube_tls *tls, const char *host,
		  unsigned short port, struct kube_conn **ret_conn, struct kube_error *err)
{
	struct kube_conn *conn = calloc(1, sizeof(*conn));
	SSL *ssl = NULL;

	if (!conn)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	conn->base = base;
	conn->port = port;
	if (snprintf(conn->host, sizeof(conn->host), "%s", host) >= (int)sizeof(conn->host)) {
		free(conn);
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENAMETOOLONG, "server name too long");
	}
	conn->timer = evtimer_new(base, on_timer, conn);
	ssl = conn->timer ? kube_tls_ssl_new(tls, host) : NULL;
	if (ssl)
		conn->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
							   BEV_OPT_CLOSE_ON_FREE |
							   BEV_OPT_DEFER_CALLBACKS);
	if (!conn->bev) {
		SSL_free(ssl);
		goto nomem;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(conn->bev, 1);
	conn->evcon = evhttp_connection_base_bufferevent_new(base, NULL, conn->bev, host, port);
	if (!conn->evcon) {
		bufferevent_free(conn->bev);
		goto nomem;
	}
	evhttp_connection_set_closecb(conn->evcon, on_close, conn);
	evhttp_connection_set_retries(conn->evcon, 0);
	*ret_conn = conn;
	return 0;
nomem:
	conn->bev = NULL;
	conn_destroy(conn);
	return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
}

int kube_conn_reusable(const struct kube_conn *conn)
{
	return conn->evcon && !conn->closed && conn->complete && !conn->in_flight;
}

int kube_conn_was_reused(const struct kube_conn *conn)
{
	return conn->exchanges > 1;
}

int kube_conn_tls_resumed(const struct kube_conn *conn)
{
	SSL *ssl = conn->bev ? bufferevent_openssl_get_ssl(conn->bev) : NULL;

	return ssl && SSL_session_reused(ssl);
}

static void ms_to_tv(long ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

int kube_conn_send(struct kube_conn *conn, const struct kube_conn_request *r,
		   const struct kube_conn_ops *ops, void *ud, struct kube_error *err)
{
	struct evhttp_request *req;
	struct evkeyvalq *out;
	struct timeval tv;
	char len[32];

	if (conn->in_flight)
		return kube_error_set(err, KUBE_ERR_LOCAL, -EBUSY, "connection busy");
	if (!conn->evcon || conn->closed || (conn->exchanges && !conn->complete))
		return kube_error_set(err, KUBE_ERR_LOCAL, -EPIPE, "connection closed");
	req = evhttp_request_new(on_complete, conn);
	if (!req)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	evhttp_request_set_header_cb(req, on_header);
	evhttp_request_set_chunked_cb(req, on_chunk);
	evhttp_request_set_error_cb(req, on_error);
	out = evhttp_request_get_output_headers(req);
	for (const char *const *h = r->headers; h && h[0] && h[1]; h += 2) {
		if (evhttp_add_header(out, h[0], h[1]) < 0)
			goto bad_header;
	}
	if (r->body) {
		snprintf(len, sizeof(len), "%zu", r->body_len);
		if (evhttp_add_header(out, "Content-Length", len) < 0 ||
		    evbuffer_add(evhttp_request_get_output_buffer(req), r->body, r->body_len) < 0)
			goto bad_header;
	}

	conn->ops = ops;
	conn->ud = ud;
	conn->timeout_ms = r->timeout_ms;
	conn->code = 0;
	conn->ending = 0;
	conn->have_error = 0;
	conn->complete = 0;
	ms_to_tv(r->timeout_ms > 0 ? r->timeout_ms : (long)STREAM_IDLE_SECONDS * 1000, &tv);
	evhttp_connection_set_timeout_tv(conn->evcon, &tv);
	evhttp_connection_set_max_body_size(conn->evcon, r->max_body ? (ev_ssize_t)r->max_body : -1);
	ms_to_tv(r->timeout_ms > 0 ? r->timeout_ms : r->connect_timeout_ms, &tv);
	evtimer_add(conn->timer, &tv);
	conn->in_flight = 1;
	conn->exchanges++;
	if (evhttp_make_request(conn->evcon, req, r->method, r->path) < 0) {
		/* libevent has freed the request */
		conn->in_flight = 0;
		conn->closed = 1;
		evtimer_del(conn->timer);
		return kube_error_set(err, KUBE_ERR_CONNECT, -ECONNREFUSED,
				      "cannot connect to %s:%u", conn->host, conn->port);
	}
	/* A new connection's socket exists now (libevent resolves a numeric host and
	 * starts connecting within the call) and nothing has been written to it yet; a
	 * kept one has its options already. */
	if (conn->exchanges == 1)
		tune_socket(conn);
	return 0;
bad_header:
	evhttp_request_free(req);
	return kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "header or body not accepted");
}
