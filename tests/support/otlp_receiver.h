/* Runs the real OTLP receiver (tools/otlp-receiver, found on PATH) for a test: starts
 * it on 127.0.0.1, reads back the spans it received (one JSON object per span, as the
 * receiver writes them), steers its failure modes, and stops and restarts it on the
 * same port to play a collector that goes away. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_TEST_OTLP_RECEIVER_H
#define AUTOTRACE_TEST_OTLP_RECEIVER_H

#include <jansson.h>
#include <stddef.h>

struct otlp_receiver;

/* Starts a receiver on port (0: any free port). Returns a new handle; free it with
 * otlp_receiver_free, which stops the process and removes its files. */
int otlp_receiver_start(int port, struct otlp_receiver **ret_receiver);

struct otlp_receiver_options {
	int port; /* 0: any free port */
	/* PEM files: serve HTTPS (the endpoint becomes https://); with client_ca, require
	 * client certificates signed by it. Copied. */
	const char *tls_cert, *tls_key, *client_ca;
};
int otlp_receiver_start_opts(const struct otlp_receiver_options *opts,
			     struct otlp_receiver **ret_receiver);
struct otlp_receiver *otlp_receiver_free(struct otlp_receiver *r);

int otlp_receiver_port(const struct otlp_receiver *r);
/* "http://127.0.0.1:PORT" (https with TLS), borrowed. */
const char *otlp_receiver_endpoint(const struct otlp_receiver *r);

/* Stops the process (SIGKILL, so connections break as in a crash) and keeps the port
 * and the spans file; otlp_receiver_restart starts it again on the same port. */
int otlp_receiver_stop(struct otlp_receiver *r);
int otlp_receiver_restart(struct otlp_receiver *r);

/* POSTs a behavior document to /admin/behavior, e.g.
 * {"status":429,"count":2,"retry_after":"1"}; "{}" restores normal answers. Not
 * available on a receiver that requires client certificates. */
int otlp_receiver_set_behavior(struct otlp_receiver *r, const char *json);

/* The spans received so far, as a new JSON array (json_decref it). */
int otlp_receiver_spans(struct otlp_receiver *r, json_t **ret_spans);
/* Waits until at least n spans arrived or timeout_ms passed; returns the array as
 * otlp_receiver_spans does (-ETIMEDOUT, with the array still returned, when short). */
int otlp_receiver_wait_spans(struct otlp_receiver *r, size_t n, int timeout_ms,
			     json_t **ret_spans);
/* The span with this hex span id in an array from the calls above, borrowed; NULL. */
json_t *otlp_receiver_find_span(json_t *spans, const char *span_id_hex);

#endif
