/* Raw bytes from a peer into a real lib/http server: libevent's HTTP parser, then our
 * routing, body bound and handlers. Each input goes over its own loopback connection,
 * the write side is closed, and the loop runs until the server has answered and
 * closed, or 2 s have passed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/http/server.h"

static struct event_base *base;
static struct http_server *server;
static struct sockaddr_in server_addr;

static void hello(struct http_request *req, void *userdata)
{
	http_response_printf(req, "hello\n");
}

static void echo(struct http_request *req, void *userdata)
{
	const void *body;
	size_t len;
	const char *type = http_request_header(req, "Content-Type");

	if (http_request_body(req, &body, &len) < 0) {
		http_response_set_status(req, 500);
		return;
	}
	if (type)
		http_response_add_header(req, "X-Type", type);
	http_response_set_status(req, len ? 200 : 204);
	http_response_append(req, body, len);
}

static void inspect(struct http_request *req, void *userdata)
{
	const char *q = http_request_query(req), *h = http_request_header(req, "X-Test");

	http_response_printf(req, "%s %s %s %s", http_request_path(req), q ? q : "",
			     h ? h : "", http_request_peer(req));
}

static int init(void)
{
	struct http_server_opts opts = {
		.listen = "127.0.0.1:0",
		.max_body_bytes = 4096,
		.max_header_bytes = 2048,
		.timeout_ms = 1000,
	};

	base = event_base_new();
	if (!base || http_server_new(base, &opts, &server) < 0)
		return -1;
	if (http_server_route(server, HTTP_METHOD_GET, "/hello", hello, NULL) < 0 ||
	    http_server_route(server, HTTP_METHOD_POST | HTTP_METHOD_PUT | HTTP_METHOD_PATCH,
			      "/echo", echo, NULL) < 0 ||
	    http_server_route(server, HTTP_METHOD_GET | HTTP_METHOD_DELETE, "/inspect", inspect,
			      NULL) < 0)
		return -1;
	server_addr.sin_family = AF_INET;
	server_addr.sin_port = htons(http_server_port(server));
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

struct client {
	int fd;
	const uint8_t *data;
	size_t left;
	struct event *writer;
	bool done;
};

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n = send(fd, c->data, c->left, MSG_NOSIGNAL);

	if (n > 0) {
		c->data += n;
		c->left -= (size_t)n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		c->left = 0;
	}
	if (!c->left) {
		shutdown(fd, SHUT_WR);
		event_del(c->writer);
	}
}

/* Reads and drops the answer until the server closes, or the deadline passes. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	char buf[4096];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		c->done = true;
		return;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		c->done = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct client c = { .data = data, .left = size };
	struct timeval deadline = { 2, 0 };
	struct event *reader;

	if (!ready) {
		if (init() < 0)
			abort();
		ready = true;
	}
	c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0)
		return 0;
	if (connect(c.fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0) {
		close(c.fd);
		return 0;
	}
	fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
	c.writer = event_new(base, c.fd, EV_WRITE | EV_PERSIST, on_writable, &c);
	reader = event_new(base, c.fd, EV_READ | EV_PERSIST, on_readable, &c);
	if (!c.writer || !reader || event_add(reader, &deadline) < 0)
		abort();
	if (size)
		event_add(c.writer, NULL);
	else
		shutdown(c.fd, SHUT_WR);
	while (!c.done)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(c.writer);
	event_free(reader);
	close(c.fd);
	/* Let the server see the close and free its side of the connection. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
