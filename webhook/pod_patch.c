#include "webhook/pod_patch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonpatch/jsonpatch.h"
#include "lib/jsonpatch/pointer.h"

/* Appends {"op": op, "path": path, "value": value}; steals value (may be NULL for
 * "remove"). */
static int push_op(json_t *ops, const char *op, const char *path, json_t *value)
{
	json_t *o = json_pack("{s:s, s:s}", "op", op, "path", path);

	if (!o || (value && json_object_set_new(o, "value", value) < 0)) {
		if (!o)
			json_decref(value);
		json_decref(o);
		return -ENOMEM;
	}
	return json_array_append_new(ops, o) < 0 ? -ENOMEM : 0;
}

/* Steals value; path = base + "/" + escaped key. */
static int push_op_at(json_t *ops, const char *op, const char *base, const char *key,
		      json_t *value)
{
	char *path = jsonpointer_join_new(base, key);
	int r;

	if (!path) {
		json_decref(value);
		return -ENOMEM;
	}
	r = push_op(ops, op, path, value);
	free(path);
	return r;
}

static int set_map(json_t *ops, const json_t *meta, const char *map, const json_t *entries)
{
	const json_t *current = json_object_get(meta, map);
	const char *key;
	json_t *v;
	int r;

	if (json_object_size(entries) == 0)
		return 0;
	if (!json_is_object(current)) {
		json_t *copy = json_deep_copy(entries);

		return copy ? push_op_at(ops, json_object_get(meta, map) ? "replace" : "add",
					 "/metadata", map, copy) :
			      -ENOMEM;
	}
	json_object_foreach((json_t *)entries, key, v) {
		char *base;
		json_t *value;

		if (jsonpatch_values_equal(json_object_get(current, key), v))
			continue;
		base = jsonpointer_join_new("/metadata", map);
		value = json_deep_copy(v);
		if (!base || !value) {
			free(base);
			json_decref(value);
			return -ENOMEM;
		}
		r = push_op_at(ops, "add", base, key, value);
		free(base);
		if (r < 0)
			return r;
	}
	return 0;
}

int pod_patch_set_metadata(json_t *ops, const json_t *pod, const json_t *labels,
			   const json_t *annotations)
{
	const json_t *meta = json_object_get(pod, "metadata");
	json_t *whole;
	int r;

	if (json_is_object(meta)) {
		r = set_map(ops, meta, "labels", labels);
		return r < 0 ? r : set_map(ops, meta, "annotations", annotations);
	}
	whole = json_object();
	if (!whole)
		return -ENOMEM;
	if ((json_object_size(labels) &&
	     json_object_set_new(whole, "labels", json_deep_copy(labels)) < 0) ||
	    (json_object_size(annotations) &&
	     json_object_set_new(whole, "annotations", json_deep_copy(annotations)) < 0)) {
		json_decref(whole);
		return -ENOMEM;
	}
	return push_op(ops, meta ? "replace" : "add", "/metadata", whole);
}

int pod_patch_remove_annotation(json_t *ops, const json_t *pod, const char *key)
{
	const json_t *ann = json_object_get(json_object_get(pod, "metadata"), "annotations");
	char *base;
	int r;

	if (!json_is_object(ann) || !json_object_get(ann, key))
		return 0;
	base = jsonpointer_join_new("/metadata", "annotations");
	if (!base)
		return -ENOMEM;
	r = push_op_at(ops, "remove", base, key, NULL);
	free(base);
	return r;
}

int pod_patch_append(json_t *ops, const json_t *pod, const char *list, json_t *item)
{
	const json_t *current = json_object_get(json_object_get(pod, "spec"), list);
	json_t *whole;
	char *base;
	int r;

	if (json_is_array(current)) {
		base = jsonpointer_join_new("/spec", list);
		if (!base) {
			json_decref(item);
			return -ENOMEM;
		}
		r = push_op_at(ops, "add", base, "-", item);
		free(base);
		return r;
	}
	/* Absent (or null, which the API server may send for an empty list). */
	whole = json_array();
	if (!whole || json_array_append_new(whole, item) < 0) {
		json_decref(whole);
		return -ENOMEM;
	}
	return push_op_at(ops, current ? "replace" : "add", "/spec", list, whole);
}

int pod_patch_set_container_name_env(json_t *ops, const json_t *pod, const char *name)
{
	const json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
	const json_t *c;
	size_t i;
	int r = 0;

	json_array_foreach(containers, i, c) {
		const char *cname = json_string_value(json_object_get(c, "name"));
		const json_t *env = json_object_get(c, "env");
		char base[64];
		const json_t *e;
		size_t k;
		int present = 0;

		if (!cname)
			continue;
		json_array_foreach(env, k, e)
			present |= json_is_string(json_object_get(e, "name")) &&
				   strcmp(json_string_value(json_object_get(e, "name")), name) == 0;
		if (present)
			continue;
		json_t *var = json_pack("{s:s, s:s}", "name", name, "value", cname);
		if (!var)
			return -ENOMEM;
		snprintf(base, sizeof(base), "/spec/containers/%zu", i);
		if (json_is_array(env)) {
			char list[80];
			snprintf(list, sizeof(list), "%s/env", base);
			r = push_op_at(ops, "add", list, "-", var);
		} else {
			json_t *whole = json_array();
			if (!whole || json_array_append_new(whole, var) < 0) {
				json_decref(whole);
				return -ENOMEM;
			}
			r = push_op_at(ops, env ? "replace" : "add", base, "env", whole);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int pod_patch_set_spec_field(json_t *ops, const json_t *pod, const char *field, json_t *value)
{
	const json_t *current = json_object_get(json_object_get(pod, "spec"), field);

	if (current && jsonpatch_values_equal(current, value)) {
		json_decref(value);
		return 0;
	}
	return push_op_at(ops, "add", "/spec", field, value);
}
