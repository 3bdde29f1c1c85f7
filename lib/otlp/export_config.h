/* The exporter's destination as the worker uses it: validated, deep-copied and
 * reference-counted, so that a new config can replace the current one while a request
 * still uses the old. Internal to the exporter. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OTLP_EXPORT_CONFIG_H
#define AUTOTRACE_OTLP_EXPORT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/exporter.h"

struct export_config {
	int refs; /* atomic */
	uint64_t generation;
	char *url; /* with /v1/traces */
	enum otlp_protocol protocol;
	char **header_lines; /* "Name: value" */
	size_t n_headers;
	bool gzip;
	uint32_t timeout_ms;
	char *ca_file, *cert_file, *key_file;
	bool insecure_skip_verify;
	struct otlp_resource *resource;
};

/* Returns a new config (one reference) from the public one, with a copy of res (NULL:
 * empty). -EINVAL: no http(s) endpoint, a header name that is empty or has ':' or
 * whitespace, a value with CR or LF. -ENOMEM. */
int export_config_new(const struct otlp_exporter_config *pub, const struct otlp_resource *res,
		      struct export_config **ret_config);
/* Returns a new config (one reference) equal to c but with a copy of res. */
int export_config_with_resource(const struct export_config *c, const struct otlp_resource *res,
				struct export_config **ret_config);
/* The traces URL for an endpoint: "/v1/traces" appended unless the path ends with it
 * or as_is is set. Returns a new string, or NULL (-EINVAL/-ENOMEM in *ret_err). */
char *export_config_traces_url(const char *endpoint, bool as_is, int *ret_err);

struct export_config *export_config_ref(struct export_config *c);
/* Drops one reference; frees on the last. Accepts NULL. Returns NULL. */
struct export_config *export_config_unref(struct export_config *c);

#endif
