#include "agent/settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/text/errbuf.h"

static const char *const sampler_names[] = {
	[TRACER_SAMPLER_ALWAYS_ON] = "always_on",
	[TRACER_SAMPLER_ALWAYS_OFF] = "always_off",
	[TRACER_SAMPLER_TRACEIDRATIO] = "traceidratio",
	[TRACER_SAMPLER_PARENTBASED_ALWAYS_ON] = "parentbased_always_on",
	[TRACER_SAMPLER_PARENTBASED_ALWAYS_OFF] = "parentbased_always_off",
	[TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO] = "parentbased_traceidratio",
};

const char *agent_sampler_name(enum tracer_sampler_type type)
{
	return (unsigned)type < sizeof(sampler_names) / sizeof(sampler_names[0]) ? sampler_names[type]
										  : "unknown";
}

int agent_sampler_parse(const char *name, const char *arg, struct tracer_sampler *ret_sampler)
{
	for (size_t i = 0; i < sizeof(sampler_names) / sizeof(sampler_names[0]); i++) {
		if (strcmp(name, sampler_names[i]) != 0)
			continue;
		struct tracer_sampler s = { .type = (enum tracer_sampler_type)i, .ratio = 1.0 };
		if (s.type == TRACER_SAMPLER_TRACEIDRATIO ||
		    s.type == TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO) {
			/* OTel's default ratio when the argument is missing. */
			if (arg && arg[0]) {
				char *end;
				s.ratio = strtod(arg, &end);
				if (*end || !(s.ratio >= 0.0 && s.ratio <= 1.0))
					return -EINVAL;
			}
		}
		*ret_sampler = s;
		return 0;
	}
	return -EINVAL;
}

static const char *env_get(otlp_env_lookup_fn lookup, void *ud, const char *name)
{
	const char *v = lookup ? lookup(name, ud) : getenv(name);
	return v && v[0] ? v : NULL;
}

/* Splits "a, b,c" into container_names (pointing into a copy). */
static int set_container_names(struct agent_settings *s, const char *list)
{
	size_t n = 0;

	free(s->targets_text);
	s->targets_text = strdup(list);
	if (!s->targets_text)
		return -ENOMEM;
	for (char *p = s->targets_text; *p && n < AGENT_SETTINGS_MAX_TARGETS;) {
		p += strspn(p, ", ");
		size_t len = strcspn(p, ", ");
		if (len == 0)
			break;
		s->container_names[n++] = p;
		p += len;
		if (*p)
			*p++ = '\0';
	}
	s->container_names[n] = NULL;
	s->targets.container_names = n ? s->container_names : NULL;
	return 0;
}

static int from_env(struct agent_settings *s, otlp_env_lookup_fn lookup, void *ud, char *err,
		    size_t err_size)
{
	const char *bad = NULL;
	int rc = otlp_env_config_new(lookup, ud, &s->env, &bad);

	if (rc < 0)
		return errbuf_fail(err, err_size, rc, "%s: %s", bad ? bad : "environment",
			    rc == -E2BIG ? "too many resource attributes" : "not valid");
	s->exporter = s->env->config;
	s->resource = s->env->resource;
	const char *sampler = env_get(lookup, ud, "OTEL_TRACES_SAMPLER");
	const char *arg = env_get(lookup, ud, "OTEL_TRACES_SAMPLER_ARG");
	s->sampler = (struct tracer_sampler){ TRACER_SAMPLER_PARENTBASED_ALWAYS_ON, 1.0 };
	if (sampler && agent_sampler_parse(sampler, arg, &s->sampler) < 0)
		return errbuf_fail(err, err_size, -EINVAL,
			    "OTEL_TRACES_SAMPLER=%s OTEL_TRACES_SAMPLER_ARG=%s: not a known sampler "
			    "with a ratio in [0, 1]", sampler, arg ? arg : "");
	instrumentation_probes_default(&s->probes);
	s->targets.executable = env_get(lookup, ud, "AUTOTRACE_TARGET_EXE");
	const char *containers = env_get(lookup, ud, "AUTOTRACE_TARGET_CONTAINERS");
	if (containers && set_container_names(s, containers) < 0)
		return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
	return 0;
}

/* The file's CA as a path the exporter can open: a memfd, since the agent's root
 * filesystem is read-only. */
static int set_ca(struct agent_settings *s, const char *pem)
{
	size_t len = strlen(pem);

	s->ca_fd = memfd_create("autotrace-ca", MFD_CLOEXEC);
	if (s->ca_fd < 0)
		return -errno;
	if (write(s->ca_fd, pem, len) != (ssize_t)len)
		return -EIO;
	snprintf(s->ca_path, sizeof(s->ca_path), "/proc/self/fd/%d", s->ca_fd);
	s->exporter.ca_file = s->ca_path;
	return 0;
}

/* Resource attributes: the file's, then the environment's (k8s.*, service.name set at
 * admission) for keys the file does not set. */
static int merge_resource(struct agent_settings *s)
{
	struct otlp_resource res;
	const char *key;
	json_t *val;

	otlp_resource_init(&res);
	json_object_foreach((json_t *)s->file.resource_attributes, key, val) {
		if (json_is_string(val) && otlp_resource_add_string(&res, key, json_string_value(val)) == -ENOSPC)
			return -E2BIG;
	}
	struct otlp_attrs_view env = otlp_resource_attrs(&s->resource);
	for (size_t i = 0; i < env.count; i++) {
		const struct otlp_attr *a = &env.items[i];
		char k[256];
		snprintf(k, sizeof(k), "%.*s", a->key_len, env.text + a->key_off);
		if (json_object_get(s->file.resource_attributes, k))
			continue;
		/* The environment's values are strings (OTEL_RESOURCE_ATTRIBUTES). */
		char v[1024];
		snprintf(v, sizeof(v), "%.*s", a->str_len, env.text + a->str_off);
		if (otlp_resource_add_string(&res, k, v) == -ENOSPC)
			return -E2BIG;
	}
	s->resource = res;
	return 0;
}

static int from_file(struct agent_settings *s, const char *data, size_t len, char *err,
		     size_t err_size)
{
	char why[256];
	int rc = agent_config_parse(data, len, &s->file, why, sizeof(why));
	size_t n = 0;
	const char *key;
	json_t *val;

	if (rc < 0)
		return errbuf_fail(err, err_size, rc, "config file: %s", why);
	s->has_file = 1;
	snprintf(s->revision, sizeof(s->revision), "%s", s->file.revision);
	snprintf(s->instrumentation, sizeof(s->instrumentation), "%s", s->file.instrumentation);

	s->exporter.endpoint = s->file.endpoint;
	s->exporter.endpoint_is_traces_url = false;
	s->exporter.protocol = s->file.protocol == AGENT_PROTOCOL_JSON ? OTLP_PROTOCOL_HTTP_JSON
								       : OTLP_PROTOCOL_HTTP_PROTOBUF;
	s->exporter.timeout_ms = (uint32_t)s->file.timeout_ms;
	s->exporter.insecure_skip_verify = s->file.tls_insecure_skip_verify;
	json_object_foreach((json_t *)s->file.headers, key, val) {
		if (n < INSTRUMENTATION_MAX_HEADERS && json_is_string(val))
			s->headers[n++] = (struct otlp_header){ key, json_string_value(val) };
	}
	s->exporter.headers = s->headers;
	s->exporter.n_headers = n;
	if (s->file.tls_ca_pem && (rc = set_ca(s, s->file.tls_ca_pem)) < 0)
		return errbuf_fail(err, err_size, rc, "config file: exporter.tls.caPem: %s", strerror(-rc));

	char ratio[32];
	snprintf(ratio, sizeof(ratio), "%.17g", s->file.sampler_ratio);
	if (agent_sampler_parse(s->file.sampler_type, ratio, &s->sampler) < 0)
		return errbuf_fail(err, err_size, -EINVAL, "config file: sampler %s ratio %s: not supported",
			    s->file.sampler_type, ratio);
	s->probes = s->file.probes;
	if (s->file.executable)
		s->targets.executable = s->file.executable;
	if (s->file.n_container_names) {
		size_t k = 0;
		for (; k < s->file.n_container_names && k < AGENT_SETTINGS_MAX_TARGETS; k++)
			s->container_names[k] = s->file.container_names[k];
		s->container_names[k] = NULL;
		s->targets.container_names = s->container_names;
	}
	if (merge_resource(s) < 0)
		return errbuf_fail(err, err_size, -E2BIG, "config file: too many resource attributes");
	return 0;
}

void agent_settings_tracer_probes(const struct agent_settings *s, struct tracer_probes *ret)
{
	*ret = (struct tracer_probes){
		.http_server = s->probes.http_server,
		.http_client = s->probes.http_client,
		.database_sql = s->probes.database_sql,
		/* The gRPC server and client probes are attached together: either keeps them. */
		.grpc = s->probes.grpc_server || s->probes.grpc_client,
		.db_query_text = s->probes.db_query_text,
	};
}

int agent_settings_new(otlp_env_lookup_fn lookup, void *ud, const char *file, size_t len,
		       struct agent_settings **ret_settings, char *err, size_t err_size)
{
	struct agent_settings *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
	s->ca_fd = -1;
	rc = from_env(s, lookup, ud, err, err_size);
	if (rc == 0 && file)
		rc = from_file(s, file, len, err, err_size);
	if (rc < 0) {
		agent_settings_free(s);
		return rc;
	}
	*ret_settings = s;
	return 0;
}

struct agent_settings *agent_settings_free(struct agent_settings *s)
{
	if (!s)
		return NULL;
	otlp_env_config_free(s->env);
	if (s->has_file)
		agent_config_clear(&s->file);
	free(s->targets_text);
	if (s->ca_fd >= 0)
		close(s->ca_fd);
	free(s);
	return NULL;
}
