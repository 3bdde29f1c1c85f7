/* What the agent runs with: the OTEL_* environment the webhook set at admission,
 * overlaid by the mounted config file (lib/instrumentation/agent_config.h) once it
 * exists. The file wins field by field, so a pod traces correctly from its first
 * second and every later change arrives through the file.
 *
 * Environment read here besides lib/otlp/env_config.h's: OTEL_TRACES_SAMPLER,
 * OTEL_TRACES_SAMPLER_ARG, AUTOTRACE_TARGET_EXE, AUTOTRACE_TARGET_CONTAINERS
 * (comma-separated). Errors: 0 or a negative errno; `err` says which variable or field. */
#ifndef AUTOTRACE_AGENT_SETTINGS_H
#define AUTOTRACE_AGENT_SETTINGS_H

#include <stddef.h>

#include "agent/tracer.h"
#include "lib/instrumentation/agent_config.h"
#include "lib/otlp/env_config.h"
#include "lib/otlp/exporter.h"

#define AGENT_SETTINGS_MAX_TARGETS 32

struct agent_settings {
	char revision[AGENT_CONFIG_REVISION_LEN + 1]; /* the file's, or "" from env only */
	char instrumentation[256];                     /* "ns/name", or "" */
	struct otlp_exporter_config exporter;          /* strings point into this object */
	struct otlp_resource resource;
	struct tracer_sampler sampler;
	struct tracer_targets targets;
	/* spec.probes: every family on and no query text until the file says otherwise.
	 * grpcServer and grpcClient are carried for the gRPC probes. */
	struct instrumentation_probes probes;

	/* Storage the fields above point into. */
	struct otlp_env_config *env;
	struct agent_config file;
	int has_file;
	struct otlp_header headers[INSTRUMENTATION_MAX_HEADERS];
	const char *container_names[AGENT_SETTINGS_MAX_TARGETS + 1];
	char *targets_text;
	int ca_fd; /* a memfd holding the file's CA, -1 when none */
	char ca_path[64];
};

/* Builds new settings from the environment (lookup NULL: getenv) and, when `file` is
 * not NULL, the config file's `len` bytes over it. Free with agent_settings_free. */
int agent_settings_new(otlp_env_lookup_fn lookup, void *ud, const char *file, size_t len,
		       struct agent_settings **ret_settings, char *err, size_t err_size);
struct agent_settings *agent_settings_free(struct agent_settings *s);

/* "always_on" ... → the tracer's sampler. -EINVAL for an unknown name or a ratio
 * outside [0, 1] (a ratio is required only by the ratio samplers). */
int agent_sampler_parse(const char *name, const char *arg, struct tracer_sampler *ret_sampler);
const char *agent_sampler_name(enum tracer_sampler_type type);

/* The families and query-text setting the tracer applies (tracer_set_probes). */
void agent_settings_tracer_probes(const struct agent_settings *s, struct tracer_probes *ret);

#endif
