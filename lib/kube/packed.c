#include "lib/kube/packed.h"

#include <stdlib.h>

#include "lib/kube/api.h"

#define TEXT_KEY "packed"

/* A shallow copy of obj (members shared) cut to the keys in keep (NULL: all). New
 * reference, NULL when out of memory. */
static json_t *copy_kept(const json_t *obj, const char *const *keep)
{
	json_t *out = json_copy((json_t *)obj);

	if (out && keep)
		kube_obj_keep(out, keep);
	return out;
}

json_t *kube_packed_new(const json_t *obj, const char *const *keep, const char *const *keep_meta)
{
	const json_t *meta = json_object_get(obj, "metadata");
	json_t *whole = NULL, *m = NULL, *ret = NULL;
	char *text = NULL;

	if (!json_is_object(obj) || !json_is_object(meta))
		return NULL;
	if (!(whole = copy_kept(obj, keep)) || !(m = copy_kept(meta, keep_meta)) ||
	    json_object_set(whole, "metadata", m) < 0)
		goto out;
	if (!(text = json_dumps(whole, JSON_COMPACT)))
		goto out;
	/* Name, namespace and version stay readable; the rest is one string. */
	ret = json_object();
	if (!ret || json_object_set_new(ret, "metadata", copy_kept(meta, (const char *const[]){
								   "name", "namespace",
								   "resourceVersion", NULL })) < 0 ||
	    json_object_set_new(ret, TEXT_KEY, json_string(text)) < 0) {
		json_decref(ret);
		ret = NULL;
	}
out:
	free(text);
	json_decref(m);
	json_decref(whole);
	return ret;
}

json_t *kube_packed_load(const json_t *packed)
{
	const json_t *text = json_object_get(packed, TEXT_KEY);

	if (!json_is_string(text))
		return NULL;
	return json_loadb(json_string_value(text), json_string_length(text), 0, NULL);
}
