/* The exporter's destination and resource from the standard OpenTelemetry environment,
 * which the webhook sets on the agent container (and the OpenTelemetry Operator sets on
 * its users' pods):
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or OTEL_EXPORTER_OTLP_ENDPOINT
 *     ("/v1/traces" appended; default http://localhost:4318)
 *   OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL     http/protobuf (default) or http/json
 *   OTEL_EXPORTER_OTLP_[TRACES_]HEADERS      name=value,... (values percent-encoded)
 *   OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION  gzip or none (default)
 *   OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT      milliseconds (default 10000)
 *   OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY  PEM files
 *   OTEL_RESOURCE_ATTRIBUTES                 key=value,... (values percent-encoded)
 *   OTEL_SERVICE_NAME                        service.name, over the one above
 * A TRACES_ variable wins over its general form. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OTLP_ENV_CONFIG_H
#define AUTOTRACE_OTLP_ENV_CONFIG_H

#include <stddef.h>

#include "lib/otlp/exporter.h"
#include "lib/otlp/span.h"

struct otlp_env_config {
	/* What otlp_exporter_new/set_config and set_resource take; the config's strings
	 * point into this object. */
	struct otlp_exporter_config config;
	struct otlp_resource resource;
	/* Storage. */
	char *endpoint, *ca_file, *cert_file, *key_file;
	struct otlp_header *headers;
	size_t n_headers;
};

/* Looks a variable up; NULL when unset. */
typedef const char *(*otlp_env_lookup_fn)(const char *name, void *userdata);

/* Returns a new config read through lookup (NULL: getenv); free it with
 * otlp_env_config_free. -EINVAL when a variable is malformed (an endpoint that is not
 * http(s), "grpc", a bad header list or number): *ret_bad_variable (may be NULL) then
 * names it, a static string. -E2BIG: more resource attributes than a resource holds.
 * -ENOMEM. */
int otlp_env_config_new(otlp_env_lookup_fn lookup, void *userdata,
			struct otlp_env_config **ret_config, const char **ret_bad_variable);
/* Accepts NULL; returns NULL. */
struct otlp_env_config *otlp_env_config_free(struct otlp_env_config *c);

#endif
