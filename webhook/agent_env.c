#include "webhook/agent_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/instrumentation/naming.h"

char *env_escape_dollars_new(const char *value)
{
	size_t n = strlen(value), extra = 0;
	char *out, *w;

	for (const char *p = value; *p; p++)
		extra += *p == '$';
	out = malloc(n + extra + 1);
	if (!out)
		return NULL;
	w = out;
	for (const char *p = value; *p; p++) {
		*w++ = *p;
		if (*p == '$')
			*w++ = '$';
	}
	*w = '\0';
	return out;
}

int image_version_tag(const char *image, char *buf, size_t size)
{
	const char *at = strchr(image, '@');
	size_t end = at ? (size_t)(at - image) : strlen(image);
	const char *slash = NULL, *colon = NULL;

	for (size_t i = 0; i < end; i++) {
		if (image[i] == '/')
			slash = image + i;
		else if (image[i] == ':')
			colon = image + i;
	}
	if (!colon || (slash && colon < slash))
		return -ENOENT;
	colon++;
	if ((size_t)(image + end - colon) == 0 || (size_t)(image + end - colon) >= size)
		return -ENOENT;
	memcpy(buf, colon, (size_t)(image + end - colon));
	buf[image + end - colon] = '\0';
	if (strcmp(buf, "latest") == 0)
		return -ENOENT;
	return 0;
}

static int push_value(json_t *env, const char *name, const char *value)
{
	json_t *v = json_pack("{s:s, s:s}", "name", name, "value", value);

	return v && json_array_append_new(env, v) == 0 ? 0 : -ENOMEM;
}

/* A literal value: '$' doubled so Kubernetes does not expand it. */
static int push_literal(json_t *env, const char *name, const char *value)
{
	char *escaped = env_escape_dollars_new(value);
	int r;

	if (!escaped)
		return -ENOMEM;
	r = push_value(env, name, escaped);
	free(escaped);
	return r;
}

static int push_field(json_t *env, const char *name, const char *field_path)
{
	json_t *v = json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", name, "valueFrom", "fieldRef",
			      "apiVersion", "v1", "fieldPath", field_path);

	return v && json_array_append_new(env, v) == 0 ? 0 : -ENOMEM;
}

/* W3C baggage value encoding, as OTEL_RESOURCE_ATTRIBUTES wants it; also '$' so that
 * nothing in a value can be taken for $(VAR). */
static void put_encoded(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;

		if (c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\' &&
		    c != '%' && c != '=' && c != '$')
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

struct attrs {
	FILE *f;
	const json_t *user; /* keys the Instrumentation sets win over ours */
	int count;
};

static void put_attr(struct attrs *a, const char *key, const char *value, int encode)
{
	if (!value || !value[0] || json_object_get(a->user, key))
		return;
	fprintf(a->f, "%s%s=", a->count++ ? "," : "", key);
	if (encode)
		put_encoded(a->f, value);
	else
		fputs(value, a->f);
}

/* Resource attributes: the Instrumentation's, then the Kubernetes ones the pod tells. */
static int resource_attributes_new(const struct agent_env_input *in, char **ret)
{
	const struct workload *w = in->workload;
	struct attrs a = { .user = in->spec->resource_attributes };
	const char *key;
	json_t *v;
	char *text = NULL;
	size_t len = 0;

	a.f = open_memstream(&text, &len);
	if (!a.f)
		return -ENOMEM;
	json_object_foreach((json_t *)a.user, key, v) {
		fprintf(a.f, "%s%s=", a.count++ ? "," : "", key);
		put_encoded(a.f, json_string_value(v));
	}
	put_attr(&a, "k8s.namespace.name", in->pod_ns, 1);
	put_attr(&a, "k8s.pod.name", "$(K8S_POD_NAME)", 0);
	put_attr(&a, "k8s.pod.uid", "$(K8S_POD_UID)", 0);
	put_attr(&a, "k8s.node.name", "$(K8S_NODE_NAME)", 0);
	put_attr(&a, "k8s.replicaset.name", w->replicaset, 1);
	put_attr(&a, "k8s.deployment.name", w->deployment, 1);
	put_attr(&a, "k8s.statefulset.name", w->statefulset, 1);
	put_attr(&a, "k8s.daemonset.name", w->daemonset, 1);
	put_attr(&a, "k8s.job.name", w->job, 1);
	put_attr(&a, "k8s.cronjob.name", w->cronjob, 1);
	put_attr(&a, "k8s.container.name", in->container_name, 1);
	put_attr(&a, "service.version", in->service_version, 1);
	if (ferror(a.f)) {
		fclose(a.f);
		free(text);
		return -ENOMEM;
	}
	if (fclose(a.f) != 0) {
		free(text);
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}

int agent_env_new(const struct agent_env_input *in, json_t **ret_env)
{
	const struct instrumentation_spec *s = in->spec;
	json_t *env = json_array();
	char *attrs = NULL, num[64];
	int r = -ENOMEM;

	if (!env)
		return -ENOMEM;
	/* The downward API first: later values refer to these as $(K8S_...). */
	if (push_field(env, "K8S_POD_NAME", "metadata.name") ||
	    push_field(env, "K8S_NAMESPACE_NAME", "metadata.namespace") ||
	    push_field(env, "K8S_POD_UID", "metadata.uid") ||
	    push_field(env, "K8S_NODE_NAME", "spec.nodeName"))
		goto fail;
	if (in->service_name ? push_literal(env, "OTEL_SERVICE_NAME", in->service_name) :
			       push_value(env, "OTEL_SERVICE_NAME", "$(K8S_POD_NAME)"))
		goto fail;
	if (s->endpoint && push_literal(env, "OTEL_EXPORTER_OTLP_ENDPOINT", s->endpoint))
		goto fail;
	if (s->protocol && push_value(env, "OTEL_EXPORTER_OTLP_PROTOCOL", s->protocol))
		goto fail;
	if (s->timeout_ms >= 0) {
		snprintf(num, sizeof(num), "%lld", s->timeout_ms);
		if (push_value(env, "OTEL_EXPORTER_OTLP_TIMEOUT", num))
			goto fail;
	}
	if (s->sampler_type && push_value(env, "OTEL_TRACES_SAMPLER", s->sampler_type))
		goto fail;
	if (instrumentation_sampler_takes_ratio(s->sampler_type) && s->sampler_ratio >= 0) {
		snprintf(num, sizeof(num), "%.6g", s->sampler_ratio);
		if (push_value(env, "OTEL_TRACES_SAMPLER_ARG", num))
			goto fail;
	}
	if (s->n_propagators > 0) {
		char list[INSTRUMENTATION_MAX_PROPAGATORS * 16] = "";
		size_t used = 0;

		for (size_t i = 0; i < s->n_propagators && used < sizeof(list); i++) {
			int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "",
					 s->propagators[i]);

			if (n < 0)
				goto fail;
			used += (size_t)n;
		}
		if (push_value(env, "OTEL_PROPAGATORS", list))
			goto fail;
	}
	r = resource_attributes_new(in, &attrs);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	if (push_value(env, "OTEL_RESOURCE_ATTRIBUTES", attrs) ||
	    push_value(env, "AUTOTRACE_CONFIG_FILE", INSTRUMENTATION_CONFIG_FILE))
		goto fail;
	snprintf(num, sizeof(num), "%d", in->metrics_port);
	if (push_value(env, "AUTOTRACE_METRICS_PORT", num))
		goto fail;
	if (in->target_containers &&
	    push_value(env, "AUTOTRACE_TARGET_CONTAINERS", in->target_containers))
		goto fail;
	if (in->target_exe && push_literal(env, "AUTOTRACE_TARGET_EXE", in->target_exe))
		goto fail;
	free(attrs);
	*ret_env = env;
	return 0;
fail:
	free(attrs);
	json_decref(env);
	return r;
}
