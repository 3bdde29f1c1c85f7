/* The transport to the API server: requests over HTTPS (libevent's HTTP client on
 * OpenSSL) with the config's CA and credentials, synchronously (short calls from the
 * reconcile path and tests; one kept-alive connection) or on a daemon's event_base
 * (lists and watches that must not stall its loop; a connection each).
 * Error convention: see lib/kube/error.h. */
#ifndef AUTOTRACE_KUBE_CLIENT_H
#define AUTOTRACE_KUBE_CLIENT_H

#include <event2/event.h>
#include <stddef.h>

#include "lib/kube/config.h"
#include "lib/kube/conn.h"
#include "lib/kube/error.h"

struct kube_client;

struct kube_client_opts {
	long connect_timeout_ms;   /* default 5000 */
	long request_timeout_ms;   /* default 30000 */
	size_t max_response_bytes; /* default 512 MiB: a full list of a large cluster */
	const char *user_agent;    /* default "autotrace" */
	/* More headers for every request: name, value, ..., NULL; at most 4 pairs, borrowed
	 * for the client's life (a benchmark sends a traceparent so that the API server
	 * traces its requests). */
	const char *const *extra_headers;
};

/* A new client for `cfg`, which it takes (steals, even on failure). `opts` may be
 * NULL. Fails on a server that is not an https URL or TLS material OpenSSL refuses.
 * Free with kube_client_free(), after every call and watch on it has ended. */
int kube_client_new(struct kube_config *cfg, const struct kube_client_opts *opts,
		    struct kube_client **ret_client, struct kube_error *err);
struct kube_client *kube_client_free(struct kube_client *c);
/* Borrowed. */
const struct kube_config *kube_client_config(const struct kube_client *c);

struct kube_request {
	const char *method;       /* NULL: GET */
	const char *path;         /* path and query, already escaped */
	const char *content_type; /* for the body; NULL: application/json */
	const char *body;
	size_t body_len;
	long timeout_ms;          /* 0: the client's default; -1: none (watch streams) */
};

struct kube_response {
	long code;
	char *body; /* NUL-terminated; owned by whoever holds the response */
	size_t len;
};

void kube_response_release(struct kube_response *resp);

/* Sends one request and waits. 0 for a 2xx answer, with *ret_resp filled (the caller
 * releases it); otherwise a negative errno, `err` filled, *ret_resp untouched.
 * Thread-safe: calls on one client are serialised and reuse its connection. */
int kube_client_do(struct kube_client *c, const struct kube_request *req,
		   struct kube_response *ret_resp, struct kube_error *err);

/* Completion of an asynchronous call: rc and err as for kube_client_do(); `resp`
 * (2xx only, else NULL) is the callee's to keep: it may take resp->body and set it
 * NULL, otherwise it is freed after the callback. */
typedef void (*kube_response_fn)(void *ud, int rc, struct kube_response *resp,
				 const struct kube_error *err);

struct kube_call;

/* Starts `req` on `base` (borrowed; must outlive the call); `fn` runs once on the
 * base's thread. *ret_call (may be NULL) is a handle for kube_call_cancel(), valid
 * until `fn` has run. */
int kube_client_call(struct kube_client *c, struct event_base *base, const struct kube_request *req,
		     kube_response_fn fn, void *ud, struct kube_call **ret_call);
/* Stops a call in flight; its callback never runs. Not from inside that callback. */
void kube_call_cancel(struct kube_call *call);

/* For streams: a new connection on `base` to the client's server, which the caller
 * frees with kube_conn_free(), and an exchange on it with the client's headers and
 * credentials (kube_conn_send's contract). */
int kube_client_open(struct kube_client *c, struct event_base *base, struct kube_conn **ret_conn,
		     struct kube_error *err);
int kube_client_send(struct kube_client *c, struct kube_conn *conn, const struct kube_request *req,
		     const struct kube_conn_ops *ops, void *ud, struct kube_error *err);

#endif
