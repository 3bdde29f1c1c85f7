/* Typed calls on Kubernetes objects: get, list (selectors, paging), create, update,
 * delete, the three patch kinds and server-side apply, on any resource and on
 * subresources such as "status". Objects are jansson values.
 * Error convention: see lib/kube/error.h. */
#ifndef AUTOTRACE_KUBE_API_H
#define AUTOTRACE_KUBE_API_H

#include <jansson.h>

#include "lib/kube/client.h"
#include "lib/kube/resource.h"

/* *ret_obj: a new reference. */
int kube_get(struct kube_client *c, const struct kube_ref *ref, json_t **ret_obj,
	     struct kube_error *err);

struct kube_list_opts {
	const char *label_selector;
	const char *field_selector;
	long limit;                   /* page size; 0: everything in one answer */
	const char *continue_token;
	const char *resource_version; /* "0": any cached state is fine */
};

/* One page: *ret_list is the List object (items, metadata.continue, ...), new ref. */
int kube_list(struct kube_client *c, const struct kube_ref *ref, const struct kube_list_opts *opts,
	      json_t **ret_list, struct kube_error *err);

/* Every page: *ret_items a new array of the objects, *ret_rv (may be NULL) a new
 * string with the list's resourceVersion, from which a watch continues. */
int kube_list_all(struct kube_client *c, const struct kube_ref *ref,
		  const struct kube_list_opts *opts, json_t **ret_items, char **ret_rv,
		  struct kube_error *err);

/* Builds the query string "?labelSelector=...&limit=..." (escaped) into buf. */
int kube_list_query(const struct kube_list_opts *opts, int watch, const char *extra, char *buf,
		    size_t len);

/* `obj` is borrowed. *ret_obj (may be NULL): the object as stored, new reference. */
int kube_create(struct kube_client *c, const struct kube_ref *ref, const json_t *obj,
		json_t **ret_obj, struct kube_error *err);
/* PUT: `obj` carries metadata.resourceVersion for optimistic concurrency. */
int kube_update(struct kube_client *c, const struct kube_ref *ref, const json_t *obj,
		json_t **ret_obj, struct kube_error *err);

enum kube_patch_type {
	KUBE_PATCH_MERGE,     /* RFC 7386 JSON merge patch */
	KUBE_PATCH_JSON,      /* RFC 6902 JSON patch */
	KUBE_PATCH_STRATEGIC, /* strategic merge patch (built-in types only) */
	KUBE_PATCH_APPLY,     /* server-side apply; needs a field manager */
};

struct kube_patch_opts {
	const char *field_manager; /* required for KUBE_PATCH_APPLY */
	int force;                 /* apply: take fields owned by other managers */
};

int kube_patch(struct kube_client *c, const struct kube_ref *ref, enum kube_patch_type type,
	       const json_t *patch, const struct kube_patch_opts *opts, json_t **ret_obj,
	       struct kube_error *err);

struct kube_delete_opts {
	const char *propagation_policy;      /* "Foreground", "Background", "Orphan" */
	const char *precondition_resource_version;
	long grace_period_seconds;           /* -1 (or 0 with set_grace 0): server default */
	int set_grace;
};

int kube_delete(struct kube_client *c, const struct kube_ref *ref,
		const struct kube_delete_opts *opts, struct kube_error *err);

/* Borrowed accessors for metadata fields; NULL when absent. */
const char *kube_obj_name(const json_t *obj);
const char *kube_obj_namespace(const json_t *obj);
const char *kube_obj_resource_version(const json_t *obj);
const char *kube_obj_uid(const json_t *obj);
const char *kube_obj_annotation(const json_t *obj, const char *key);
const char *kube_obj_label(const json_t *obj, const char *key);
/* Deletes, in place, every member of the object `obj` whose key is not in `keep`
 * (NULL-terminated); anything but an object is left alone. For informer transforms. */
void kube_obj_keep(json_t *obj, const char *const *keep);

#endif
