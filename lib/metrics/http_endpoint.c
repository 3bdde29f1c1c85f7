#include "lib/metrics/http_endpoint.h"

#include <errno.h>
#include <stdio.h>

#include "lib/metrics/text_format.h"

static void serve_metrics(struct http_request *request, void *userdata)
{
	char *text = NULL;
	size_t len = 0;

	if (metrics_registry_format(userdata, &text, &len) < 0) {
		http_response_set_status(request, 500);
		http_response_printf(request, "metrics exposition failed\n");
		return;
	}
	http_response_add_header(request, "Content-Type", METRICS_CONTENT_TYPE);
	http_response_append_owned(request, text, len);
}

int metrics_http_mount(struct metrics_registry *registry, struct http_server *server,
		       const char *path)
{
	if (!registry || !server)
		return -EINVAL;
	return http_server_route(server, HTTP_METHOD_GET, path ? path : "/metrics",
				 serve_metrics, registry);
}

static double read_reloads(void *userdata)
{
	struct http_tls_stats stats;

	http_server_tls_stats(userdata, &stats);
	return (double)stats.reloads;
}

static double read_reload_errors(void *userdata)
{
	struct http_tls_stats stats;

	http_server_tls_stats(userdata, &stats);
	return (double)stats.reload_errors;
}

static double read_not_after(void *userdata)
{
	struct http_tls_stats stats;

	http_server_tls_stats(userdata, &stats);
	return (double)stats.not_after;
}

int metrics_register_tls_stats(struct metrics_registry *registry, struct http_server *server,
			       const char *prefix)
{
	static const char *const suffixes[3] = {
		"tls_certificate_reloads_total",
		"tls_certificate_reload_errors_total",
		"tls_certificate_expiry_timestamp_seconds",
	};
	char name[3][128];
	int r;

	if (!prefix)
		return -EINVAL;
	for (size_t i = 0; i < 3; i++) {
		int n = snprintf(name[i], sizeof(name[i]), "autotrace_%s_%s", prefix, suffixes[i]);

		if (n < 0 || (size_t)n >= sizeof(name[i]))
			return -EINVAL;
	}
	r = metrics_counter_fn_new(registry,
				   &(struct metrics_opts){
					   .name = name[0],
					   .help = "Serving certificate reloads after its files "
						   "changed.",
				   },
				   read_reloads, server);
	if (r < 0)
		return r;
	r = metrics_counter_fn_new(registry,
				   &(struct metrics_opts){
					   .name = name[1],
					   .help = "Changed certificate files that could not be "
						   "loaded; the previous pair stayed in use.",
				   },
				   read_reload_errors, server);
	if (r < 0)
		return r;
	return metrics_gauge_fn_new(registry,
				    &(struct metrics_opts){
					    .name = name[2],
					    .help = "notAfter of the serving certificate, in Unix "
						    "seconds.",
				    },
				    read_not_after, server);
}
