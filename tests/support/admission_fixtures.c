#include "tests/support/admission_fixtures.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/text/base64.h"

json_t *fixture_json_load(const char *path)
{
	json_error_t err;
	json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &err);

	if (!v)
		fprintf(stderr, "%s:%d: %s\n", path, err.line, err.text);
	return v;
}

static int ns_annotations(void *userdata, const char *ns, json_t **ret)
{
	struct fixture_cluster *c = userdata;
	json_t *nsobj;

	c->calls++;
	if (c->fail_with)
		return c->fail_with;
	nsobj = json_object_get(json_object_get(c->root, "namespaces"), ns);
	if (!nsobj)
		return -ENOENT;
	*ret = json_object_get(nsobj, "annotations");
	if (!*ret)
		*ret = json_object();
	else
		json_incref(*ret);
	return *ret ? 0 : -ENOMEM;
}

static int in_namespace(const json_t *cr, const char *ns)
{
	const char *n = json_string_value(json_object_get(json_object_get(cr, "metadata"),
							  "namespace"));

	return n && strcmp(n, ns) == 0;
}

static int list_instrumentations(void *userdata, const char *ns, json_t **ret)
{
	struct fixture_cluster *c = userdata;
	json_t *all = json_object_get(c->root, "instrumentations"), *out;

	c->calls++;
	if (c->fail_with)
		return c->fail_with;
	out = json_array();
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(all); i++)
		if (in_namespace(json_array_get(all, i), ns))
			json_array_append(out, json_array_get(all, i));
	*ret = out;
	return 0;
}

static int get_instrumentation(void *userdata, const char *ns, const char *name, json_t **ret)
{
	struct fixture_cluster *c = userdata;
	json_t *all = json_object_get(c->root, "instrumentations");

	c->calls++;
	if (c->fail_with)
		return c->fail_with;
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *cr = json_array_get(all, i);
		const char *n = json_string_value(
			json_object_get(json_object_get(cr, "metadata"), "name"));

		if (in_namespace(cr, ns) && n && strcmp(n, name) == 0) {
			*ret = json_incref(cr);
			return 0;
		}
	}
	return -ENOENT;
}

void fixture_cluster_lookup(struct fixture_cluster *cluster, struct webhook_lookup *lookup)
{
	lookup->userdata = cluster;
	lookup->namespace_annotations = ns_annotations;
	lookup->list_instrumentations = list_instrumentations;
	lookup->get_instrumentation = get_instrumentation;
}

char *fixture_review_new(const json_t *pod, const char *ns, const char *uid,
			 const char *operation)
{
	json_t *review = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, "
				   "s:s, s:s, s:O, s:{s:s}}}",
				   "apiVersion", "admission.k8s.io/v1", "kind", "AdmissionReview",
				   "request", "uid", uid, "kind", "group", "", "version", "v1",
				   "kind", "Pod", "resource", "group", "", "version", "v1",
				   "resource", "pods", "namespace", ns, "operation", operation,
				   "object", pod, "userInfo", "username",
				   "system:serviceaccount:kube-system:replicaset-controller");
	char *text;

	if (!review)
		return NULL;
	text = json_dumps(review, JSON_COMPACT);
	json_decref(review);
	return text;
}

int fixture_response_decode(const char *body, size_t len, char **ret_uid, int *ret_allowed,
			    json_t **ret_patch, json_t **ret_warnings)
{
	json_t *review = json_loadb(body, len, 0, NULL), *resp, *patch = NULL, *warnings;
	const char *uid, *b64;
	unsigned char *raw = NULL;
	int r = -EINVAL;

	resp = json_object_get(review, "response");
	uid = json_string_value(json_object_get(resp, "uid"));
	if (!uid || !json_is_boolean(json_object_get(resp, "allowed")))
		goto cleanup;
	b64 = json_string_value(json_object_get(resp, "patch"));
	if (b64) {
		size_t n;
		const char *type = json_string_value(json_object_get(resp, "patchType"));

		if (!type || strcmp(type, "JSONPatch") != 0)
			goto cleanup;
		if (base64_decode(b64, &raw, &n) < 0)
			goto cleanup;
		patch = json_loadb((const char *)raw, n, 0, NULL);
		if (!json_is_array(patch))
			goto cleanup;
	} else {
		patch = json_array();
	}
	warnings = json_object_get(resp, "warnings");
	*ret_warnings = warnings ? json_incref(warnings) : json_array();
	*ret_uid = strdup(uid);
	*ret_allowed = json_is_true(json_object_get(resp, "allowed"));
	*ret_patch = patch;
	patch = NULL;
	r = 0;
cleanup:
	json_decref(patch);
	json_decref(review);
	free(raw);
	return r;
}
