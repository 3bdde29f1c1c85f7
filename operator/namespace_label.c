#include "operator/namespace_label.h"

#include <string.h>

#include "lib/instrumentation/optin.h"

enum namespace_label_change namespace_label_change(const json_t *ns)
{
	const json_t *labels = json_object_get(json_object_get(ns, "metadata"), "labels");
	const json_t *have = json_object_get(labels, LABEL_INJECT_ENABLED);

	if (optin_namespace_enabled(ns))
		return json_is_string(have) && strcmp(json_string_value(have), "true") == 0
			       ? NAMESPACE_LABEL_KEEP
			       : NAMESPACE_LABEL_SET;
	/* Ours, whatever its value: a value set by hand goes, so that the label says
	 * only what the annotations say. */
	return have ? NAMESPACE_LABEL_REMOVE : NAMESPACE_LABEL_KEEP;
}

const char *namespace_label_value(enum namespace_label_change change)
{
	return change == NAMESPACE_LABEL_SET ? "true" : NULL;
}

json_t *namespace_label_patch_new(enum namespace_label_change change)
{
	if (change == NAMESPACE_LABEL_KEEP)
		return NULL;
	/* A merge patch merges into labels key by key: the user's labels stay, and a
	 * null removes ours (and is a no-op when someone removed it first). */
	return json_pack("{s:{s:{s:o}}}", "metadata", "labels", LABEL_INJECT_ENABLED,
			 change == NAMESPACE_LABEL_SET ? json_string("true") : json_null());
}
