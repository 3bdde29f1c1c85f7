#include "operator/publish.h"

#include <stdio.h>
#include <string.h>

#include "lib/instrumentation/naming.h"
#include "lib/kube/api.h"

static const char *meta_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

json_t *publish_configmap(const char *ns, const char *name, const json_t *cr,
			  const char *config_json, const char *revision)
{
	const char *cr_ns = meta_str(cr, "namespace"), *cr_name = meta_str(cr, "name");
	const char *uid = meta_str(cr, "uid");
	char id[K8S_LABEL_MAX + K8S_SUBDOMAIN_MAX + 2];
	json_t *cm;

	if (!cr_ns || !cr_name || !uid)
		return NULL;
	snprintf(id, sizeof(id), "%s/%s", cr_ns, cr_name);
	cm = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}}, s:{s:s}}",
		       "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name", name,
		       "namespace", ns, "labels", PUBLISH_LABEL_MANAGED_BY, PUBLISH_MANAGED_BY,
		       PUBLISH_LABEL_PART_OF, PUBLISH_MANAGED_BY, "annotations",
		       PUBLISH_ANNOTATION_INSTRUMENTATION, id, PUBLISH_ANNOTATION_REVISION,
		       revision, "data", INSTRUMENTATION_CONFIG_KEY, config_json);
	if (cm && strcmp(ns, cr_ns) == 0 &&
	    json_object_set_new(json_object_get(cm, "metadata"), "ownerReferences",
				json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion",
					  "autotrace.dev/v1alpha1", "kind", "Instrumentation",
					  "name", cr_name, "uid", uid, "controller", 1,
					  "blockOwnerDeletion", 0)) < 0) {
		json_decref(cm);
		return NULL;
	}
	return cm;
}

/* Every key of `want` has an equal value in `have`. */
static int holds(const json_t *have, const json_t *want)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)want, k, v) {
		if (!json_equal(json_object_get(have, k), v))
			return 0;
	}
	return 1;
}

/* The owner references, compared on what identifies them. */
static int same_owners(const json_t *have, const json_t *want)
{
	size_t i;
	json_t *w;

	if (json_array_size(have) != json_array_size(want))
		return 0;
	json_array_foreach(want, i, w) {
		const json_t *h = json_array_get(have, i);

		if (!json_equal(json_object_get(h, "uid"), json_object_get(w, "uid")) ||
		    !json_equal(json_object_get(h, "controller"), json_object_get(w, "controller")))
			return 0;
	}
	return 1;
}

int publish_configmap_current(const json_t *existing, const json_t *desired)
{
	const json_t *em = json_object_get(existing, "metadata");
	const json_t *dm = json_object_get(desired, "metadata");

	return json_equal(json_object_get(existing, "data"), json_object_get(desired, "data")) &&
	       holds(json_object_get(em, "labels"), json_object_get(dm, "labels")) &&
	       holds(json_object_get(em, "annotations"), json_object_get(dm, "annotations")) &&
	       same_owners(json_object_get(em, "ownerReferences"),
			   json_object_get(dm, "ownerReferences"));
}

const char *publish_configmap_owner_key(const json_t *cm)
{
	const json_t *meta = json_object_get(cm, "metadata");
	const char *managed = json_string_value(
		json_object_get(json_object_get(meta, "labels"), PUBLISH_LABEL_MANAGED_BY));

	if (!managed || strcmp(managed, PUBLISH_MANAGED_BY) != 0)
		return NULL;
	return json_string_value(json_object_get(json_object_get(meta, "annotations"),
						 PUBLISH_ANNOTATION_INSTRUMENTATION));
}

void publish_trim_configmap(json_t *cm)
{
	static const char *const top[] = { "metadata", "data", NULL };
	static const char *const meta[] = { "name", "namespace", "uid", "resourceVersion", "labels",
					    "annotations", "ownerReferences", NULL };
	static const char *const labels[] = { PUBLISH_LABEL_MANAGED_BY, PUBLISH_LABEL_PART_OF,
					      NULL };
	static const char *const annotations[] = { PUBLISH_ANNOTATION_INSTRUMENTATION,
						   PUBLISH_ANNOTATION_REVISION, NULL };
	static const char *const owner[] = { "uid", "controller", NULL };
	json_t *m = json_object_get(cm, "metadata"), *o;
	size_t i;

	if (!json_is_object(cm) || !json_is_object(m))
		return;
	kube_obj_keep(cm, top);
	kube_obj_keep(m, meta);
	kube_obj_keep(json_object_get(m, "labels"), labels);
	kube_obj_keep(json_object_get(m, "annotations"), annotations);
	json_array_foreach(json_object_get(m, "ownerReferences"), i, o)
		kube_obj_keep(o, owner);
}
