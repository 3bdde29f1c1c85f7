/* One TLS connection to the API server on a libevent event_base, carrying one HTTP/1.1
 * exchange at a time through libevent's HTTP client (which parses the responses).
 * kube_client_do reuses its connection while the server keeps it open; a watch or an
 * asynchronous call opens one of its own and frees it at the end.
 * Everything runs on the base's thread. Error convention: see lib/kube/error.h. */
#ifndef AUTOTRACE_KUBE_CONN_H
#define AUTOTRACE_KUBE_CONN_H

#include <event2/event.h>
#include <event2/http.h>
#include <stddef.h>

#include "lib/kube/error.h"
#include "lib/kube/tls.h"

struct kube_conn;

struct kube_conn_ops {
	/* Part of the body (of any status, `code`). 0 goes on; a negative errno ends the
	 * exchange, and on_done then reports that rc with what the callee put in *err. */
	int (*on_body)(void *ud, long code, const char *data, size_t len, struct kube_error *err);
	/* Once per exchange: rc 0 and the status code when the whole response arrived,
	 * else a negative errno and `err`. Never after kube_conn_free(). */
	void (*on_done)(void *ud, int rc, long code, const struct kube_error *err);
};

struct kube_conn_request {
	enum evhttp_cmd_type method;
	const char *path;           /* path and query, escaped */
	const char *const *headers; /* name, value, name, value, ..., NULL */
	const char *body;           /* may be NULL */
	size_t body_len;
	/* > 0: the whole exchange must end within this; < 0: a stream, bounded only until
	 * its response starts (connect_timeout_ms), then kept alive by TCP keepalives. */
	long timeout_ms;
	long connect_timeout_ms;
	size_t max_body;            /* 0: no limit */
};

/* A new connection to host:port (connected by the first exchange). `base` and `tls`
 * are borrowed and must outlive it. Free with kube_conn_free(). */
int kube_conn_new(struct event_base *base, struct kube_tls *tls, const char *host,
		  unsigned short port, struct kube_conn **ret_conn, struct kube_error *err);

/* Closes and frees it, with no further callback. From inside one of its callbacks the
 * close waits until libevent is done with the connection. Accepts NULL. */
void kube_conn_free(struct kube_conn *conn);

/* Starts an exchange; `ops` and `ud` are borrowed until on_done or kube_conn_free().
 * -EBUSY while another is in flight, -EPIPE on a connection the server closed. */
int kube_conn_send(struct kube_conn *conn, const struct kube_conn_request *req,
		   const struct kube_conn_ops *ops, void *ud, struct kube_error *err);

/* Nonzero when the last exchange ended with a whole response and the server kept the
 * connection open: the next kube_conn_send may use it. */
int kube_conn_reusable(const struct kube_conn *conn);

/* Nonzero when an exchange before the current one ran on this connection: a failure
 * before any answer may then be the server closing it while it was idle. */
int kube_conn_was_reused(const struct kube_conn *conn);

/* Nonzero when the connection's TLS handshake resumed an earlier session (for
 * diagnostics and tests: a resumed handshake skips the certificate exchange). */
int kube_conn_tls_resumed(const struct kube_conn *conn);

#endif
