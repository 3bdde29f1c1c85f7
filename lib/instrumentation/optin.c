#include "lib/instrumentation/optin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void optin_parse_value(const char *value, const char *pod_ns, struct optin *ret)
{
	struct optin o = { .kind = OPTIN_UNSET };
	const char *slash;

	if (!value || !value[0]) {
		*ret = o;
		return;
	}
	snprintf(o.value, sizeof(o.value), "%s", value);
	if (strcasecmp(value, "false") == 0) {
		o.kind = OPTIN_FALSE;
	} else if (strcasecmp(value, "true") == 0) {
		o.kind = OPTIN_SINGLE;
	} else {
		slash = strchr(value, '/');
		o.kind = OPTIN_INVALID;
		if (slash) {
			size_t nslen = (size_t)(slash - value);

			if (nslen < sizeof(o.ns) && strlen(slash + 1) < sizeof(o.name)) {
				memcpy(o.ns, value, nslen);
				o.ns[nslen] = '\0';
				snprintf(o.name, sizeof(o.name), "%s", slash + 1);
				if (k8s_is_dns1123_label(o.ns) &&
				    k8s_is_dns1123_subdomain(o.name))
					o.kind = OPTIN_NAMED;
			}
		} else if (pod_ns && strlen(value) < sizeof(o.name) &&
			   strlen(pod_ns) < sizeof(o.ns) && k8s_is_dns1123_subdomain(value)) {
			snprintf(o.ns, sizeof(o.ns), "%s", pod_ns);
			snprintf(o.name, sizeof(o.name), "%s", value);
			o.kind = OPTIN_NAMED;
		}
		if (o.kind == OPTIN_INVALID)
			o.ns[0] = o.name[0] = '\0';
	}
	*ret = o;
}

/* The value one object gives, autotrace's annotation first. Non-string values (which
 * the API server never sends) read as invalid. */
static void read_object(const json_t *annotations, const char *pod_ns,
			enum optin_source ours, enum optin_source otel, struct optin *ret)
{
	static const char *const keys[] = { ANNOTATION_INJECT, ANNOTATION_OTEL_INJECT_GO };
	const enum optin_source sources[] = { ours, otel };

	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(annotations, keys[i]);

		if (!v)
			continue;
		if (!json_is_string(v)) {
			*ret = (struct optin){ .kind = OPTIN_INVALID, .source = sources[i] };
			snprintf(ret->value, sizeof(ret->value), "(not a string)");
			return;
		}
		optin_parse_value(json_string_value(v), pod_ns, ret);
		if (ret->kind != OPTIN_UNSET) {
			ret->source = sources[i];
			return;
		}
	}
	*ret = (struct optin){ .kind = OPTIN_UNSET };
}

void optin_decide(const json_t *pod_annotations, const json_t *ns_annotations,
		  const char *pod_ns, struct optin *ret)
{
	read_object(pod_annotations, pod_ns, OPTIN_FROM_POD, OPTIN_FROM_POD_OTEL, ret);
	if (ret->kind != OPTIN_UNSET)
		return;
	read_object(ns_annotations, pod_ns, OPTIN_FROM_NAMESPACE, OPTIN_FROM_NAMESPACE_OTEL, ret);
}

void optin_decide_values(const char *pod_inject, const char *pod_inject_otel,
			 const json_t *ns_annotations, const char *pod_ns, struct optin *ret)
{
	optin_parse_value(pod_inject, pod_ns, ret);
	if (ret->kind != OPTIN_UNSET) {
		ret->source = OPTIN_FROM_POD;
		return;
	}
	optin_parse_value(pod_inject_otel, pod_ns, ret);
	if (ret->kind != OPTIN_UNSET) {
		ret->source = OPTIN_FROM_POD_OTEL;
		return;
	}
	read_object(ns_annotations, pod_ns, OPTIN_FROM_NAMESPACE, OPTIN_FROM_NAMESPACE_OTEL, ret);
}

int optin_namespace_enabled(const json_t *ns)
{
	const json_t *meta = json_object_get(ns, "metadata");
	struct optin o;

	if (!json_is_object(meta))
		return 0;
	/* The pod's namespace only names the Instrumentation of "<name>"; whether it is
	 * one does not depend on it, but the rule reads it the way the webhook does. */
	optin_decide(NULL, json_object_get(meta, "annotations"),
		     json_string_value(json_object_get(meta, "name")), &o);
	return o.kind != OPTIN_UNSET && o.kind != OPTIN_FALSE;
}

const char *optin_source_name(enum optin_source source)
{
	switch (source) {
	case OPTIN_FROM_POD:
		return "pod annotation " ANNOTATION_INJECT;
	case OPTIN_FROM_POD_OTEL:
		return "pod annotation " ANNOTATION_OTEL_INJECT_GO;
	case OPTIN_FROM_NAMESPACE:
		return "namespace annotation " ANNOTATION_INJECT;
	case OPTIN_FROM_NAMESPACE_OTEL:
		return "namespace annotation " ANNOTATION_OTEL_INJECT_GO;
	default:
		return "no annotation";
	}
}

/* Keeps the keys of obj for which keep(key) is true. */
static void keep_keys(json_t *obj, int (*keep)(const char *key))
{
	const char *key;
	json_t *val;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, val) {
		if (!keep(key))
			json_object_del(obj, key);
	}
}

static int is_kept_metadata(const char *key)
{
	return strcmp(key, "name") == 0 || strcmp(key, "resourceVersion") == 0 ||
	       strcmp(key, "annotations") == 0 || strcmp(key, "labels") == 0;
}

static int is_inject_enabled_label(const char *key)
{
	return strcmp(key, LABEL_INJECT_ENABLED) == 0;
}

static int is_optin_annotation(const char *key)
{
	return strncmp(key, "autotrace.dev/", 14) == 0 ||
	       strncmp(key, "instrumentation.opentelemetry.io/", 33) == 0;
}

static int is_metadata(const char *key)
{
	return strcmp(key, "metadata") == 0;
}

void optin_trim_namespace(json_t *ns)
{
	json_t *meta = json_object_get(ns, "metadata");

	if (!json_is_object(ns) || !json_is_object(meta))
		return;
	keep_keys(ns, is_metadata);
	keep_keys(meta, is_kept_metadata);
	json_t *ann = json_object_get(meta, "annotations");
	if (json_is_object(ann))
		keep_keys(ann, is_optin_annotation);
	/* Most namespaces carry none of ours: no empty map kept for them. */
	if (json_object_size(ann) == 0)
		json_object_del(meta, "annotations");
	/* The operator keeps the label in step with the annotations: it reads what is
	 * there to write only when it differs. */
	json_t *labels = json_object_get(meta, "labels");
	if (json_is_object(labels))
		keep_keys(labels, is_inject_enabled_label);
	if (json_object_size(labels) == 0)
		json_object_del(meta, "labels");
}

/* A string annotation's value and length, or NULL/0 when it is absent, empty or not
 * a string. */
static const char *annotation(const json_t *ann, const char *key, size_t *ret_len)
{
	const json_t *v = json_object_get(ann, key);

	*ret_len = json_is_string(v) ? json_string_length(v) : 0;
	return *ret_len ? json_string_value(v) : NULL;
}

json_t *optin_namespace_pack(const json_t *ns)
{
	const json_t *ann = json_object_get(json_object_get(ns, "metadata"), "annotations");
	size_t la, lb;
	const char *a = annotation(ann, ANNOTATION_INJECT, &la);
	const char *b = annotation(ann, ANNOTATION_OTEL_INJECT_GO, &lb);
	char prefix[24];
	json_t *packed;
	char *buf;

	if (!a && !b)
		return NULL;
	int n = snprintf(prefix, sizeof(prefix), "%zu:", la);
	buf = malloc((size_t)n + la + lb);
	if (!buf)
		return NULL;
	memcpy(buf, prefix, (size_t)n);
	if (a)
		memcpy(buf + n, a, la);
	if (b)
		memcpy(buf + n + la, b, lb);
	packed = json_stringn(buf, (size_t)n + la + lb);
	free(buf);
	return packed;
}

json_t *optin_namespace_unpack(const json_t *packed)
{
	const char *s = json_string_value(packed);
	size_t len = json_string_length(packed);
	json_t *ann = json_object();
	char *end;

	if (!ann)
		return NULL;
	if (!s || len == 0 || s[0] < '0' || s[0] > '9')
		return ann; /* not ours: nothing read from it */
	unsigned long la = strtoul(s, &end, 10);
	size_t head = (size_t)(end - s) + 1;
	if (*end != ':' || head > len || la > len - head)
		return ann;
	if ((la && json_object_set_new(ann, ANNOTATION_INJECT, json_stringn(s + head, la)) < 0) ||
	    (len - head - la &&
	     json_object_set_new(ann, ANNOTATION_OTEL_INJECT_GO,
				 json_stringn(s + head + la, len - head - la)) < 0)) {
		json_decref(ann);
		return NULL;
	}
	return ann;
}
