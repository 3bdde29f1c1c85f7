/* An HTTP or HTTPS server embedded in the caller's libevent event_base, built on
 * libevent's evhttp (which parses HTTP) and bufferevent_openssl (TLS 1.2 at least).
 *
 * Routes are an exact path and a set of methods; a handler runs on the event loop's
 * thread, reads the request and fills in the response (status, headers, body), which
 * is sent when the handler returns. The server answers by itself: 404 for an unknown
 * path, 405 with an Allow header for a known path and another method, 413 for a body
 * over max_body_bytes, 400 for what evhttp cannot parse. Connections are kept alive
 * (HTTP/1.1) and closed after timeout_ms without progress (TLS handshake included).
 * With a certificate, the files are watched and reloaded as lib/http/tls_reload.h
 * describes.
 *
 * Errors: 0 or a negative errno. Ownership: the server borrows base, which must
 * outlive it; a request and everything it returns is borrowed for the handler's call.
 * Threads: everything but http_server_tls_stats() is called on the loop's thread.
 * Signals: creating a server sets SIGPIPE to ignored when it is at its default, since a
 * peer that closes mid-response would otherwise end the process. */
#ifndef AUTOTRACE_HTTP_SERVER_H
#define AUTOTRACE_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "lib/http/tls_reload.h"

struct http_server;
struct http_request;

enum http_method {
	HTTP_METHOD_GET = 1 << 0,
	HTTP_METHOD_HEAD = 1 << 1,
	HTTP_METHOD_POST = 1 << 2,
	HTTP_METHOD_PUT = 1 << 3,
	HTTP_METHOD_DELETE = 1 << 4,
	HTTP_METHOD_PATCH = 1 << 5,
	HTTP_METHOD_OPTIONS = 1 << 6,
};

typedef void (*http_handler_fn)(struct http_request *request, void *userdata);
/* Called once from the loop when a shutdown has drained (or its grace ran out). */
typedef void (*http_drained_fn)(void *userdata);

#define HTTP_DEFAULT_MAX_BODY_BYTES (1024 * 1024)
#define HTTP_DEFAULT_MAX_HEADER_BYTES (16 * 1024)
#define HTTP_DEFAULT_TIMEOUT_MS 30000
#define HTTP_MAX_ROUTES 64

struct http_server_opts {
	/* "host:port" as lib/http/listen_addr.h reads it; port 0 picks a free port
	 * (http_server_port() tells which). Required. */
	const char *listen;
	/* Both set: HTTPS with this PEM certificate chain and key; both NULL: HTTP. */
	const char *tls_cert_file;
	const char *tls_key_file;
	/* How often the certificate files are checked; 0 means 1000 ms. */
	unsigned tls_reload_interval_ms;
	/* Largest request body; 0 means HTTP_DEFAULT_MAX_BODY_BYTES. */
	size_t max_body_bytes;
	/* Largest request line plus headers; 0 means HTTP_DEFAULT_MAX_HEADER_BYTES. */
	size_t max_header_bytes;
	/* A connection that makes no progress for this long is closed; 0 means
	 * HTTP_DEFAULT_TIMEOUT_MS. Rounded up to whole milliseconds. */
	unsigned timeout_ms;
};

/* Binds and starts serving on base. Returns a new server in *ret_server: 0, -EINVAL
 * for bad options, -EADDRINUSE or another bind error, the TLS loading errors of
 * http_tls_context_new(), -ENOMEM. */
int http_server_new(struct event_base *base, const struct http_server_opts *opts,
		    struct http_server **ret_server);
/* Closes the listener and every connection at once (see http_server_shutdown() for a
 * clean stop); accepts NULL; returns NULL. Not from inside a handler. */
struct http_server *http_server_free(struct http_server *server);

/* Adds a route: requests for exactly path (query string aside) with one of methods
 * (HTTP_METHOD_* or-ed; GET implies HEAD) go to handler. -EINVAL for a path not
 * starting with '/' or no method, -EEXIST when a method of path is routed already,
 * -ENOSPC past HTTP_MAX_ROUTES, -ENOMEM. */
int http_server_route(struct http_server *server, unsigned methods, const char *path,
		      http_handler_fn handler, void *userdata);

/* The bound port (the one the kernel chose for port 0). */
uint16_t http_server_port(const struct http_server *server);

/* Stops accepting connections now, marks responses "Connection: close", and calls
 * done from the loop once no request is in flight, or after grace_ms at the latest.
 * The caller then frees the server. -EALREADY on a second call. */
int http_server_shutdown(struct http_server *server, unsigned grace_ms, http_drained_fn done,
			 void *userdata);
/* Requests handed to a handler whose response is not fully written yet. */
size_t http_server_in_flight(const struct http_server *server);

/* Certificate reload counters (all zero for plain HTTP); callable from any thread, so
 * a metrics callback can read them at scrape time. */
void http_server_tls_stats(const struct http_server *server, struct http_tls_stats *ret_stats);
/* Checks the certificate files now instead of waiting for the timer: 1 reloaded,
 * 0 unchanged, negative errno for a bad pair, -EINVAL for plain HTTP. */
int http_server_tls_check(struct http_server *server);

/* ---- request, for handlers ---- */

enum http_method http_request_method(const struct http_request *request);
/* The path without the query string, as sent (not percent-decoded). */
const char *http_request_path(const struct http_request *request);
/* The query string without '?', or NULL. */
const char *http_request_query(const struct http_request *request);
/* The first header of that name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *request, const char *name);
/* The whole body (already bounded by max_body_bytes), contiguous; *ret_data points to
 * "" for an empty body. -ENOMEM. */
int http_request_body(struct http_request *request, const void **ret_data, size_t *ret_len);
/* The peer's address as text ("127.0.0.1"), or "" when unknown. */
const char *http_request_peer(const struct http_request *request);

/* ---- response, for handlers ---- */

/* Default 200; a status outside 100..599 is sent as 500. */
void http_response_set_status(struct http_request *request, int status);
/* Adds a header; -EINVAL for a name or value with CR/LF or other bytes a header may
 * not hold, -ENOMEM. Content-Type defaults to text/plain; charset=utf-8. */
int http_response_add_header(struct http_request *request, const char *name,
			     const char *value);
int http_response_append(struct http_request *request, const void *data, size_t len);
int http_response_printf(struct http_request *request, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends data without copying it; steals data (free()d once sent), also on error. */
int http_response_append_owned(struct http_request *request, void *data, size_t len);

#endif
