/* The webhook's own settings: what to use when an Instrumentation leaves something
 * unset, and which namespaces are never touched. */
#ifndef AUTOTRACE_WEBHOOK_OPTIONS_H
#define AUTOTRACE_WEBHOOK_OPTIONS_H

#include <stddef.h>
#include <jansson.h>

#define WEBHOOK_DEFAULT_METRICS_PORT	 9464
/* The API server sends at most 3 MiB objects (etcd's default request limit). */
#define WEBHOOK_DEFAULT_MAX_REVIEW_BYTES (3u * 1024 * 1024 + 64 * 1024)

struct webhook_options {
	const char *agent_image;	 /* when spec.agent.image is unset */
	const json_t *agent_resources;	 /* when spec.agent.resources is unset; NULL:
					  * the built-in requests/limits */
	const char *const *excluded_namespaces; /* never injected (system and our own) */
	size_t n_excluded_namespaces;
	int metrics_port;		 /* the agent's /metrics and /readyz */
	size_t max_review_bytes;	 /* larger AdmissionReviews are refused */
};

/* kube-system, kube-public, kube-node-lease: the daemon adds its own namespace. */
extern const char *const webhook_system_namespaces[3];

/* Defaults: the given agent image (borrowed), the system namespaces, port 9464. */
void webhook_options_init(struct webhook_options *o, const char *agent_image);

#endif
