#include "lib/instrumentation/spec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/instrumentation/naming.h"
#include "lib/text/errbuf.h"

#define MAX_ENDPOINT_LEN   2048
#define MAX_IMAGE_LEN	   1024
#define MAX_EXECUTABLE_LEN 4096
#define MAX_ATTR_KEY_LEN   255
#define MAX_ATTR_VALUE_LEN 1024
#define MAX_TIMEOUT_MS	   (3600LL * 1000)

static const char *const sampler_types[] = {
	"always_on",		   "always_off",	     "traceidratio",
	"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
};
static const char *const propagator_names[] = {
	"tracecontext", "baggage", "b3", "b3multi", "jaeger", "none",
};
static const char *const protocols[] = { "http/protobuf", "http/json" };
const char *const instrumentation_probe_names[] = {
	"httpServer", "httpClient", "grpcServer", "grpcClient", "databaseSql", NULL,
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return 1;
	return 0;
}

/* Printable ASCII without spaces: what may go into an env var or a URL unquoted. */
static int is_plain_token(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (*s <= ' ' || *s == 0x7f || n >= max)
			return 0;
	return n > 0;
}

int instrumentation_sampler_takes_ratio(const char *type)
{
	return type && (strcmp(type, "traceidratio") == 0 ||
			strcmp(type, "parentbased_traceidratio") == 0);
}

/* Borrowed member of obj that must be absent or of the given type. */
static int member(const json_t *obj, const char *key, json_type type, const json_t **ret,
		  const char *where, char *err, size_t err_size)
{
	const json_t *v = json_object_get(obj, key);

	if (v && json_typeof(v) != type)
		return errbuf_fail(err, err_size, -EINVAL, "%s.%s: wrong type", where, key);
	*ret = v;
	return 0;
}

/* "500ms", "10s", "2m" → milliseconds. */
static int parse_duration_ms(const char *s, long long *ret_ms)
{
	long long v = 0, unit;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > MAX_TIMEOUT_MS)
			return -ERANGE;
	}
	if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "m") == 0)
		unit = 60000;
	else
		return -EINVAL;
	if (v * unit > MAX_TIMEOUT_MS)
		return -ERANGE;
	*ret_ms = v * unit;
	return 0;
}

/* One header of the CRD's list: a name and either a value or a Secret key. */
static int check_header_item(const json_t *h, size_t i, char *err, size_t err_size)
{
	const json_t *name = json_object_get(h, "name"), *value = json_object_get(h, "value");
	const json_t *from = json_object_get(h, "valueFrom");
	const json_t *ref = json_object_get(from, "secretKeyRef");

	if (!json_is_object(h) || !json_is_string(name) ||
	    !is_plain_token(json_string_value(name), 256))
		return errbuf_fail(err, err_size, -EINVAL,
				 "spec.exporter.headers[%zu].name: want a header name without "
				 "spaces",
				 i);
	if (!!value == !!from)
		return errbuf_fail(err, err_size, -EINVAL,
				 "spec.exporter.headers[%zu]: set exactly one of value and "
				 "valueFrom",
				 i);
	if (value && (!json_is_string(value) || json_string_length(value) > 4096 ||
		      strlen(json_string_value(value)) != json_string_length(value)))
		return errbuf_fail(err, err_size, -EINVAL,
				 "spec.exporter.headers[%zu].value: want a string up to 4096 "
				 "bytes",
				 i);
	if (from && (!json_is_object(ref) ||
		     !json_is_string(json_object_get(ref, "name")) ||
		     !k8s_is_dns1123_subdomain(json_string_value(json_object_get(ref, "name"))) ||
		     !json_is_string(json_object_get(ref, "key")) ||
		     !is_plain_token(json_string_value(json_object_get(ref, "key")), 253)))
		return errbuf_fail(err, err_size, -EINVAL,
				 "spec.exporter.headers[%zu].valueFrom.secretKeyRef: want the "
				 "name and key of a Secret",
				 i);
	return 0;
}

static int parse_headers(const json_t *headers, struct instrumentation_spec *s, char *err,
			 size_t err_size)
{
	const char *key;
	json_t *v;

	if (json_is_array(headers)) {
		if (json_array_size(headers) > INSTRUMENTATION_MAX_HEADERS)
			return errbuf_fail(err, err_size, -EINVAL, "spec.exporter.headers: more than %d",
					 INSTRUMENTATION_MAX_HEADERS);
		for (size_t i = 0; i < json_array_size(headers); i++) {
			if (check_header_item(json_array_get(headers, i), i, err, err_size) < 0)
				return -EINVAL;
			for (size_t j = 0; j < i; j++)
				if (strcasecmp(json_string_value(json_object_get(
						       json_array_get(headers, i), "name")),
					       json_string_value(json_object_get(
						       json_array_get(headers, j), "name"))) == 0)
					return errbuf_fail(err, err_size, -EINVAL,
							 "spec.exporter.headers[%zu].name: "
							 "listed twice",
							 i);
		}
		s->headers = headers;
		return 0;
	}
	if (!json_is_object(headers))
		return errbuf_fail(err, err_size, -EINVAL, "spec.exporter.headers: want a list");
	if (json_object_size(headers) > INSTRUMENTATION_MAX_HEADERS)
		return errbuf_fail(err, err_size, -EINVAL, "spec.exporter.headers: more than %d",
				 INSTRUMENTATION_MAX_HEADERS);
	json_object_foreach((json_t *)headers, key, v) {
		if (!json_is_string(v) || !is_plain_token(key, 256))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.exporter.headers: \"%.64s\" wants a string "
					 "value and a name without spaces",
					 key);
	}
	s->headers = headers;
	return 0;
}

static int parse_tls(const json_t *tls, struct instrumentation_spec *s, char *err,
		     size_t err_size)
{
	const json_t *secret = json_object_get(tls, "secretName");
	const json_t *skip = json_object_get(tls, "insecureSkipVerify");

	if (secret && (!json_is_string(secret) || !k8s_is_dns1123_subdomain(json_string_value(secret))))
		return errbuf_fail(err, err_size, -EINVAL,
				 "spec.exporter.tls.secretName: want the name of a Secret");
	if (skip && !json_is_boolean(skip))
		return errbuf_fail(err, err_size, -EINVAL,
				 "spec.exporter.tls.insecureSkipVerify: want true or false");
	s->tls_secret_name = json_string_value(secret);
	s->tls_insecure_skip_verify = json_is_true(skip);
	return 0;
}

static int parse_exporter(const json_t *exp, struct instrumentation_spec *s, char *err,
			  size_t err_size)
{
	const json_t *endpoint = NULL, *protocol = NULL, *timeout = NULL, *tls = NULL;
	const json_t *headers = json_object_get(exp, "headers");

	if (member(exp, "endpoint", JSON_STRING, &endpoint, "spec.exporter", err, err_size) ||
	    member(exp, "protocol", JSON_STRING, &protocol, "spec.exporter", err, err_size) ||
	    member(exp, "timeout", JSON_STRING, &timeout, "spec.exporter", err, err_size) ||
	    member(exp, "tls", JSON_OBJECT, &tls, "spec.exporter", err, err_size))
		return -EINVAL;
	if (tls && parse_tls(tls, s, err, err_size) < 0)
		return -EINVAL;
	if (endpoint) {
		s->endpoint = json_string_value(endpoint);
		if ((strncmp(s->endpoint, "http://", 7) != 0 &&
		     strncmp(s->endpoint, "https://", 8) != 0) ||
		    !is_plain_token(s->endpoint, MAX_ENDPOINT_LEN))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.exporter.endpoint: want an http:// or https:// URL "
					 "without spaces, up to %d characters",
					 MAX_ENDPOINT_LEN);
	}
	if (protocol) {
		s->protocol = json_string_value(protocol);
		if (!one_of(s->protocol, protocols, ARRAY_SIZE(protocols)))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.exporter.protocol: \"%.64s\" is not one of "
					 "http/protobuf, http/json",
					 s->protocol);
	}
	if (headers && parse_headers(headers, s, err, err_size) < 0)
		return -EINVAL;
	if (timeout && parse_duration_ms(json_string_value(timeout), &s->timeout_ms) < 0)
		return errbuf_fail(err, err_size, -EINVAL,
				 "spec.exporter.timeout: \"%.32s\" is not a duration like 500ms, "
				 "10s or 1m, up to 1h",
				 json_string_value(timeout));
	return 0;
}

static int parse_sampler(const json_t *smp, struct instrumentation_spec *s, char *err,
			 size_t err_size)
{
	const json_t *type = NULL, *ratio = json_object_get(smp, "ratio");

	if (member(smp, "type", JSON_STRING, &type, "spec.sampler", err, err_size))
		return -EINVAL;
	if (type) {
		s->sampler_type = json_string_value(type);
		if (!one_of(s->sampler_type, sampler_types, ARRAY_SIZE(sampler_types)))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.sampler.type: \"%.64s\" is not one of always_on, "
					 "always_off, traceidratio, parentbased_always_on, "
					 "parentbased_always_off, parentbased_traceidratio",
					 s->sampler_type);
	}
	if (ratio) {
		if (!json_is_number(ratio) || json_number_value(ratio) < 0 ||
		    json_number_value(ratio) > 1)
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.sampler.ratio: want a number from 0 to 1");
		s->sampler_ratio = json_number_value(ratio);
	}
	return 0;
}

static int parse_propagators(const json_t *props, struct instrumentation_spec *s, char *err,
			     size_t err_size)
{
	if (json_array_size(props) > INSTRUMENTATION_MAX_PROPAGATORS)
		return errbuf_fail(err, err_size, -EINVAL, "spec.propagators: more than %d",
				 INSTRUMENTATION_MAX_PROPAGATORS);
	for (size_t i = 0; i < json_array_size(props); i++) {
		const char *p = json_string_value(json_array_get(props, i));

		if (!p || !one_of(p, propagator_names, ARRAY_SIZE(propagator_names)))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.propagators[%zu]: not one of tracecontext, baggage, "
					 "b3, b3multi, jaeger, none",
					 i);
		for (size_t j = 0; j < s->n_propagators; j++)
			if (strcmp(s->propagators[j], p) == 0)
				return errbuf_fail(err, err_size, -EINVAL,
						 "spec.propagators: \"%s\" twice", p);
		s->propagators[s->n_propagators++] = p;
	}
	for (size_t i = 0; i < s->n_propagators; i++)
		if (strcmp(s->propagators[i], "none") == 0 && s->n_propagators > 1)
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.propagators: \"none\" cannot be listed with others");
	return 0;
}

/* Attribute keys as OTel writes them: letters, digits, '.', '_', '-', '/'. */
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

static int parse_resource_attributes(const json_t *attrs, struct instrumentation_spec *s,
				     char *err, size_t err_size)
{
	const char *key;
	json_t *v;

	if (json_object_size(attrs) > INSTRUMENTATION_MAX_RESOURCE_ATTRS)
		return errbuf_fail(err, err_size, -EINVAL, "spec.resourceAttributes: more than %d",
				 INSTRUMENTATION_MAX_RESOURCE_ATTRS);
	json_object_foreach((json_t *)attrs, key, v) {
		if (!is_attribute_key(key))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.resourceAttributes: key \"%.64s\" wants letters, "
					 "digits, '.', '_', '-' or '/'",
					 key);
		if (!json_is_string(v) || json_string_length(v) > MAX_ATTR_VALUE_LEN ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.resourceAttributes.%.64s: want a string up to %d "
					 "characters",
					 key, MAX_ATTR_VALUE_LEN);
	}
	s->resource_attributes = attrs;
	return 0;
}

static int parse_targets(const json_t *tgt, struct instrumentation_spec *s, char *err,
			 size_t err_size)
{
	const json_t *names = NULL, *exe = NULL;

	if (member(tgt, "containerNames", JSON_ARRAY, &names, "spec.targets", err, err_size) ||
	    member(tgt, "executable", JSON_STRING, &exe, "spec.targets", err, err_size))
		return -EINVAL;
	if (json_array_size(names) > INSTRUMENTATION_MAX_CONTAINERS)
		return errbuf_fail(err, err_size, -EINVAL, "spec.targets.containerNames: more than %d",
				 INSTRUMENTATION_MAX_CONTAINERS);
	for (size_t i = 0; i < json_array_size(names); i++) {
		const char *n = json_string_value(json_array_get(names, i));

		if (!n || !k8s_is_dns1123_label(n))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.targets.containerNames[%zu]: not a container name",
					 i);
		s->container_names[s->n_container_names++] = n;
	}
	if (exe) {
		s->executable = json_string_value(exe);
		if (s->executable[0] != '/' || !is_plain_token(s->executable, MAX_EXECUTABLE_LEN))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.targets.executable: want an absolute path without "
					 "spaces");
	}
	return 0;
}

/* A Kubernetes quantity ("100m", "64Mi", "1.5", "2e3") as a number; -EINVAL otherwise. */
static int parse_quantity(const json_t *v, double *ret)
{
	static const struct {
		const char *suffix;
		double factor;
	} suffixes[] = {
		{ "", 1 },	 { "m", 1e-3 },	      { "k", 1e3 },	   { "M", 1e6 },
		{ "G", 1e9 },	 { "T", 1e12 },	      { "P", 1e15 },	   { "E", 1e18 },
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 },
	};
	const char *s = json_string_value(v), *p;
	double value = 0, scale = 1;
	int digits = 0, dot = 0;

	if (json_is_integer(v) || json_is_real(v)) {
		*ret = json_number_value(v);
		return *ret >= 0 ? 0 : -EINVAL;
	}
	if (!s || strlen(s) > 32)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			digits++;
			if (dot)
				scale /= 10;
			value = value * 10 + (*p - '0');
		} else if (*p == '.' && !dot) {
			dot = 1;
		} else {
			break;
		}
	}
	if (!digits)
		return -EINVAL;
	value *= scale;
	if ((p[0] == 'e' || p[0] == 'E') && p[1] >= '0' && p[1] <= '9' && !p[2]) {
		for (int e = p[1] - '0'; e > 0; e--)
			value *= 10;
		*ret = value;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (strcmp(p, suffixes[i].suffix) == 0) {
			*ret = value * suffixes[i].factor;
			return 0;
		}
	return -EINVAL;
}

/* A ResourceRequirements the API server will accept: "limits" and "requests" maps of
 * quantities, and no request above its limit. A bad one would get every injected pod
 * refused, so it is caught here. */
static int check_resources(const json_t *res, char *err, size_t err_size)
{
	const json_t *limits = json_object_get(res, "limits");
	const json_t *requests = json_object_get(res, "requests");
	const char *key;
	json_t *v;
	double q, lim;

	json_object_foreach((json_t *)res, key, v) {
		if ((strcmp(key, "limits") != 0 && strcmp(key, "requests") != 0) ||
		    !json_is_object(v))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.agent.resources: only \"limits\" and \"requests\" "
					 "maps, not \"%.32s\"",
					 key);
	}
	for (int pass = 0; pass < 2; pass++) {
		const json_t *map = pass ? requests : limits;

		json_object_foreach((json_t *)map, key, v) {
			if (parse_quantity(v, &q) < 0 || !is_plain_token(key, 253))
				return errbuf_fail(err, err_size, -EINVAL,
						 "spec.agent.resources.%s.%.32s: not a quantity",
						 pass ? "requests" : "limits", key);
			if (pass && json_object_get(limits, key) &&
			    parse_quantity(json_object_get(limits, key), &lim) == 0 && q > lim)
				return errbuf_fail(err, err_size, -EINVAL,
						 "spec.agent.resources.requests.%.32s: above its "
						 "limit",
						 key);
		}
	}
	return 0;
}

static int parse_agent(const json_t *agent, struct instrumentation_spec *s, char *err,
		       size_t err_size)
{
	const json_t *image = NULL, *resources = NULL, *mode = NULL;

	if (member(agent, "image", JSON_STRING, &image, "spec.agent", err, err_size) ||
	    member(agent, "resources", JSON_OBJECT, &resources, "spec.agent", err, err_size) ||
	    member(agent, "mode", JSON_STRING, &mode, "spec.agent", err, err_size))
		return -EINVAL;
	if (image) {
		s->agent_image = json_string_value(image);
		if (!is_plain_token(s->agent_image, MAX_IMAGE_LEN))
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.agent.image: want an image reference without spaces");
	}
	if (resources && check_resources(resources, err, err_size) < 0)
		return -EINVAL;
	s->agent_resources = resources;
	if (mode) {
		if (strcmp(json_string_value(mode), "sidecar") == 0)
			s->mode = AGENT_MODE_SIDECAR;
		else if (strcmp(json_string_value(mode), "node") == 0)
			s->mode = AGENT_MODE_NODE;
		else
			return errbuf_fail(err, err_size, -EINVAL,
					 "spec.agent.mode: \"%.32s\" is not sidecar or node",
					 json_string_value(mode));
	}
	return 0;
}

int instrumentation_spec_parse(json_t *cr, struct instrumentation_spec *ret, char *err,
			       size_t err_size)
{
	struct instrumentation_spec s = { .timeout_ms = -1, .sampler_ratio = -1 };
	const json_t *meta = NULL, *spec = NULL, *part = NULL;
	int r;

	if (!json_is_object(cr))
		return errbuf_fail(err, err_size, -EINVAL, "an Instrumentation is a JSON object");
	meta = json_object_get(cr, "metadata");
	s.ns = json_string_value(json_object_get(meta, "namespace"));
	s.name = json_string_value(json_object_get(meta, "name"));
	if (!s.ns || !s.name || !k8s_is_dns1123_label(s.ns) || !k8s_is_dns1123_subdomain(s.name))
		return errbuf_fail(err, err_size, -EINVAL, "metadata: want a namespace and a name");
	spec = json_object_get(cr, "spec");
	if (spec && !json_is_object(spec))
		return errbuf_fail(err, err_size, -EINVAL, "spec: want an object");

	if ((r = member(spec, "exporter", JSON_OBJECT, &part, "spec", err, err_size)) < 0 ||
	    (part && (r = parse_exporter(part, &s, err, err_size)) < 0))
		return r;
	if ((r = member(spec, "sampler", JSON_OBJECT, &part, "spec", err, err_size)) < 0 ||
	    (part && (r = parse_sampler(part, &s, err, err_size)) < 0))
		return r;
	if ((r = member(spec, "propagators", JSON_ARRAY, &part, "spec", err, err_size)) < 0 ||
	    (part && (r = parse_propagators(part, &s, err, err_size)) < 0))
		return r;
	if ((r = member(spec, "resourceAttributes", JSON_OBJECT, &part, "spec", err, err_size)) <
		    0 ||
	    (part && (r = parse_resource_attributes(part, &s, err, err_size)) < 0))
		return r;
	if ((r = member(spec, "targets", JSON_OBJECT, &part, "spec", err, err_size)) < 0 ||
	    (part && (r = parse_targets(part, &s, err, err_size)) < 0))
		return r;
	if ((r = member(spec, "probes", JSON_OBJECT, &part, "spec", err, err_size)) < 0 ||
	    (r = instrumentation_probes_parse(part, INSTRUMENTATION_PROBES_STRICT, "spec.probes",
					      &s.probes, err, err_size)) < 0)
		return r;
	if ((r = member(spec, "agent", JSON_OBJECT, &part, "spec", err, err_size)) < 0 ||
	    (part && (r = parse_agent(part, &s, err, err_size)) < 0))
		return r;

	s.cr = json_incref(cr);
	*ret = s;
	return 0;
}

void instrumentation_spec_clear(struct instrumentation_spec *spec)
{
	if (!spec)
		return;
	json_decref(spec->cr);
	memset(spec, 0, sizeof(*spec));
	spec->timeout_ms = -1;
	spec->sampler_ratio = -1;
}
