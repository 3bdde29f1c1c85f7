/* The Instrumentation custom resource (autotrace.dev/v1alpha1) as the webhook and the
 * operator read it: parsed from its JSON, checked, with one meaning for every field.
 *
 *   spec.exporter   {endpoint, protocol: "http/protobuf"|"http/json", headers, timeout,
 *                    tls {secretName, insecureSkipVerify}}
 *   spec.sampler    {type, ratio}
 *   spec.propagators[]
 *   spec.resourceAttributes{}
 *   spec.targets    {containerNames[], executable}
 *   spec.probes     {httpServer, httpClient, grpcServer, grpcClient: {enabled},
 *                    databaseSql: {enabled, queryText}} (lib/instrumentation/probes.h)
 *   spec.agent      {image, resources, mode: "sidecar"|"node"}
 *
 * Every field is optional (the CRD's schema sets defaults); an unset field is NULL,
 * -1 or empty here and its OTEL_* variable is left out, so the agent's own default
 * applies. Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_INSTRUMENTATION_SPEC_H
#define AUTOTRACE_INSTRUMENTATION_SPEC_H

#include <stddef.h>
#include <jansson.h>

#include "lib/instrumentation/probes.h"

#define INSTRUMENTATION_MAX_PROPAGATORS	  8
#define INSTRUMENTATION_MAX_RESOURCE_ATTRS 64
#define INSTRUMENTATION_MAX_CONTAINERS	  32
#define INSTRUMENTATION_MAX_HEADERS	  32
#define INSTRUMENTATION_MAX_PROBES	  16

enum agent_mode {
	AGENT_MODE_SIDECAR, /* a container in each injected pod (the default) */
	AGENT_MODE_NODE,    /* the node DaemonSet traces the pod; nothing is injected */
};

struct instrumentation_spec {
	json_t *cr; /* owned reference; every pointer below borrows from it */
	const char *ns, *name;

	const char *endpoint; /* http(s)://host[:port][/path] */
	const char *protocol; /* "http/protobuf" or "http/json" */
	/* The CRD's list [{name, value} | {name, valueFrom: {secretKeyRef: {name, key}}}],
	 * or an object of name → string value (the short form); NULL: none. */
	const json_t *headers;
	long long timeout_ms;  /* -1: unset */
	const char *tls_secret_name;  /* NULL: none */
	int tls_insecure_skip_verify; /* 0 or 1 */

	const char *sampler_type; /* one of the OTel names */
	double sampler_ratio;	  /* -1: unset; only the *traceidratio types use it */

	const char *propagators[INSTRUMENTATION_MAX_PROPAGATORS];
	size_t n_propagators;

	const json_t *resource_attributes; /* object of string values */

	const char *container_names[INSTRUMENTATION_MAX_CONTAINERS];
	size_t n_container_names;
	const char *executable;

	struct instrumentation_probes probes; /* the defaults when spec.probes is unset */

	const char *agent_image;
	const json_t *agent_resources; /* a ResourceRequirements object */
	enum agent_mode mode;
};

/* Parses and checks an Instrumentation object. On success *ret holds a new reference to
 * cr (release with instrumentation_spec_clear). On -EINVAL err says which field is
 * wrong and why, in words a user can act on. */
int instrumentation_spec_parse(json_t *cr, struct instrumentation_spec *ret, char *err,
			       size_t err_size);
/* Releases what parse took; accepts a zeroed or cleared spec. */
void instrumentation_spec_clear(struct instrumentation_spec *spec);

/* The probe names spec.probes knows, NULL-terminated. */
extern const char *const instrumentation_probe_names[];

/* Does the sampler type take a ratio (traceidratio, parentbased_traceidratio)? */
int instrumentation_sampler_takes_ratio(const char *type);

#endif
