#include "lib/kube/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#define PATH_MAX_LEN 2048

/* Appends "&key=escaped(value)" (or "?key=..." first) to buf at *used. */
static int add_param(char *buf, size_t len, size_t *used, const char *key, const char *value)
{
	char *esc = evhttp_uriencode(value, -1, 0); /* all but RFC 3986's unreserved */
	int n;

	if (!esc)
		return -ENOMEM;
	n = snprintf(buf + *used, len - *used, "%c%s=%s", *used ? '&' : '?', key, esc);
	free(esc);
	if (n < 0 || (size_t)n >= len - *used)
		return -ENAMETOOLONG;
	*used += (size_t)n;
	return 0;
}

int kube_list_query(const struct kube_list_opts *opts, int watch, const char *extra, char *buf,
		    size_t len)
{
	size_t used = 0;
	char num[32];
	int rc = 0;

	if (len == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	if (watch)
		rc = add_param(buf, len, &used, "watch", "true");
	if (rc == 0 && opts && opts->label_selector && opts->label_selector[0])
		rc = add_param(buf, len, &used, "labelSelector", opts->label_selector);
	if (rc == 0 && opts && opts->field_selector && opts->field_selector[0])
		rc = add_param(buf, len, &used, "fieldSelector", opts->field_selector);
	if (rc == 0 && opts && opts->limit > 0) {
		snprintf(num, sizeof(num), "%ld", opts->limit);
		rc = add_param(buf, len, &used, "limit", num);
	}
	if (rc == 0 && opts && opts->continue_token && opts->continue_token[0])
		rc = add_param(buf, len, &used, "continue", opts->continue_token);
	if (rc == 0 && opts && opts->resource_version && opts->resource_version[0])
		rc = add_param(buf, len, &used, "resourceVersion", opts->resource_version);
	if (rc == 0 && extra && extra[0]) {
		/* `extra` is "key=value&key=value" built by our own code, already escaped. */
		int n = snprintf(buf + used, len - used, "%c%s", used ? '&' : '?', extra);
		if (n < 0 || (size_t)n >= len - used)
			rc = -ENAMETOOLONG;
	}
	return rc;
}

/* Sends method+path(+body) and decodes a JSON answer into *ret_obj (may be NULL). */
static int call_json(struct kube_client *c, const char *method, const char *path,
		     const char *content_type, const json_t *body, json_t **ret_obj,
		     struct kube_error *err)
{
	struct kube_request req = { .method = method, .path = path, .content_type = content_type };
	struct kube_response resp = { 0 };
	char *text = NULL;
	int rc;

	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "cannot encode the request body");
		req.body = text;
		req.body_len = strlen(text);
	}
	rc = kube_client_do(c, &req, &resp, err);
	free(text);
	if (rc < 0)
		return rc;
	if (ret_obj) {
		json_error_t jerr;
		json_t *obj = json_loadb(resp.body, resp.len, 0, &jerr);
		if (!obj) {
			rc = kube_error_set(err, KUBE_ERR_DECODE, -EBADMSG, "%s %s: answer is not JSON: %s",
					    method, path, jerr.text);
		} else {
			*ret_obj = obj;
		}
	}
	kube_response_release(&resp);
	return rc;
}

static int ref_path(const struct kube_ref *ref, char *buf, size_t len, struct kube_error *err)
{
	int rc = kube_ref_path(ref, buf, len);

	if (rc < 0)
		return kube_error_set(err, KUBE_ERR_LOCAL, rc, "bad object reference %s/%s",
				      ref->ns ? ref->ns : "", ref->name ? ref->name : "");
	return 0;
}

int kube_get(struct kube_client *c, const struct kube_ref *ref, json_t **ret_obj,
	     struct kube_error *err)
{
	char path[PATH_MAX_LEN];
	int rc = ref_path(ref, path, sizeof(path), err);

	return rc < 0 ? rc : call_json(c, "GET", path, NULL, NULL, ret_obj, err);
}

int kube_list(struct kube_client *c, const struct kube_ref *ref, const struct kube_list_opts *opts,
	      json_t **ret_list, struct kube_error *err)
{
	char path[PATH_MAX_LEN], query[PATH_MAX_LEN];
	int rc = ref_path(ref, path, sizeof(path), err);

	if (rc < 0)
		return rc;
	rc = kube_list_query(opts, 0, NULL, query, sizeof(query));
	if (rc < 0 || strlen(path) + strlen(query) >= sizeof(path))
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENAMETOOLONG, "list query too long");
	strncat(path, query, sizeof(path) - strlen(path) - 1);
	rc = call_json(c, "GET", path, NULL, NULL, ret_list, err);
	if (rc == 0 && !json_is_array(json_object_get(*ret_list, "items"))) {
		json_decref(*ret_list);
		return kube_error_set(err, KUBE_ERR_DECODE, -EBADMSG, "list answer has no items");
	}
	return rc;
}

int kube_list_all(struct kube_client *c, const struct kube_ref *ref,
		  const struct kube_list_opts *opts, json_t **ret_items, char **ret_rv,
		  struct kube_error *err)
{
	struct kube_list_opts page = opts ? *opts : (struct kube_list_opts){ 0 };
	json_t *items = json_array(), *list = NULL;
	char *cont = NULL, *rv = NULL;
	int rc = 0;

	if (!items)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	for (;;) {
		page.continue_token = cont;
		rc = kube_list(c, ref, &page, &list, err);
		if (rc < 0)
			break;
		json_t *meta = json_object_get(list, "metadata");
		json_array_extend(items, json_object_get(list, "items"));
		free(rv);
		rv = NULL;
		const char *r = json_string_value(json_object_get(meta, "resourceVersion"));
		const char *next = json_string_value(json_object_get(meta, "continue"));
		if ((r && !(rv = strdup(r)))) {
			rc = kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
			break;
		}
		free(cont);
		cont = next && next[0] ? strdup(next) : NULL;
		json_decref(list);
		list = NULL;
		if (!cont)
			break;
		/* Later pages come from the same snapshot as the first. */
		page.resource_version = NULL;
	}
	json_decref(list);
	free(cont);
	if (rc < 0) {
		json_decref(items);
		free(rv);
		return rc;
	}
	*ret_items = items;
	if (ret_rv)
		*ret_rv = rv;
	else
		free(rv);
	return 0;
}

int kube_create(struct kube_client *c, const struct kube_ref *ref, const json_t *obj,
		json_t **ret_obj, struct kube_error *err)
{
	char path[PATH_MAX_LEN];
	struct kube_ref coll = *ref;
	int rc;

	coll.name = NULL;
	coll.subresource = NULL;
	if (!coll.ns && ref->res->namespaced)
		coll.ns = kube_obj_namespace(obj);
	rc = ref_path(&coll, path, sizeof(path), err);
	return rc < 0 ? rc : call_json(c, "POST", path, NULL, obj, ret_obj, err);
}

int kube_update(struct kube_client *c, const struct kube_ref *ref, const json_t *obj,
		json_t **ret_obj, struct kube_error *err)
{
	char path[PATH_MAX_LEN];
	int rc = ref_path(ref, path, sizeof(path), err);

	return rc < 0 ? rc : call_json(c, "PUT", path, NULL, obj, ret_obj, err);
}

int kube_patch(struct kube_client *c, const struct kube_ref *ref, enum kube_patch_type type,
	       const json_t *patch, const struct kube_patch_opts *opts, json_t **ret_obj,
	       struct kube_error *err)
{
	static const char *const types[] = {
		[KUBE_PATCH_MERGE] = "application/merge-patch+json",
		[KUBE_PATCH_JSON] = "application/json-patch+json",
		[KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
		/* JSON is YAML, so an apply body can be sent as JSON. */
		[KUBE_PATCH_APPLY] = "application/apply-patch+yaml",
	};
	char path[PATH_MAX_LEN];
	size_t used;
	int rc;

	if ((unsigned)type > KUBE_PATCH_APPLY)
		return kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "unknown patch type %d", type);
	if (type == KUBE_PATCH_APPLY && (!opts || !opts->field_manager))
		return kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "server-side apply needs a field manager");
	rc = ref_path(ref, path, sizeof(path), err);
	if (rc < 0)
		return rc;
	used = strlen(path);
	/* add_param starts with '?' only when used == 0, so count from the query. */
	char query[512] = "";
	size_t qused = 0;
	if (opts && opts->field_manager)
		rc = add_param(query, sizeof(query), &qused, "fieldManager", opts->field_manager);
	if (rc == 0 && opts && opts->force && type == KUBE_PATCH_APPLY)
		rc = add_param(query, sizeof(query), &qused, "force", "true");
	if (rc < 0 || used + qused >= sizeof(path))
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENAMETOOLONG, "patch query too long");
	memcpy(path + used, query, qused + 1);
	return call_json(c, "PATCH", path, types[type], patch, ret_obj, err);
}

int kube_delete(struct kube_client *c, const struct kube_ref *ref,
		const struct kube_delete_opts *opts, struct kube_error *err)
{
	char path[PATH_MAX_LEN];
	json_t *body = NULL;
	int rc = ref_path(ref, path, sizeof(path), err);

	if (rc < 0)
		return rc;
	if (opts) {
		body = json_pack("{s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
		if (!body)
			return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
		if (opts->propagation_policy)
			json_object_set_new(body, "propagationPolicy", json_string(opts->propagation_policy));
		if (opts->set_grace)
			json_object_set_new(body, "gracePeriodSeconds", json_integer(opts->grace_period_seconds));
		if (opts->precondition_resource_version)
			json_object_set_new(body, "preconditions",
					    json_pack("{s:s}", "resourceVersion",
						      opts->precondition_resource_version));
	}
	rc = call_json(c, "DELETE", path, NULL, body, NULL, err);
	json_decref(body);
	return rc;
}

static const char *meta_string(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

const char *kube_obj_name(const json_t *obj)
{
	return meta_string(obj, "name");
}

const char *kube_obj_namespace(const json_t *obj)
{
	return meta_string(obj, "namespace");
}

const char *kube_obj_resource_version(const json_t *obj)
{
	return meta_string(obj, "resourceVersion");
}

const char *kube_obj_uid(const json_t *obj)
{
	return meta_string(obj, "uid");
}

const char *kube_obj_annotation(const json_t *obj, const char *key)
{
	json_t *a = json_object_get(json_object_get(obj, "metadata"), "annotations");
	return json_string_value(json_object_get(a, key));
}

const char *kube_obj_label(const json_t *obj, const char *key)
{
	json_t *l = json_object_get(json_object_get(obj, "metadata"), "labels");
	return json_string_value(json_object_get(l, key));
}

void kube_obj_keep(json_t *obj, const char *const *keep)
{
	const char *k;
	json_t *v;
	void *tmp;

	if (!json_is_object(obj))
		return;
	json_object_foreach_safe(obj, tmp, k, v) {
		size_t i;

		for (i = 0; keep[i] && strcmp(k, keep[i]) != 0; i++)
			;
		if (!keep[i])
			json_object_del(obj, k);
	}
}
