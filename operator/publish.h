/* The ConfigMaps that carry an Instrumentation's agent config: what each one must hold
 * and whether the one in place already does, so the operator writes only on a change.
 * Pure. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OPERATOR_PUBLISH_H
#define AUTOTRACE_OPERATOR_PUBLISH_H

#include <jansson.h>

/* The label the operator's ConfigMap informer selects on. */
#define PUBLISH_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define PUBLISH_MANAGED_BY	 "autotrace"
#define PUBLISH_LABEL_PART_OF	 "app.kubernetes.io/part-of"
#define PUBLISH_SELECTOR	 PUBLISH_LABEL_MANAGED_BY "=" PUBLISH_MANAGED_BY
/* On each ConfigMap: which Instrumentation ("ns/name") and which revision. */
#define PUBLISH_ANNOTATION_INSTRUMENTATION "autotrace.dev/instrumentation"
#define PUBLISH_ANNOTATION_REVISION	   "autotrace.dev/config-revision"

/* The ConfigMap `name` in namespace `ns` for Instrumentation `cr` (borrowed) with the
 * rendered config. In the Instrumentation's own namespace it is owned by it
 * (ownerReference, controller), so it goes with it; elsewhere the operator removes it.
 * New reference, NULL when out of memory or cr has no name, namespace or uid. */
json_t *publish_configmap(const char *ns, const char *name, const json_t *cr,
			  const char *config_json, const char *revision);

/* Does `existing` (a ConfigMap as stored) hold what `desired` asks: the same data, and
 * desired's labels, annotations and ownerReferences? 1 yes, 0 no. */
int publish_configmap_current(const json_t *existing, const json_t *desired);

/* The Instrumentation key a ConfigMap the operator wrote belongs to (borrowed), or
 * NULL when it is not one of ours. */
const char *publish_configmap_owner_key(const json_t *cm);

/* An informer transform: cuts a cached ConfigMap down, in place, to what the two
 * functions above read (data, name, namespace, resourceVersion, our labels and
 * annotations, the owners' uid and controller flag). */
void publish_trim_configmap(json_t *cm);

#endif
