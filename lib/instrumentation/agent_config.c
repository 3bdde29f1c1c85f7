#include "lib/instrumentation/agent_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "lib/instrumentation/naming.h"
#include "lib/text/errbuf.h"

#define MAX_ENDPOINT_LEN     2048
#define MAX_HEADER_NAME_LEN  256
#define MAX_HEADER_VALUE_LEN 4096
#define MAX_CA_PEM_LEN	     (64 * 1024)
#define MAX_ATTR_KEY_LEN     255
#define MAX_ATTR_VALUE_LEN   1024
#define MAX_EXECUTABLE_LEN   4096
#define MAX_TIMEOUT_MS	     (3600LL * 1000)
/* Printed reals: 15 significant digits read back to the same double for every ratio a
 * user writes (0.1 prints as 0.1, not 0.10000000000000001). */
#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

static const char *const sampler_types[] = {
	"always_on",		   "always_off",	     "traceidratio",
	"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio", NULL,
};
static const char *const propagator_names[] = {
	"tracecontext", "baggage", "b3", "b3multi", "jaeger", "none", NULL,
};

static int in_set(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

/* Printable ASCII without spaces, 1..max bytes. */
static int is_plain_token(const char *s, size_t max)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; *s; s++, n++)
		if (*s <= ' ' || *s == 0x7f || n >= max)
			return 0;
	return n > 0;
}

/* A header value may hold any byte a header line can: no CR, LF or NUL. */
static int is_header_name(const char *s)
{
	return is_plain_token(s, MAX_HEADER_NAME_LEN) && !strchr(s, ':');
}

static int is_header_value(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	return s && n <= MAX_HEADER_VALUE_LEN && strlen(s) == n && !strpbrk(s, "\r\n");
}

static int is_endpoint(const char *s)
{
	return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
	       is_plain_token(s, MAX_ENDPOINT_LEN);
}

static int is_attribute_key(const char *k)
{
	size_t n = 0;

	for (; *k; k++, n++) {
		char c = *k;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '/'))
			return 0;
	}
	return n > 0 && n <= MAX_ATTR_KEY_LEN;
}

static int is_bounded_string(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) <= max &&
	       strlen(json_string_value(v)) == json_string_length(v);
}

/* ---- rendering ------------------------------------------------------------------ */

static int lookup_secret(const struct agent_config_render_opts *opts, const char *secret,
			 const char *key, char **ret_value)
{
	if (!opts || !opts->secret_value)
		return -ENOENT;
	return opts->secret_value(opts->ud, secret, key, ret_value);
}

static const char *lookup_error(int rc)
{
	return rc == -ENOENT ? "not found" : strerror(-rc);
}

/* The exporter's headers as an object name → value, Secret references resolved. */
static int render_headers(const struct instrumentation_spec *spec,
			  const struct agent_config_render_opts *opts, json_t *out, char *err,
			  size_t err_size)
{
	const char *key;
	json_t *v;

	if (json_is_object(spec->headers)) {
		json_object_foreach((json_t *)spec->headers, key, v) {
			if (!is_header_name(key) || !is_header_value(v))
				return errbuf_fail(err, err_size, -EINVAL,
						 "spec.exporter.headers.%.64s: a name with ':' or a "
						 "value with a line break or too long",
						 key);
			if (json_object_set_new(out, key, json_copy(v)) < 0)
				return -ENOMEM;
		}
		return 0;
	}
	for (size_t i = 0; i < json_array_size(spec->headers); i++) {
		const json_t *h = json_array_get(spec->headers, i);
		const char *name = json_string_value(json_object_get(h, "name"));
		const json_t *ref =
			json_object_get(json_object_get(h, "valueFrom"), "secretKeyRef");
		json_t *value = json_copy(json_object_get(h, "value"));

		if (!value && ref) {
			const char *sn = json_string_value(json_object_get(ref, "name"));
			const char *sk = json_string_value(json_object_get(ref, "key"));
			char *s = NULL;
			int rc = lookup_secret(opts, sn, sk, &s);

			if (rc < 0)
				return errbuf_fail(err, err_size, rc,
						 "spec.exporter.headers[%zu] (%.64s): Secret %.64s "
						 "key %.64s: %s",
						 i, name, sn, sk, lookup_error(rc));
			value = json_string(s);
			free(s);
			if (!value)
				return errbuf_fail(err, err_size, -EINVAL,
						 "spec.exporter.headers[%zu] (%.64s): Secret %.64s "
						 "key %.64s is not UTF-8 text",
						 i, name, sn, sk);
		}
		if (!value)
			return -ENOMEM;
		if (!is_header_name(name) || !is_header_value(value)) {
			json_decref(value);
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.exporter.headers[%zu] (%.64s): a name with ':' or "
					 "a value with a line break or over %d bytes",
					 i, name, MAX_HEADER_VALUE_LEN);
		}
		if (json_object_set_new(out, name, value) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int render_tls(const struct instrumentation_spec *spec,
		      const struct agent_config_render_opts *opts, json_t *out, char *err,
		      size_t err_size)
{
	char *ca = NULL;
	int rc;

	if (json_object_set_new(out, "insecureSkipVerify",
				json_boolean(spec->tls_insecure_skip_verify)) < 0)
		return -ENOMEM;
	if (!spec->tls_secret_name)
		return 0;
	rc = lookup_secret(opts, spec->tls_secret_name, "ca.crt", &ca);
	if (rc < 0)
		return errbuf_fail(err, err_size, rc,
				 "spec.exporter.tls.secretName: Secret %.64s key ca.crt: %s",
				 spec->tls_secret_name, lookup_error(rc));
	if (strlen(ca) > MAX_CA_PEM_LEN || !strstr(ca, "-----BEGIN CERTIFICATE-----")) {
		free(ca);
		return errbuf_fail(err, err_size, -EINVAL,
				 "spec.exporter.tls.secretName: Secret %.64s key ca.crt: not a "
				 "PEM certificate up to 64 KiB",
				 spec->tls_secret_name);
	}
	rc = json_object_set_new(out, "caPem", json_string(ca)) < 0 ? -EINVAL : 0;
	free(ca);
	if (rc < 0)
		return errbuf_fail(err, err_size, rc,
				 "spec.exporter.tls.secretName: ca.crt is not UTF-8 text");
	return 0;
}

static json_t *string_array(const char *const *items, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(items[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The content without its revision: a new reference. */
static int render_content(const struct instrumentation_spec *spec,
			  const struct agent_config_render_opts *opts, json_t **ret_root,
			  char *err, size_t err_size)
{
	static const char *const default_propagators[] = { "tracecontext", "baggage" };
	json_t *root = NULL, *exp = NULL, *headers = NULL, *tls = NULL, *targets = NULL;
	char id[K8S_LABEL_MAX + K8S_SUBDOMAIN_MAX + 2];
	int rc = -ENOMEM;

	snprintf(id, sizeof(id), "%s/%s", spec->ns, spec->name);
	headers = json_object();
	tls = json_object();
	if (!headers || !tls)
		goto fail;
	if ((rc = render_headers(spec, opts, headers, err, err_size)) < 0 ||
	    (rc = render_tls(spec, opts, tls, err, err_size)) < 0)
		goto fail;
	rc = -ENOMEM;
	exp = json_pack("{s:s, s:s, s:O, s:I, s:O}", "endpoint",
			spec->endpoint ? spec->endpoint : AGENT_CONFIG_DEFAULT_ENDPOINT, "protocol",
			spec->protocol ? spec->protocol : AGENT_CONFIG_DEFAULT_PROTOCOL, "headers",
			headers, "timeoutMs",
			(json_int_t)(spec->timeout_ms >= 0 ? spec->timeout_ms
							   : AGENT_CONFIG_DEFAULT_TIMEOUT_MS),
			"tls", tls);
	targets = json_pack("{s:o}", "containerNames",
			    string_array(spec->container_names, spec->n_container_names));
	if (!exp || !targets)
		goto fail;
	if (spec->executable &&
	    json_object_set_new(targets, "executable", json_string(spec->executable)) < 0)
		goto fail;
	root = json_pack(
		"{s:s, s:O, s:{s:s, s:f}, s:o, s:o, s:O, s:o}", "instrumentation", id, "exporter",
		exp, "sampler", "type",
		spec->sampler_type ? spec->sampler_type : AGENT_CONFIG_DEFAULT_SAMPLER, "ratio",
		spec->sampler_ratio >= 0 ? spec->sampler_ratio : 1.0, "propagators",
		spec->n_propagators ? string_array(spec->propagators, spec->n_propagators)
				    : string_array(default_propagators, 2),
		"resourceAttributes",
		spec->resource_attributes ? json_deep_copy(spec->resource_attributes)
					  : json_object(),
		"targets", targets, "probes", instrumentation_probes_render(&spec->probes));
	if (!root)
		goto fail;
	*ret_root = root;
	rc = 0;
fail:
	json_decref(headers);
	json_decref(tls);
	json_decref(exp);
	json_decref(targets);
	return rc;
}

static int content_revision(const char *content, char ret[AGENT_CONFIG_REVISION_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (EVP_Digest(content, strlen(content), md, &md_len, EVP_sha256(), NULL) != 1)
		return -EIO;
	for (int i = 0; i < AGENT_CONFIG_REVISION_LEN / 2; i++)
		snprintf(ret + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int agent_config_render(const struct instrumentation_spec *spec,
			const struct agent_config_render_opts *opts, char **ret_json,
			char ret_revision[AGENT_CONFIG_REVISION_LEN + 1], char *err,
			size_t err_size)
{
	json_t *root = NULL;
	char *content = NULL, *out = NULL, rev[AGENT_CONFIG_REVISION_LEN + 1];
	int rc;

	if (!spec || !spec->ns || !spec->name)
		return -EINVAL;
	if ((rc = render_content(spec, opts, &root, err, err_size)) < 0)
		return rc;
	rc = -ENOMEM;
	content = json_dumps(root, DUMP_FLAGS);
	if (!content)
		goto cleanup;
	if ((rc = content_revision(content, rev)) < 0)
		goto cleanup;
	rc = -ENOMEM;
	if (json_object_set_new(root, "revision", json_string(rev)) < 0)
		goto cleanup;
	out = json_dumps(root, DUMP_FLAGS);
	if (!out)
		goto cleanup;
	*ret_json = out;
	memcpy(ret_revision, rev, sizeof(rev));
	rc = 0;
cleanup:
	free(content);
	json_decref(root);
	return rc;
}

/* ---- parsing -------------------------------------------------------------------- */

#define BAD(...) errbuf_fail(err, err_size, -EINVAL, __VA_ARGS__)

static int is_revision(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; *s; s++, n++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return n == AGENT_CONFIG_REVISION_LEN;
}

static int is_instrumentation_id(const char *s)
{
	char ns[K8S_LABEL_MAX + 1];
	const char *slash = s ? strchr(s, '/') : NULL;

	if (!slash || (size_t)(slash - s) > K8S_LABEL_MAX)
		return 0;
	memcpy(ns, s, (size_t)(slash - s));
	ns[slash - s] = '\0';
	return k8s_is_dns1123_label(ns) && k8s_is_dns1123_subdomain(slash + 1);
}

/* Member `key` of obj: absent (NULL) or of `type`. */
static int get(const json_t *obj, const char *key, json_type type, const json_t **ret,
	       const char *where, char *err, size_t err_size)
{
	const json_t *v = json_object_get(obj, key);

	if (v && json_typeof(v) != type)
		return BAD("%s%s: wrong type", where, key);
	*ret = v;
	return 0;
}

static int parse_exporter(const json_t *exp, struct agent_config *c, char *err,
			  size_t err_size)
{
	const json_t *endpoint = NULL, *protocol = NULL, *headers = NULL, *timeout = NULL;
	const json_t *tls = NULL, *skip, *ca;
	const char *key, *p;
	json_t *v;

	if (get(exp, "endpoint", JSON_STRING, &endpoint, "exporter.", err, err_size) ||
	    get(exp, "protocol", JSON_STRING, &protocol, "exporter.", err, err_size) ||
	    get(exp, "headers", JSON_OBJECT, &headers, "exporter.", err, err_size) ||
	    get(exp, "timeoutMs", JSON_INTEGER, &timeout, "exporter.", err, err_size) ||
	    get(exp, "tls", JSON_OBJECT, &tls, "exporter.", err, err_size))
		return -EINVAL;
	if (!endpoint || !is_endpoint(json_string_value(endpoint)))
		return BAD("exporter.endpoint: want an http:// or https:// URL without spaces, up "
			   "to %d characters",
			   MAX_ENDPOINT_LEN);
	c->endpoint = json_string_value(endpoint);
	p = protocol ? json_string_value(protocol) : AGENT_CONFIG_DEFAULT_PROTOCOL;
	if (strcmp(p, "http/protobuf") == 0)
		c->protocol = AGENT_PROTOCOL_PROTOBUF;
	else if (strcmp(p, "http/json") == 0)
		c->protocol = AGENT_PROTOCOL_JSON;
	else
		return BAD("exporter.protocol: \"%.32s\" is not http/protobuf or http/json", p);
	if (json_object_size(headers) > INSTRUMENTATION_MAX_HEADERS)
		return BAD("exporter.headers: more than %d", INSTRUMENTATION_MAX_HEADERS);
	json_object_foreach((json_t *)headers, key, v) {
		if (!is_header_name(key))
			return BAD("exporter.headers: \"%.64s\" is not a header name", key);
		if (!is_header_value(v))
			return BAD("exporter.headers.%.64s: want a string up to %d bytes without "
				   "line breaks",
				   key, MAX_HEADER_VALUE_LEN);
	}
	c->headers = headers;
	c->timeout_ms = AGENT_CONFIG_DEFAULT_TIMEOUT_MS;
	if (timeout) {
		c->timeout_ms = json_integer_value(timeout);
		if (c->timeout_ms < 0 || c->timeout_ms > MAX_TIMEOUT_MS)
			return BAD("exporter.timeoutMs: want 0 (no limit) to %lld", MAX_TIMEOUT_MS);
	}
	skip = json_object_get(tls, "insecureSkipVerify");
	if (skip && !json_is_boolean(skip))
		return BAD("exporter.tls.insecureSkipVerify: want true or false");
	c->tls_insecure_skip_verify = json_is_true(skip);
	ca = json_object_get(tls, "caPem");
	if (ca) {
		if (!is_bounded_string(ca, MAX_CA_PEM_LEN) ||
		    !strstr(json_string_value(ca), "-----BEGIN CERTIFICATE-----"))
			return BAD("exporter.tls.caPem: want PEM certificates up to %d bytes",
				   MAX_CA_PEM_LEN);
		c->tls_ca_pem = json_string_value(ca);
	}
	return 0;
}

static int parse_sampler(const json_t *smp, struct agent_config *c, char *err,
			 size_t err_size)
{
	const json_t *type = NULL, *ratio = json_object_get(smp, "ratio");

	if (get(smp, "type", JSON_STRING, &type, "sampler.", err, err_size))
		return -EINVAL;
	if (!type || !in_set(json_string_value(type), sampler_types))
		return BAD("sampler.type: want one of always_on, always_off, traceidratio, "
			   "parentbased_always_on, parentbased_always_off, "
			   "parentbased_traceidratio");
	c->sampler_type = json_string_value(type);
	c->sampler_ratio = 1.0;
	if (ratio) {
		if (!json_is_number(ratio) || !(json_number_value(ratio) >= 0) ||
		    json_number_value(ratio) > 1)
			return BAD("sampler.ratio: want a number from 0 to 1");
		c->sampler_ratio = json_number_value(ratio);
	}
	return 0;
}

static int parse_propagators(const json_t *props, struct agent_config *c, char *err,
			     size_t err_size)
{
	if (json_array_size(props) > INSTRUMENTATION_MAX_PROPAGATORS)
		return BAD("propagators: more than %d", INSTRUMENTATION_MAX_PROPAGATORS);
	for (size_t i = 0; i < json_array_size(props); i++) {
		const char *p = json_string_value(json_array_get(props, i));

		if (!in_set(p, propagator_names))
			return BAD("propagators[%zu]: not one of tracecontext, baggage, b3, "
				   "b3multi, jaeger, none",
				   i);
		for (size_t j = 0; j < c->n_propagators; j++)
			if (strcmp(c->propagators[j], p) == 0)
				return BAD("propagators[%zu]: \"%s\" twice", i, p);
		c->propagators[c->n_propagators++] = p;
	}
	return 0;
}

static int parse_attributes(const json_t *attrs, struct agent_config *c, char *err,
			    size_t err_size)
{
	const char *key;
	json_t *v;

	if (json_object_size(attrs) > INSTRUMENTATION_MAX_RESOURCE_ATTRS)
		return BAD("resourceAttributes: more than %d", INSTRUMENTATION_MAX_RESOURCE_ATTRS);
	json_object_foreach((json_t *)attrs, key, v) {
		if (!is_attribute_key(key))
			return BAD("resourceAttributes: key \"%.64s\" wants letters, digits, '.', "
				   "'_', '-' or '/'",
				   key);
		if (!is_bounded_string(v, MAX_ATTR_VALUE_LEN))
			return BAD("resourceAttributes.%.64s: want a string up to %d bytes", key,
				   MAX_ATTR_VALUE_LEN);
	}
	c->resource_attributes = attrs;
	return 0;
}

static int parse_targets(const json_t *tgt, struct agent_config *c, char *err,
			 size_t err_size)
{
	const json_t *names = NULL, *exe = NULL;

	if (get(tgt, "containerNames", JSON_ARRAY, &names, "targets.", err, err_size) ||
	    get(tgt, "executable", JSON_STRING, &exe, "targets.", err, err_size))
		return -EINVAL;
	if (json_array_size(names) > INSTRUMENTATION_MAX_CONTAINERS)
		return BAD("targets.containerNames: more than %d", INSTRUMENTATION_MAX_CONTAINERS);
	for (size_t i = 0; i < json_array_size(names); i++) {
		const char *n = json_string_value(json_array_get(names, i));

		if (!n || !k8s_is_dns1123_label(n))
			return BAD("targets.containerNames[%zu]: not a container name", i);
		c->container_names[c->n_container_names++] = n;
	}
	if (exe) {
		c->executable = json_string_value(exe);
		if (c->executable[0] != '/' || !is_plain_token(c->executable, MAX_EXECUTABLE_LEN))
			return BAD("targets.executable: want an absolute path without spaces");
	}
	return 0;
}

/* Known probes: on unless disabled; absent object: all on. Unknown names are ignored (a
 * newer operator may know more libraries than this agent). */
static int parse_probes(const json_t *probes, struct agent_config *c, char *err,
			size_t err_size)
{
	int r = instrumentation_probes_parse(probes, INSTRUMENTATION_PROBES_LENIENT, "probes",
					     &c->probes, err, err_size);
	const int on[] = { c->probes.http_server, c->probes.http_client, c->probes.grpc_server,
			   c->probes.grpc_client, c->probes.database_sql };

	if (r < 0)
		return r;
	/* instrumentation_probe_names is in the same order. */
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]) && instrumentation_probe_names[i]; i++)
		if (on[i] && c->n_probes_on < AGENT_CONFIG_MAX_PROBES)
			c->probes_on[c->n_probes_on++] = instrumentation_probe_names[i];
	return 0;
}

int agent_config_parse(const char *data, size_t len, struct agent_config *ret, char *err,
		       size_t err_size)
{
	struct agent_config c = { 0 };
	const json_t *rev, *id, *part = NULL;
	json_error_t jerr;
	int rc = -EINVAL;

	if (!data || len > AGENT_CONFIG_MAX_BYTES)
		return BAD("config: larger than %d bytes", AGENT_CONFIG_MAX_BYTES);
	c.root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!c.root)
		return BAD("config: not JSON (line %d: %.80s)", jerr.line, jerr.text);
	if (!json_is_object(c.root)) {
		rc = BAD("config: want a JSON object");
		goto fail;
	}
	rev = json_object_get(c.root, "revision");
	id = json_object_get(c.root, "instrumentation");
	if (!is_revision(json_string_value(rev))) {
		rc = BAD("revision: want %d lowercase hex digits", AGENT_CONFIG_REVISION_LEN);
		goto fail;
	}
	if (!is_instrumentation_id(json_string_value(id))) {
		rc = BAD("instrumentation: want \"<namespace>/<name>\"");
		goto fail;
	}
	c.revision = json_string_value(rev);
	c.instrumentation = json_string_value(id);

	if (get(c.root, "exporter", JSON_OBJECT, &part, "", err, err_size) < 0)
		goto fail;
	if (!part) {
		rc = BAD("exporter: missing");
		goto fail;
	}
	if (parse_exporter(part, &c, err, err_size) < 0)
		goto fail;
	if (get(c.root, "sampler", JSON_OBJECT, &part, "", err, err_size) < 0 ||
	    parse_sampler(part, &c, err, err_size) < 0)
		goto fail;
	if (get(c.root, "propagators", JSON_ARRAY, &part, "", err, err_size) < 0 ||
	    parse_propagators(part, &c, err, err_size) < 0)
		goto fail;
	if (get(c.root, "resourceAttributes", JSON_OBJECT, &part, "", err, err_size) < 0 ||
	    parse_attributes(part, &c, err, err_size) < 0)
		goto fail;
	if (get(c.root, "targets", JSON_OBJECT, &part, "", err, err_size) < 0 ||
	    parse_targets(part, &c, err, err_size) < 0)
		goto fail;
	if (get(c.root, "probes", JSON_OBJECT, &part, "", err, err_size) < 0 ||
	    parse_probes(part, &c, err, err_size) < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	json_decref(c.root);
	return rc;
}

void agent_config_clear(struct agent_config *cfg)
{
	if (!cfg)
		return;
	json_decref(cfg->root);
	memset(cfg, 0, sizeof(*cfg));
}

int agent_config_probe_on(const struct agent_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_probes_on; i++)
		if (strcmp(cfg->probes_on[i], name) == 0)
			return 1;
	return 0;
}
