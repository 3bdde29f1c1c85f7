/* Serves a registry's exposition over lib/http. */
#ifndef AUTOTRACE_METRICS_HTTP_ENDPOINT_H
#define AUTOTRACE_METRICS_HTTP_ENDPOINT_H

#include "lib/http/server.h"
#include "lib/metrics/registry.h"

/* Routes GET (and HEAD) of path, or "/metrics" when path is NULL, to the exposition of
 * registry, which must outlive the server. Same errors as http_server_route(). */
int metrics_http_mount(struct metrics_registry *registry, struct http_server *server,
		       const char *path);

/* Registers autotrace_<prefix>_tls_certificate_reloads_total,
 * ..._tls_certificate_reload_errors_total and
 * ..._tls_certificate_expiry_timestamp_seconds, read from the server at each scrape;
 * prefix names the server ("webhook", "metrics"). The server must outlive the registry's
 * expositions. Same errors as metrics_counter_fn_new(). */
int metrics_register_tls_stats(struct metrics_registry *registry, struct http_server *server,
			       const char *prefix);

#endif
