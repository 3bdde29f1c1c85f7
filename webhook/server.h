/* The webhook daemon's HTTP routes and their metrics:
 *   POST /mutate-v1-pod  webhook_admit() on the body, answered as it says; counted in
 *                        autotrace_webhook_admissions_total{result,reason} and timed in
 *                        autotrace_webhook_admission_duration_seconds
 *   GET  /healthz        200 while the event loop runs
 *   GET  /readyz         200 once the caches have listed, else 503 saying which has not
 *                        (and 503 once the daemon is stopping)
 *   GET  /metrics        the registry, with the caches' state read at scrape time
 * Every admission gets a log line (debug when nothing was to be done, info for an
 * injection, warn for a skip or an error). Whatever fails inside, the pod is never
 * denied: a request that cannot be answered gets a 4xx/5xx, which the API server's
 * failurePolicy: Ignore turns into an unchanged admission.
 * Errors: 0 or a negative errno. Everything runs on the event loop's thread. */
#ifndef AUTOTRACE_WEBHOOK_SERVER_H
#define AUTOTRACE_WEBHOOK_SERVER_H

#include "lib/http/server.h"
#include "lib/metrics/registry.h"
#include "webhook/cache.h"
#include "webhook/options.h"

struct webhook_server_opts {
	const struct webhook_options *options; /* borrowed */
	struct webhook_cache *cache;	       /* borrowed: lookups, readiness, metrics */
	struct metrics_registry *metrics;      /* borrowed: its families are added here */
};

struct webhook_server;

/* A new set of routes; registers its metric families. Everything opts points to must
 * outlive it. Free with webhook_server_free(). */
int webhook_server_new(const struct webhook_server_opts *opts, struct webhook_server **ret_server);
struct webhook_server *webhook_server_free(struct webhook_server *server);

/* From now on /readyz answers 503 "stopping" (SIGTERM with a shutdown delay). */
void webhook_server_set_stopping(struct webhook_server *server);

/* Adds /mutate-v1-pod, /healthz and /readyz to http (the HTTPS server). */
int webhook_server_mount_admission(struct webhook_server *server, struct http_server *http);
/* Adds /metrics, /healthz and /readyz to http (the plain metrics server). */
int webhook_server_mount_metrics(struct webhook_server *server, struct http_server *http);

#define WEBHOOK_MUTATE_PATH "/mutate-v1-pod"

#endif
