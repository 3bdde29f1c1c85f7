/* An object kept as its JSON text under its name, namespace and resourceVersion: for
 * informer caches of objects that are many, read whole only now and then, and costly
 * as jansson trees (an Instrumentation with its status is ~10 KiB as a tree, ~2 KiB as
 * text). kube_obj_name()/namespace()/resource_version() work on the packed form, so
 * event handlers that only route by name need not unpack. */
#ifndef AUTOTRACE_KUBE_PACKED_H
#define AUTOTRACE_KUBE_PACKED_H

#include <jansson.h>

/* The packed form of `obj` (borrowed), with only its top-level members in `keep` and
 * its metadata members in `keep_meta` (both NULL-terminated; NULL keeps all). New
 * reference; NULL when out of memory or obj is not an object with metadata. */
json_t *kube_packed_new(const json_t *obj, const char *const *keep, const char *const *keep_meta);

/* The object again, as kept. New reference; NULL when `packed` is not a packed object
 * (or out of memory). */
json_t *kube_packed_load(const json_t *packed);

#endif
