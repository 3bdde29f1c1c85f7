#include "lib/otlp/env_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/otlp/export_config.h"
#include "lib/otlp/headers.h"

#define DEFAULT_ENDPOINT "http://localhost:4318"

struct env {
	otlp_env_lookup_fn lookup;
	void *userdata;
	const char *bad; /* the variable at fault */
};

static const char *from_process(const char *name, void *userdata)
{
	return getenv(name);
}

static const char *get(struct env *e, const char *name)
{
	const char *v = e->lookup(name, e->userdata);

	return v && *v ? v : NULL;
}

/* The TRACES_ form of a variable if set, else the general one; *ret_name says which. */
static const char *get_pair(struct env *e, const char *traces, const char *general,
			    const char **ret_name)
{
	const char *v = get(e, traces);

	*ret_name = traces;
	if (v)
		return v;
	*ret_name = general;
	return get(e, general);
}

static int dup_var(struct env *e, const char *traces, const char *general, char **ret)
{
	const char *name, *v = get_pair(e, traces, general, &name);

	*ret = NULL;
	if (!v)
		return 0;
	*ret = strdup(v);
	return *ret ? 0 : -ENOMEM;
}

static int read_timeout(struct env *e, uint32_t *ret_ms)
{
	const char *name, *v = get_pair(e, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
					"OTEL_EXPORTER_OTLP_TIMEOUT", &name);
	char *end;
	unsigned long ms;

	if (!v)
		return 0;
	errno = 0;
	ms = strtoul(v, &end, 10);
	if (errno || *end || v[0] == '-' || ms == 0 || ms > 600000) {
		e->bad = name;
		return -EINVAL;
	}
	*ret_ms = (uint32_t)ms;
	return 0;
}

static int read_resource(struct env *e, struct otlp_resource *res)
{
	const char *attrs = get(e, "OTEL_RESOURCE_ATTRIBUTES");
	const char *service = get(e, "OTEL_SERVICE_NAME");
	struct otlp_header *kv = NULL;
	size_t n = 0;
	bool have_service = false;
	int err;

	otlp_resource_init(res);
	if (service) {
		err = otlp_resource_add_string(res, "service.name", service);
		if (err < 0)
			return err == -ENOSPC ? -E2BIG : err;
		have_service = true;
	}
	if (attrs) {
		err = otlp_headers_parse(attrs, &kv, &n);
		if (err < 0) {
			e->bad = "OTEL_RESOURCE_ATTRIBUTES";
			return err;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(kv[i].name, "service.name") == 0) {
			if (have_service)
				continue; /* OTEL_SERVICE_NAME wins */
			have_service = true;
		}
		err = otlp_resource_add_string(res, kv[i].name, kv[i].value);
		if (err == -ENOSPC) {
			otlp_headers_free(kv, n);
			return -E2BIG;
		}
	}
	otlp_headers_free(kv, n);
	/* The specification's name for a service nobody named. */
	if (!have_service)
		otlp_resource_add_string(res, "service.name", "unknown_service");
	return 0;
}

int otlp_env_config_new(otlp_env_lookup_fn lookup, void *userdata,
			struct otlp_env_config **ret_config, const char **ret_bad_variable)
{
	struct env e = { .lookup = lookup ? lookup : from_process, .userdata = userdata };
	struct otlp_env_config *c = calloc(1, sizeof(*c));
	const char *name, *v;
	char *url;
	int err = -ENOMEM;

	if (!c)
		return -ENOMEM;

	v = get(&e, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	name = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
	c->config.endpoint_is_traces_url = v != NULL;
	if (!v) {
		name = "OTEL_EXPORTER_OTLP_ENDPOINT";
		v = get(&e, name);
	}
	c->endpoint = strdup(v ? v : DEFAULT_ENDPOINT);
	if (!c->endpoint)
		goto fail;
	url = export_config_traces_url(c->endpoint, c->config.endpoint_is_traces_url, &err);
	if (!url) {
		e.bad = name;
		goto fail;
	}
	free(url);
	c->config.endpoint = c->endpoint;

	v = get_pair(&e, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL", &name);
	if (v && otlp_protocol_parse(v, &c->config.protocol) < 0) {
		err = -EINVAL;
		e.bad = name;
		goto fail;
	}

	v = get_pair(&e, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", &name);
	if (v) {
		err = otlp_headers_parse(v, &c->headers, &c->n_headers);
		if (err < 0) {
			e.bad = name;
			goto fail;
		}
		c->config.headers = c->headers;
		c->config.n_headers = c->n_headers;
	}

	v = get_pair(&e, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION",
		     &name);
	if (v && strcmp(v, "gzip") && strcmp(v, "none")) {
		err = -EINVAL;
		e.bad = name;
		goto fail;
	}
	c->config.gzip = v && strcmp(v, "gzip") == 0;

	err = read_timeout(&e, &c->config.timeout_ms);
	if (err < 0)
		goto fail;

	err = -ENOMEM;
	if (dup_var(&e, "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE",
		    &c->ca_file) < 0 ||
	    dup_var(&e, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
		    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &c->cert_file) < 0 ||
	    dup_var(&e, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY",
		    &c->key_file) < 0)
		goto fail;
	c->config.ca_file = c->ca_file;
	c->config.cert_file = c->cert_file;
	c->config.key_file = c->key_file;

	err = read_resource(&e, &c->resource);
	if (err < 0)
		goto fail;
	*ret_config = c;
	return 0;
fail:
	if (ret_bad_variable && e.bad)
		*ret_bad_variable = e.bad;
	otlp_env_config_free(c);
	return err;
}

struct otlp_env_config *otlp_env_config_free(struct otlp_env_config *c)
{
	if (!c)
		return NULL;
	free(c->endpoint);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	otlp_headers_free(c->headers, c->n_headers);
	free(c);
	return NULL;
}
