/* The JSONPatch that carries out a decision on a pod: for an injected pod the agent
 * sidecar, its config volume, shareProcessNamespace, and the label and annotation that
 * say so; for a pod that opted in but was skipped, autotrace.dev/status saying why.
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_WEBHOOK_INJECT_H
#define AUTOTRACE_WEBHOOK_INJECT_H

#include <jansson.h>

#include "webhook/decide.h"
#include "webhook/options.h"

/* A new JSON array of operations (empty when the pod stays as it is). */
int build_injection_patch(const struct webhook_options *opts, const struct decision *d,
			  const json_t *pod, const char *pod_ns, json_t **ret_patch);

#endif
