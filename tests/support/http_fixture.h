/* A lib/http server on its own event_base, looping in a thread of its own, and a
 * libcurl client for it: what a test needs to talk to a real server over loopback.
 * Call evthread_use_pthreads() and curl_global_init() once in main first. */
#ifndef AUTOTRACE_TESTS_SUPPORT_HTTP_FIXTURE_H
#define AUTOTRACE_TESTS_SUPPORT_HTTP_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "lib/http/server.h"

struct http_fixture {
	struct event_base *base;
	struct http_server *server;
	pthread_t thread;
	bool running;
	uint16_t port;
	/* Set: requests go over HTTPS trusting this CA, and record the served
	 * certificate's subject. */
	const char *ca_file;
	/* Send request bodies chunked, without Content-Length. */
	bool chunked;
	/* Set to 1 when response data starts arriving. */
	volatile int *receiving_flag;
	/* Free for tests to pass results from the loop's thread. */
	int drained;
	size_t in_flight_at_shutdown;
	int shutdown_result;
	int second_shutdown_result;
};

struct http_reply {
	long status;
	/* A new buffer (http_reply_clear() frees it), NUL terminated. */
	char *body;
	size_t len;
	long num_connects;
	char allow[128];
	char content_type[128];
	/* The certificate subject and serial number (hex, as curl prints it) of a new
	 * TLS connection, "" on a reused one. */
	char subject[512];
	char serial[128];
};

/* Makes the base and the server (not yet looping): add routes, then start. */
int http_fixture_init(struct http_fixture *f, const struct http_server_opts *opts);
int http_fixture_start(struct http_fixture *f);
/* Stops the loop, joins the thread, frees the server and the base. */
void http_fixture_stop(struct http_fixture *f);

/* One request with the given easy handle (reused: keep-alive), method GET, HEAD, POST,
 * PUT, DELETE..., path with its query. r must be zeroed before its first use.
 * Returns curl's result. */
CURLcode http_fixture_request(struct http_fixture *f, CURL *curl, const char *method,
			      const char *path, const void *body, size_t len,
			      struct http_reply *r);
void http_reply_clear(struct http_reply *r);

#endif
