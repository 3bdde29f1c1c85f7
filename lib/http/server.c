#include "lib/http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lib/http/listen_addr.h"
#include "lib/http/tls_reload.h"
#include "lib/log/log.h"
#include "lib/loop/sigpipe.h"

#define ALL_METHODS                                                                       \
	(HTTP_METHOD_GET | HTTP_METHOD_HEAD | HTTP_METHOD_POST | HTTP_METHOD_PUT |        \
	 HTTP_METHOD_DELETE | HTTP_METHOD_PATCH | HTTP_METHOD_OPTIONS)

struct route {
	char *path;
	unsigned methods;
	http_handler_fn handler;
	void *userdata;
};

/* A request handed to a handler whose response is still being written. evhttp reports
 * the end through the request's completion callback, or, when the peer goes away
 * first, through the connection's close callback. */
struct in_flight {
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct http_server *server;
	struct in_flight *prev, *next;
};

struct http_server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	uint16_t port;
	struct http_tls_reloader *tls;
	struct route routes[HTTP_MAX_ROUTES];
	size_t n_routes;
	struct in_flight *in_flight;
	size_t n_in_flight;
	bool draining;
	bool drained_called;
	struct event *drain_event;
	struct event *grace_event;
	http_drained_fn drained;
	void *drained_userdata;
};

struct http_request {
	struct evhttp_request *ev;
	enum http_method method;
	const char *path;
	int status;
};

/* ---- TLS connections ---- */

/* evhttp calls this for each accepted connection: the new SSL takes a reference to the
 * context current at accept time, so a reload never touches open connections. If this
 * fails evhttp falls back to a plain bufferevent, and the client's TLS handshake fails
 * on the plain-text 400 it gets. */
static struct bufferevent *tls_bufferevent(struct event_base *base, void *arg)
{
	struct http_server *server = arg;
	struct bufferevent *bev;
	SSL *ssl = SSL_new(http_tls_reloader_ctx(server->tls));

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	/* Clients commonly close without close_notify; that is an end, not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* ---- shutdown and in-flight tracking ---- */

static void maybe_drained(struct http_server *server)
{
	if (server->draining && !server->drained_called && server->n_in_flight == 0)
		event_active(server->drain_event, EV_TIMEOUT, 0);
}

static void in_flight_remove(struct in_flight *f)
{
	struct http_server *server = f->server;

	if (f->prev)
		f->prev->next = f->next;
	else
		server->in_flight = f->next;
	if (f->next)
		f->next->prev = f->prev;
	server->n_in_flight--;
	free(f);
	maybe_drained(server);
}

static void on_request_complete(struct evhttp_request *req, void *arg)
{
	in_flight_remove(arg);
}

static void on_connection_close(struct evhttp_connection *evcon, void *arg)
{
	struct http_server *server = arg;
	struct in_flight *f = server->in_flight;

	while (f) {
		struct in_flight *next = f->next;

		if (f->evcon == evcon) {
			evhttp_request_set_on_complete_cb(f->req, NULL, NULL);
			in_flight_remove(f);
		}
		f = next;
	}
}

static void in_flight_add(struct http_server *server, struct evhttp_request *req)
{
	struct in_flight *f = calloc(1, sizeof(*f));

	/* Without memory the request is served untracked: a shutdown may then cut it. */
	if (!f)
		return;
	f->req = req;
	f->evcon = evhttp_request_get_connection(req);
	f->server = server;
	f->next = server->in_flight;
	if (f->next)
		f->next->prev = f;
	server->in_flight = f;
	server->n_in_flight++;
	evhttp_request_set_on_complete_cb(req, on_request_complete, f);
	if (f->evcon)
		evhttp_connection_set_closecb(f->evcon, on_connection_close, server);
}

static void on_drained(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *server = arg;

	if (server->drained_called)
		return;
	server->drained_called = true;
	event_del(server->grace_event);
	if (server->drained)
		server->drained(server->drained_userdata);
}

int http_server_shutdown(struct http_server *server, unsigned grace_ms, http_drained_fn done,
			 void *userdata)
{
	struct timeval grace = { .tv_sec = grace_ms / 1000, .tv_usec = (grace_ms % 1000) * 1000 };

	if (server->draining)
		return -EALREADY;
	server->drain_event = event_new(server->base, -1, 0, on_drained, server);
	server->grace_event = evtimer_new(server->base, on_drained, server);
	if (!server->drain_event || !server->grace_event)
		return -ENOMEM;
	server->draining = true;
	server->drained = done;
	server->drained_userdata = userdata;
	if (server->bound) {
		evhttp_del_accept_socket(server->http, server->bound);
		server->bound = NULL;
	}
	http_tls_reloader_stop(server->tls);
	evtimer_add(server->grace_event, &grace);
	maybe_drained(server);
	return 0;
}

size_t http_server_in_flight(const struct http_server *server)
{
	return server->n_in_flight;
}

/* ---- dispatch ---- */

static enum http_method method_from_evhttp(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return HTTP_METHOD_GET;
	case EVHTTP_REQ_HEAD:
		return HTTP_METHOD_HEAD;
	case EVHTTP_REQ_POST:
		return HTTP_METHOD_POST;
	case EVHTTP_REQ_PUT:
		return HTTP_METHOD_PUT;
	case EVHTTP_REQ_DELETE:
		return HTTP_METHOD_DELETE;
	case EVHTTP_REQ_PATCH:
		return HTTP_METHOD_PATCH;
	case EVHTTP_REQ_OPTIONS:
		return HTTP_METHOD_OPTIONS;
	default:
		return 0;
	}
}

static void allow_header(struct evhttp_request *ev, unsigned methods)
{
	static const struct {
		unsigned method;
		const char *name;
	} names[] = {
		{ HTTP_METHOD_GET, "GET" },	{ HTTP_METHOD_HEAD, "HEAD" },
		{ HTTP_METHOD_POST, "POST" },	{ HTTP_METHOD_PUT, "PUT" },
		{ HTTP_METHOD_DELETE, "DELETE" }, { HTTP_METHOD_PATCH, "PATCH" },
		{ HTTP_METHOD_OPTIONS, "OPTIONS" },
	};
	char allow[64] = "";
	size_t used = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(methods & names[i].method))
			continue;
		used += (size_t)snprintf(allow + used, sizeof(allow) - used, "%s%s",
					 used ? ", " : "", names[i].name);
	}
	evhttp_add_header(evhttp_request_get_output_headers(ev), "Allow", allow);
}

static void reply_text(struct evhttp_request *ev, int status, const char *text)
{
	evbuffer_add(evhttp_request_get_output_buffer(ev), text, strlen(text));
	evhttp_send_reply(ev, status, NULL, NULL);
}

static void on_request(struct evhttp_request *ev, void *arg)
{
	struct http_server *server = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum http_method method = method_from_evhttp(evhttp_request_get_command(ev));
	unsigned path_methods = 0;
	const struct route *route = NULL;
	struct http_request request;

	if (server->draining)
		evhttp_add_header(evhttp_request_get_output_headers(ev), "Connection", "close");
	for (size_t i = 0; path && i < server->n_routes; i++) {
		const struct route *r = &server->routes[i];

		if (strcmp(r->path, path) != 0)
			continue;
		path_methods |= r->methods;
		if (r->methods & method)
			route = r;
	}
	if (!route) {
		if (!path_methods) {
			reply_text(ev, HTTP_NOTFOUND, "not found\n");
		} else {
			allow_header(ev, path_methods);
			reply_text(ev, HTTP_BADMETHOD, "method not allowed\n");
		}
		return;
	}

	request = (struct http_request){ .ev = ev, .method = method, .path = path, .status = 200 };
	in_flight_add(server, ev);
	route->handler(&request, route->userdata);
	evhttp_send_reply(ev, request.status, NULL, NULL);
}

/* ---- setup ---- */

static int bind_listener(struct http_server *server, const char *listen)
{
	struct http_listen_addr addr;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1, fd;
	int r = http_listen_addr_parse(listen, &addr);

	if (r < 0)
		return r;
	errno = 0;
	if (addr.host[0]) {
		server->bound = evhttp_bind_socket_with_handle(server->http, addr.host, addr.port);
	} else {
		/* Every interface: dual-stack "::" where IPv6 exists, else IPv4 only. */
		server->bound = evhttp_bind_socket_with_handle(server->http, "::", addr.port);
		if (!server->bound)
			server->bound = evhttp_bind_socket_with_handle(server->http, "0.0.0.0",
								       addr.port);
	}
	if (!server->bound)
		return errno ? -errno : -EADDRNOTAVAIL;
	fd = evhttp_bound_socket_get_fd(server->bound);
	/* Accepted sockets inherit it. A TLS response leaves as several records (headers,
	 * then body) and Nagle would hold the second until the peer's delayed ACK: 40 ms
	 * per keep-alive request. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		server->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		server->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int http_server_new(struct event_base *base, const struct http_server_opts *opts,
		    struct http_server **ret_server)
{
	unsigned timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	struct timeval timeout = { .tv_sec = timeout_ms / 1000,
				   .tv_usec = (timeout_ms % 1000) * 1000 };
	struct http_server *server = NULL;
	int r;

	if (!base || !opts || !opts->listen || !opts->tls_cert_file != !opts->tls_key_file)
		return -EINVAL;
	sigpipe_ignore_default();
	server = calloc(1, sizeof(*server));
	if (!server)
		return -ENOMEM;
	server->base = base;
	server->http = evhttp_new(base);
	if (!server->http) {
		r = -ENOMEM;
		goto fail;
	}
	if (opts->tls_cert_file) {
		struct http_tls_reload_opts tls_opts = {
			.cert_file = opts->tls_cert_file,
			.key_file = opts->tls_key_file,
			.interval_ms = opts->tls_reload_interval_ms,
		};

		r = http_tls_reloader_new(base, &tls_opts, &server->tls);
		if (r < 0)
			goto fail;
		evhttp_set_bevcb(server->http, tls_bufferevent, server);
	}
	evhttp_set_max_body_size(server->http, (ev_ssize_t)(opts->max_body_bytes
								     ? opts->max_body_bytes
								     : HTTP_DEFAULT_MAX_BODY_BYTES));
	evhttp_set_max_headers_size(server->http,
				    (ev_ssize_t)(opts->max_header_bytes
							 ? opts->max_header_bytes
							 : HTTP_DEFAULT_MAX_HEADER_BYTES));
	evhttp_set_timeout_tv(server->http, &timeout);
	evhttp_set_allowed_methods(server->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
							 EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
							 EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
							 EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(server->http, "text/plain; charset=utf-8");
	/* Read an oversized body to its end before answering 413, so that the client
	 * reads the answer instead of a reset. */
	evhttp_set_flags(server->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(server->http, on_request, server);
	r = bind_listener(server, opts->listen);
	if (r < 0)
		goto fail;
	*ret_server = server;
	return 0;
fail:
	http_server_free(server);
	return r;
}

struct http_server *http_server_free(struct http_server *server)
{
	if (!server)
		return NULL;
	/* evhttp_free closes the connections, which reports them through the close
	 * callback; the in-flight records go with them. */
	if (server->http)
		evhttp_free(server->http);
	while (server->in_flight) {
		struct in_flight *next = server->in_flight->next;

		free(server->in_flight);
		server->in_flight = next;
	}
	if (server->drain_event)
		event_free(server->drain_event);
	if (server->grace_event)
		event_free(server->grace_event);
	http_tls_reloader_free(server->tls);
	for (size_t i = 0; i < server->n_routes; i++)
		free(server->routes[i].path);
	free(server);
	return NULL;
}

int http_server_route(struct http_server *server, unsigned methods, const char *path,
		      http_handler_fn handler, void *userdata)
{
	struct route *route;

	if (!path || path[0] != '/' || !handler || !methods || (methods & ~ALL_METHODS))
		return -EINVAL;
	if (methods & HTTP_METHOD_GET)
		methods |= HTTP_METHOD_HEAD;
	for (size_t i = 0; i < server->n_routes; i++)
		if (strcmp(server->routes[i].path, path) == 0 &&
		    (server->routes[i].methods & methods))
			return -EEXIST;
	if (server->n_routes == HTTP_MAX_ROUTES)
		return -ENOSPC;
	route = &server->routes[server->n_routes];
	route->path = strdup(path);
	if (!route->path)
		return -ENOMEM;
	route->methods = methods;
	route->handler = handler;
	route->userdata = userdata;
	server->n_routes++;
	return 0;
}

uint16_t http_server_port(const struct http_server *server)
{
	return server->port;
}

void http_server_tls_stats(const struct http_server *server, struct http_tls_stats *ret_stats)
{
	if (!server->tls) {
		*ret_stats = (struct http_tls_stats){ 0 };
		return;
	}
	http_tls_reloader_stats(server->tls, ret_stats);
}

int http_server_tls_check(struct http_server *server)
{
	if (!server->tls)
		return -EINVAL;
	return http_tls_reloader_check(server->tls);
}

/* ---- request ---- */

enum http_method http_request_method(const struct http_request *request)
{
	return request->method;
}

const char *http_request_path(const struct http_request *request)
{
	return request->path;
}

const char *http_request_query(const struct http_request *request)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(request->ev);

	return uri ? evhttp_uri_get_query(uri) : NULL;
}

const char *http_request_header(const struct http_request *request, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(request->ev), name);
}

int http_request_body(struct http_request *request, const void **ret_data, size_t *ret_len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(request->ev);
	size_t len = evbuffer_get_length(in);
	const void *data = "";

	if (len) {
		data = evbuffer_pullup(in, -1);
		if (!data)
			return -ENOMEM;
	}
	*ret_data = data;
	*ret_len = len;
	return 0;
}

const char *http_request_peer(const struct http_request *request)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(request->ev);
	char *address = NULL;
	ev_uint16_t port;

	if (!evcon)
		return "";
	evhttp_connection_get_peer(evcon, &address, &port);
	return address ? address : "";
}

/* ---- response ---- */

void http_response_set_status(struct http_request *request, int status)
{
	request->status = status >= 100 && status <= 599 ? status : 500;
}

int http_response_add_header(struct http_request *request, const char *name,
			     const char *value)
{
	if (!name || !value || !*name || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
		return -EINVAL;
	if (evhttp_add_header(evhttp_request_get_output_headers(request->ev), name, value) < 0)
		return -ENOMEM;
	return 0;
}

int http_response_append(struct http_request *request, const void *data, size_t len)
{
	if (evbuffer_add(evhttp_request_get_output_buffer(request->ev), data, len) < 0)
		return -ENOMEM;
	return 0;
}

int http_response_printf(struct http_request *request, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = evbuffer_add_vprintf(evhttp_request_get_output_buffer(request->ev), fmt, ap);
	va_end(ap);
	return n < 0 ? -ENOMEM : 0;
}

static void free_owned(const void *data, size_t len, void *arg)
{
	free(arg);
}

int http_response_append_owned(struct http_request *request, void *data, size_t len)
{
	if (evbuffer_add_reference(evhttp_request_get_output_buffer(request->ev), data, len,
				   free_owned, data) < 0) {
		free(data);
		return -ENOMEM;
	}
	return 0;
}
