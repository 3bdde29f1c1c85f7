/* The HTTP server on a real event_base in its own thread, spoken to over loopback by
 * libcurl the way a client would: routes, errors, body bound, keep-alive, timeouts and
 * a clean shutdown. HTTPS and certificate rotation are in test_http_tls.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "lib/http/listen_addr.h"
#include "lib/http/server.h"
#include "tests/support/http_fixture.h"

#define BIG_BODY (8u << 20)

static void hello(struct http_request *req, void *userdata)
{
	http_response_printf(req, "hello\n");
}

static void echo(struct http_request *req, void *userdata)
{
	const void *body;
	size_t len;
	char n[32];

	/* Handlers run on the loop's thread, where cmocka cannot assert: a broken
	 * expectation turns into a 500 the test sees. */
	if (http_request_body(req, &body, &len) < 0 ||
	    http_response_add_header(req, "X-Bad", "a\r\nInjected: 1") != -EINVAL) {
		http_response_set_status(req, 500);
		return;
	}
	snprintf(n, sizeof(n), "%zu", len);
	http_response_set_status(req, 201);
	http_response_add_header(req, "X-Body-Length", n);
	http_response_append(req, body, len);
}

static void inspect(struct http_request *req, void *userdata)
{
	const char *q = http_request_query(req), *h = http_request_header(req, "x-test");

	http_response_printf(req, "path=%s query=%s header=%s peer=%s", http_request_path(req),
			     q ? q : "-", h ? h : "-", http_request_peer(req));
}

static void big(struct http_request *req, void *userdata)
{
	char *data = malloc(BIG_BODY);

	if (!data) {
		http_response_set_status(req, 500);
		return;
	}
	memset(data, 'b', BIG_BODY);
	http_response_append_owned(req, data, BIG_BODY);
}

static void add_routes(struct http_fixture *f)
{
	assert_int_equal(http_server_route(f->server, HTTP_METHOD_GET, "/hello", hello, NULL), 0);
	assert_int_equal(http_server_route(f->server, HTTP_METHOD_POST | HTTP_METHOD_PUT, "/echo",
					   echo, NULL),
			 0);
	assert_int_equal(http_server_route(f->server, HTTP_METHOD_GET, "/inspect", inspect, NULL),
			 0);
	assert_int_equal(http_server_route(f->server, HTTP_METHOD_GET, "/big", big, NULL), 0);
}

static int setup(void **state)
{
	struct http_fixture *f = calloc(1, sizeof(*f));
	struct http_server_opts opts = {
		.listen = "127.0.0.1:0",
		.max_body_bytes = 64 * 1024,
		.timeout_ms = 5000,
	};

	if (!f || http_fixture_init(f, &opts) < 0)
		return -1;
	add_routes(f);
	if (http_fixture_start(f) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	http_fixture_stop(*state);
	free(*state);
	return 0;
}

static void routes_answer_and_the_rest_gets_404_or_405(void **state)
{
	struct http_fixture *f = *state;
	struct http_reply r = { 0 };
	CURL *curl = curl_easy_init();

	assert_int_equal(http_fixture_request(f, curl, "GET", "/hello", NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello\n");
	assert_string_equal(r.content_type, "text/plain; charset=utf-8");

	assert_int_equal(http_fixture_request(f, curl, "GET", "/hello/", NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 404);
	assert_int_equal(http_fixture_request(f, curl, "GET", "/nowhere", NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 404);

	assert_int_equal(http_fixture_request(f, curl, "DELETE", "/hello", NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	assert_int_equal(http_fixture_request(f, curl, "GET", "/echo", NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "POST, PUT");

	/* GET routes answer HEAD, without a body. */
	assert_int_equal(http_fixture_request(f, curl, "HEAD", "/hello", NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);

	assert_int_equal(http_fixture_request(f, curl, "GET", "/inspect?a=1&b=%20", NULL, 0, &r),
			 CURLE_OK);
	assert_string_equal(r.body, "path=/inspect query=a=1&b=%20 header=yes peer=127.0.0.1");
	http_reply_clear(&r);
	curl_easy_cleanup(curl);
}

static void bodies_are_read_and_bounded(void **state)
{
	struct http_fixture *f = *state;
	size_t max = 64 * 1024;
	char *body = malloc(max + 1);
	struct http_reply r = { 0 };
	CURL *curl = curl_easy_init();

	for (size_t i = 0; i <= max; i++)
		body[i] = (char)('a' + i % 26);
	assert_int_equal(http_fixture_request(f, curl, "POST", "/echo", body, 1000, &r), CURLE_OK);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.len, 1000);
	assert_memory_equal(r.body, body, 1000);

	/* Exactly at the bound is fine, one byte past it is 413. */
	assert_int_equal(http_fixture_request(f, curl, "PUT", "/echo", body, max, &r), CURLE_OK);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.len, max);
	assert_int_equal(http_fixture_request(f, curl, "POST", "/echo", body, max + 1, &r),
			 CURLE_OK);
	assert_int_equal(r.status, 413);
	/* The same without a Content-Length, chunked. */
	f->chunked = true;
	assert_int_equal(http_fixture_request(f, curl, "POST", "/echo", body, max + 1, &r),
			 CURLE_OK);
	assert_int_equal(r.status, 413);
	assert_int_equal(http_fixture_request(f, curl, "POST", "/echo", body, 5000, &r), CURLE_OK);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.len, 5000);
	f->chunked = false;
	/* The server still serves after refusing. */
	assert_int_equal(http_fixture_request(f, curl, "GET", "/hello", NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	free(body);
	http_reply_clear(&r);
	curl_easy_cleanup(curl);
}

static void connections_are_kept_alive(void **state)
{
	struct http_fixture *f = *state;
	struct http_reply r = { 0 };
	CURL *curl = curl_easy_init();

	assert_int_equal(http_fixture_request(f, curl, "GET", "/hello", NULL, 0, &r), CURLE_OK);
	assert_int_equal(r.num_connects, 1);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(http_fixture_request(f, curl, "POST", "/echo", "x", 1, &r),
				 CURLE_OK);
		assert_int_equal(r.status, 201);
		assert_int_equal(r.num_connects, 0);
	}
	http_reply_clear(&r);
	curl_easy_cleanup(curl);
}

/* Sends raw bytes on a new connection, closes its sending side, and returns what
 * comes back until the server closes (at most size - 1 bytes, at most 5 s). */
static void raw_exchange_how(uint16_t port, const char *request, size_t len, bool half_close,
			     char *out, size_t size)
{
	struct timeval limit = { 5, 0 };
	struct sockaddr_in addr = { .sin_family = AF_INET };
	size_t used = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
	assert_int_equal(send(fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
	if (half_close)
		shutdown(fd, SHUT_WR);
	while (used < size - 1 && (n = recv(fd, out + used, size - 1 - used, 0)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(fd);
}

static void raw_exchange(uint16_t port, const char *request, size_t len, char *out, size_t size)
{
	raw_exchange_how(port, request, len, true, out, size);
}

static void malformed_and_oversized_requests_are_refused(void **state)
{
	struct http_fixture *f = *state;
	size_t big = HTTP_DEFAULT_MAX_HEADER_BYTES + 1024;
	char *request = malloc(big + 128);
	char reply[4096];
	int n;

	assert_non_null(request);
	n = snprintf(request, big + 128, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(request + n, 'x', big);
	memcpy(request + n + big, "\r\n\r\n", 4);
	raw_exchange(f->port, request, (size_t)n + big + 4, reply, sizeof(reply));
	assert_true(strncmp(reply, "HTTP/1.1 4", 10) == 0);
	assert_null(strstr(reply, "hello"));

	raw_exchange(f->port, "GARBAGE\r\n\r\n", strlen("GARBAGE\r\n\r\n"), reply,
		     sizeof(reply));
	assert_true(strncmp(reply, "HTTP/1.1 400", 12) == 0 || reply[0] == '\0');
	static const char trace[] = "TRACE /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	raw_exchange(f->port, trace, sizeof(trace) - 1, reply, sizeof(reply));
	assert_true(strncmp(reply, "HTTP/1.1 405", 12) == 0 ||
		    strncmp(reply, "HTTP/1.1 501", 12) == 0);
	/* Two pipelined requests get two answers, in order. */
	static const char pipelined[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
					"GET /inspect?p=2 HTTP/1.1\r\nHost: x\r\n"
					"Connection: close\r\n\r\n";
	raw_exchange_how(f->port, pipelined, sizeof(pipelined) - 1, false, reply, sizeof(reply));
	assert_non_null(strstr(reply, "hello\n"));
	assert_non_null(strstr(reply, "query=p=2"));
	assert_true(strstr(reply, "hello\n") < strstr(reply, "query=p=2"));
	free(request);
}

/* A peer that connects and says nothing is closed after the timeout. */
static void idle_connections_time_out(void **state)
{
	struct http_fixture f = { 0 };
	struct http_server_opts opts = { .listen = "127.0.0.1:0", .timeout_ms = 300 };
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct timespec t0, t1;
	struct pollfd pfd;
	char c;
	int fd;
	double elapsed;

	assert_int_equal(http_fixture_init(&f, &opts), 0);
	add_routes(&f);
	assert_int_equal(http_fixture_start(&f), 0);
	addr.sin_port = htons(f.port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_true(recv(fd, &c, 1, 0) <= 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(elapsed > 0.2 && elapsed < 3);
	close(fd);
	http_fixture_stop(&f);
}

static void port_zero_picks_a_port_and_a_taken_one_is_refused(void **state)
{
	struct http_fixture *f = *state;
	struct event_base *base = event_base_new();
	struct http_server *second;
	char listen[64];

	assert_true(f->port > 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", f->port);
	assert_int_equal(http_server_new(base, &(struct http_server_opts){ .listen = listen },
					 &second),
			 -EADDRINUSE);
	assert_int_equal(http_server_new(base, &(struct http_server_opts){ .listen = "nonsense" },
					 &second),
			 -EINVAL);
	assert_int_equal(http_server_new(base,
					 &(struct http_server_opts){
						 .listen = "127.0.0.1:0",
						 .tls_cert_file = "/nonexistent/tls.crt",
					 },
					 &second),
			 -EINVAL);
	event_base_free(base);
}

static void routes_are_validated(void **state)
{
	struct http_fixture *f = *state;

	assert_int_equal(http_server_route(f->server, HTTP_METHOD_GET, "relative", hello, NULL),
			 -EINVAL);
	assert_int_equal(http_server_route(f->server, 0, "/x", hello, NULL), -EINVAL);
	assert_int_equal(http_server_route(f->server, HTTP_METHOD_POST, "/echo", hello, NULL),
			 -EEXIST);
}

static void listen_addresses_parse(void **state)
{
	struct http_listen_addr a;

	assert_int_equal(http_listen_addr_parse("127.0.0.1:8443", &a), 0);
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 8443);
	assert_int_equal(http_listen_addr_parse("[::1]:0", &a), 0);
	assert_string_equal(a.host, "::1");
	assert_int_equal(a.port, 0);
	assert_int_equal(http_listen_addr_parse(":9090", &a), 0);
	assert_string_equal(a.host, "");
	assert_int_equal(a.port, 9090);
	assert_int_equal(http_listen_addr_parse("localhost:65535", &a), 0);
	assert_int_equal(http_listen_addr_parse("localhost:65536", &a), -EINVAL);
	assert_int_equal(http_listen_addr_parse("localhost", &a), -EINVAL);
	assert_int_equal(http_listen_addr_parse("localhost:", &a), -EINVAL);
	assert_int_equal(http_listen_addr_parse("localhost:8x", &a), -EINVAL);
	assert_int_equal(http_listen_addr_parse("::1:80", &a), -EINVAL);
	assert_int_equal(http_listen_addr_parse("[::1]80", &a), -EINVAL);
	assert_int_equal(http_listen_addr_parse("[]:80", &a), -EINVAL);
	assert_int_equal(http_listen_addr_parse("", &a), -EINVAL);
}

/* ---- shutdown ---- */

struct slow_client {
	struct http_fixture *f;
	struct http_reply reply;
	CURLcode result;
	volatile int receiving;
};

static void *slow_get(void *arg)
{
	struct slow_client *c = arg;
	CURL *curl = curl_easy_init();

	/* About 2 s for 8 MiB: long enough to shut down in the middle. */
	curl_easy_setopt(curl, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)(4u << 20));
	c->f->receiving_flag = &c->receiving;
	c->result = http_fixture_request(c->f, curl, "GET", "/big", NULL, 0, &c->reply);
	curl_easy_cleanup(curl);
	return NULL;
}

static void on_drained(void *userdata)
{
	struct http_fixture *f = userdata;

	__atomic_store_n(&f->drained, 1, __ATOMIC_RELEASE);
}

static void start_shutdown(evutil_socket_t fd, short what, void *arg)
{
	struct http_fixture *f = arg;

	/* On the loop's thread: results are checked by the test's thread. */
	f->in_flight_at_shutdown = http_server_in_flight(f->server);
	f->shutdown_result = http_server_shutdown(f->server, 10000, on_drained, f);
	f->second_shutdown_result = http_server_shutdown(f->server, 10000, on_drained, f);
}

static void shutdown_finishes_in_flight_requests_and_refuses_new_ones(void **state)
{
	struct http_fixture *f = *state;
	struct slow_client c = { .f = f };
	struct timeval now = { 0, 0 };
	struct http_reply r = { 0 };
	pthread_t thread;
	CURL *curl;

	assert_int_equal(pthread_create(&thread, NULL, slow_get, &c), 0);
	for (int i = 0; i < 500 && !c.receiving; i++)
		usleep(10000);
	assert_true(c.receiving);
	assert_int_equal(event_base_once(f->base, -1, EV_TIMEOUT, start_shutdown, f, &now), 0);
	usleep(200000);
	assert_int_equal(f->in_flight_at_shutdown, 1);
	assert_int_equal(f->shutdown_result, 0);
	assert_int_equal(f->second_shutdown_result, -EALREADY);
	/* The listener is closed: a new connection is refused. */
	curl = curl_easy_init();
	assert_int_equal(http_fixture_request(f, curl, "GET", "/hello", NULL, 0, &r),
			 CURLE_COULDNT_CONNECT);
	http_reply_clear(&r);
	curl_easy_cleanup(curl);
	assert_false(__atomic_load_n(&f->drained, __ATOMIC_ACQUIRE));
	pthread_join(thread, NULL);
	f->receiving_flag = NULL;
	/* The request in flight got all of its body. */
	assert_int_equal(c.result, CURLE_OK);
	assert_int_equal(c.reply.status, 200);
	assert_int_equal(c.reply.len, BIG_BODY);
	http_reply_clear(&c.reply);
	for (int i = 0; i < 200 && !__atomic_load_n(&f->drained, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	assert_true(__atomic_load_n(&f->drained, __ATOMIC_ACQUIRE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listen_addresses_parse),
		cmocka_unit_test_setup_teardown(routes_answer_and_the_rest_gets_404_or_405, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bodies_are_read_and_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(connections_are_kept_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_and_oversized_requests_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(port_zero_picks_a_port_and_a_taken_one_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(routes_are_validated, setup, teardown),
		cmocka_unit_test(idle_connections_time_out),
		cmocka_unit_test_setup_teardown(
			shutdown_finishes_in_flight_requests_and_refuses_new_ones, setup, teardown),
	};

	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
