#include "lib/otlp/export_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TRACES_PATH "/v1/traces"

char *export_config_traces_url(const char *endpoint, bool as_is, int *ret_err)
{
	size_t len, plen = strlen(TRACES_PATH);
	const char *path;
	char *url;

	if (!endpoint || (strncasecmp(endpoint, "http://", 7) && strncasecmp(endpoint, "https://", 8)) ||
	    strpbrk(endpoint, " \t\r\n")) {
		*ret_err = -EINVAL;
		return NULL;
	}
	len = strlen(endpoint);
	path = strchr(endpoint + (endpoint[4] == ':' ? 7 : 8), '/');
	if (as_is || (path && len >= plen && strcmp(endpoint + len - plen, TRACES_PATH) == 0)) {
		url = strdup(endpoint);
	} else {
		while (len && endpoint[len - 1] == '/')
			len--;
		url = malloc(len + plen + 1);
		if (url) {
			memcpy(url, endpoint, len);
			memcpy(url + len, TRACES_PATH, plen + 1);
		}
	}
	if (!url)
		*ret_err = -ENOMEM;
	return url;
}

static bool header_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s == ':' || (unsigned char)*s <= 0x20 || *s == 0x7F)
			return false;
	return true;
}

static bool header_value_ok(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

/* NULL stays NULL; *ok goes false when a copy fails. */
static char *dup_opt(const char *s, bool *ok)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

static struct otlp_resource *resource_copy(const struct otlp_resource *res)
{
	struct otlp_resource *r = malloc(sizeof(*r));

	if (!r)
		return NULL;
	if (res)
		memcpy(r, res, sizeof(*r));
	else
		otlp_resource_init(r);
	return r;
}

static int copy_headers(struct export_config *c, char *const *lines, size_t n)
{
	c->header_lines = calloc(n ? n : 1, sizeof(char *));
	if (!c->header_lines)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		c->header_lines[i] = strdup(lines[i]);
		if (!c->header_lines[i])
			return -ENOMEM;
		c->n_headers = i + 1;
	}
	return 0;
}

int export_config_new(const struct otlp_exporter_config *pub, const struct otlp_resource *res,
		      struct export_config **ret_config)
{
	struct export_config *c;
	bool ok = true;
	int err;

	for (size_t i = 0; i < pub->n_headers; i++)
		if (!header_name_ok(pub->headers[i].name) || !header_value_ok(pub->headers[i].value))
			return -EINVAL;
	if (pub->protocol != OTLP_PROTOCOL_HTTP_PROTOBUF && pub->protocol != OTLP_PROTOCOL_HTTP_JSON)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->refs = 1;
	c->url = export_config_traces_url(pub->endpoint, pub->endpoint_is_traces_url, &err);
	if (!c->url)
		goto fail;
	err = -ENOMEM;
	c->header_lines = calloc(pub->n_headers ? pub->n_headers : 1, sizeof(char *));
	if (!c->header_lines)
		goto fail;
	for (size_t i = 0; i < pub->n_headers; i++) {
		if (asprintf(&c->header_lines[i], "%s: %s", pub->headers[i].name,
			     pub->headers[i].value) < 0) {
			c->header_lines[i] = NULL;
			goto fail;
		}
		c->n_headers = i + 1;
	}
	c->protocol = pub->protocol;
	c->gzip = pub->gzip;
	c->timeout_ms = pub->timeout_ms ? pub->timeout_ms : 10000;
	c->ca_file = dup_opt(pub->ca_file, &ok);
	c->cert_file = dup_opt(pub->cert_file, &ok);
	c->key_file = dup_opt(pub->key_file, &ok);
	c->insecure_skip_verify = pub->insecure_skip_verify;
	c->resource = resource_copy(res);
	if (!ok || !c->resource)
		goto fail;
	*ret_config = c;
	return 0;
fail:
	export_config_unref(c);
	return err;
}

int export_config_with_resource(const struct export_config *c, const struct otlp_resource *res,
				struct export_config **ret_config)
{
	struct export_config *n = calloc(1, sizeof(*n));
	bool ok = true;

	if (!n)
		return -ENOMEM;
	n->refs = 1;
	n->protocol = c->protocol;
	n->gzip = c->gzip;
	n->timeout_ms = c->timeout_ms;
	n->insecure_skip_verify = c->insecure_skip_verify;
	n->url = dup_opt(c->url, &ok);
	n->ca_file = dup_opt(c->ca_file, &ok);
	n->cert_file = dup_opt(c->cert_file, &ok);
	n->key_file = dup_opt(c->key_file, &ok);
	n->resource = resource_copy(res);
	if (!ok || !n->resource || copy_headers(n, c->header_lines, c->n_headers) < 0) {
		export_config_unref(n);
		return -ENOMEM;
	}
	*ret_config = n;
	return 0;
}

struct export_config *export_config_ref(struct export_config *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

struct export_config *export_config_unref(struct export_config *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return NULL;
	free(c->url);
	for (size_t i = 0; i < c->n_headers; i++)
		free(c->header_lines[i]);
	free(c->header_lines);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->resource);
	free(c);
	return NULL;
}
