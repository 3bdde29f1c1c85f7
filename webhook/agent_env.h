/* The agent container's environment: the downward API (K8S_*), the Instrumentation's
 * settings as OTEL_* variables (so the agent traces from its first second, before or
 * without its ConfigMap), OTEL_RESOURCE_ATTRIBUTES, and what to trace.
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_WEBHOOK_AGENT_ENV_H
#define AUTOTRACE_WEBHOOK_AGENT_ENV_H

#include <stddef.h>
#include <jansson.h>

#include "lib/instrumentation/spec.h"
#include "lib/instrumentation/workload.h"

struct agent_env_input {
	const struct instrumentation_spec *spec;
	const char *pod_ns;
	const struct workload *workload;
	const char *service_name;      /* NULL: the pod's name, through the downward API */
	const char *container_name;    /* the one target container, or NULL */
	const char *service_version;   /* from that container's image tag, or NULL */
	const char *target_containers; /* comma-separated, or NULL for every container */
	const char *target_exe;	       /* or NULL to detect Go binaries */
	int metrics_port;
};

/* A new JSON array of EnvVar objects (caller owns the reference). */
int agent_env_new(const struct agent_env_input *in, json_t **ret_env);

/* The tag of an image reference ("repo/app:1.2.3@sha256:..." gives "1.2.3"), written to
 * buf; -ENOENT when it has none or it is "latest" (which names no version). */
int image_version_tag(const char *image, char *buf, size_t size);

/* Kubernetes expands $(VAR) in env values; "$$" stands for '$'. Returns a new string
 * (caller frees) with every '$' doubled, or NULL when out of memory. */
char *env_escape_dollars_new(const char *value);

#endif
