/* JSONPatch operations that change a pod as the API server will see it, including the
 * cases where the map or list to change does not exist yet (one "add" of the whole
 * map or list) and keys that need RFC 6901 escaping ("autotrace.dev~1injected").
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_WEBHOOK_POD_PATCH_H
#define AUTOTRACE_WEBHOOK_POD_PATCH_H

#include <jansson.h>

/* Appends to ops what sets every entry of labels and annotations (objects of strings,
 * either may be NULL) in pod's metadata; entries that already hold the same value
 * produce nothing. */
int pod_patch_set_metadata(json_t *ops, const json_t *pod, const json_t *labels,
			   const json_t *annotations);

/* Appends to ops what removes metadata.annotations[key], if the pod has it. */
int pod_patch_remove_annotation(json_t *ops, const json_t *pod, const char *key);

/* Appends to ops what appends item (stolen) to spec.<list>. */
int pod_patch_append(json_t *ops, const json_t *pod, const char *list, json_t *item);

/* Appends to ops what sets env var `name` on every entry of spec.containers to that
 * container's own name (so a process can be told which container it runs in), unless
 * it is set already. */
int pod_patch_set_container_name_env(json_t *ops, const json_t *pod, const char *name);

/* Appends to ops what sets spec.<field> to value (stolen), unless equal already. */
int pod_patch_set_spec_field(json_t *ops, const json_t *pod, const char *field, json_t *value);

#endif
