#include "lib/kube/config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "lib/fs/read_file.h"
#include "lib/text/base64.h"
#include "lib/text/errbuf.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config *kube_config_free(struct kube_config *cfg)
{
	if (!cfg)
		return NULL;
	free(cfg->server);
	free(cfg->ca_file);
	free(cfg->ca_pem);
	free(cfg->client_cert_file);
	free(cfg->client_cert_pem);
	free(cfg->client_key_file);
	/* Key material is wiped before it goes back to the allocator. */
	if (cfg->client_key_pem)
		OPENSSL_cleanse(cfg->client_key_pem, cfg->client_key_pem_len);
	free(cfg->client_key_pem);
	if (cfg->token)
		OPENSSL_cleanse(cfg->token, strlen(cfg->token));
	free(cfg->token);
	free(cfg->token_file);
	free(cfg->namespace);
	free(cfg->context);
	free(cfg);
	return NULL;
}

/* --- a read-only view of a libyaml document ------------------------------------ */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    k->data.scalar.length == strlen(key) &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* A scalar's text, or NULL for a missing key; -EINVAL in *rc for a non-scalar. */
static const char *scalar(yaml_node_t *n, int *rc)
{
	if (!n)
		return NULL;
	if (n->type != YAML_SCALAR_NODE) {
		*rc = -EINVAL;
		return NULL;
	}
	/* libyaml NUL-terminates scalar values. */
	return (const char *)n->data.scalar.value;
}

/* Finds the entry named `name` in a list of {name, <field>} (contexts, clusters,
 * users) and returns its <field> mapping; *ret_index gets its position. */
static yaml_node_t *named_entry(yaml_document_t *doc, yaml_node_t *root, const char *list,
				const char *field, const char *name, int *ret_index)
{
	yaml_node_t *seq = map_get(doc, root, list);

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	int i = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++, i++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *it);
		int rc = 0;
		const char *n = scalar(map_get(doc, entry, "name"), &rc);
		if (n && strcmp(n, name) == 0) {
			*ret_index = i;
			return map_get(doc, entry, field);
		}
	}
	return NULL;
}

/* A path from the kubeconfig, made absolute against its folder. New string. */
static char *resolve_path(const char *base_dir, const char *path)
{
	char *out = NULL;

	if (path[0] == '/' || !base_dir || !base_dir[0])
		return strdup(path);
	if (asprintf(&out, "%s/%s", base_dir, path) < 0)
		return NULL;
	return out;
}

struct field_ctx {
	yaml_document_t *doc;
	const char *base_dir;
	char *errbuf;
	size_t errlen;
	char where[96]; /* the entry being read, e.g. "clusters[2].cluster" */
};

/* Finds entry `name` of a kubeconfig list ("clusters", ...) and its `field` mapping,
 * and points f->where at it; -ENOENT naming the list when there is none. */
static int find_entry(struct field_ctx *f, yaml_node_t *root, const char *list, const char *field,
		      const char *name, yaml_node_t **ret)
{
	int idx = 0;
	yaml_node_t *entry = named_entry(f->doc, root, list, field, name, &idx);

	if (!entry)
		return errbuf_fail(f->errbuf, f->errlen, -ENOENT, "%s: no %s named \"%s\"", list, field, name);
	snprintf(f->where, sizeof(f->where), "%s[%d].%s", list, idx, field);
	*ret = entry;
	return 0;
}

/* Copies string field `key` of `map` into *dst (new string) when present. */
static int take_string(struct field_ctx *f, yaml_node_t *map, const char *key, char **dst,
		       int is_path)
{
	int rc = 0;
	const char *v = scalar(map_get(f->doc, map, key), &rc);

	if (rc < 0)
		return errbuf_fail(f->errbuf, f->errlen, rc, "%s.%s: expected a string", f->where, key);
	if (!v)
		return 0;
	if (!v[0])
		return errbuf_fail(f->errbuf, f->errlen, -EINVAL, "%s.%s: empty", f->where, key);
	*dst = is_path ? resolve_path(f->base_dir, v) : strdup(v);
	return *dst ? 0 : errbuf_fail(f->errbuf, f->errlen, -ENOMEM, "out of memory");
}

static int take_base64(struct field_ctx *f, yaml_node_t *map, const char *key,
		       unsigned char **dst, size_t *dst_len)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int rc = 0;
	const char *v = scalar(map_get(f->doc, map, key), &rc);

	if (rc < 0)
		return errbuf_fail(f->errbuf, f->errlen, rc, "%s.%s: expected a string", f->where, key);
	if (!v)
		return 0;
	if ((rc = base64_decode(v, &data, &len)) == -ENOMEM)
		return errbuf_fail(f->errbuf, f->errlen, rc, "out of memory");
	if (rc < 0 || len == 0) {
		free(data);
		return errbuf_fail(f->errbuf, f->errlen, -EINVAL, "%s.%s: not valid base64", f->where, key);
	}
	*dst = data;
	*dst_len = len;
	return 0;
}

static int parse_cluster(struct field_ctx *f, yaml_node_t *cluster, struct kube_config *cfg)
{
	int rc = 0;
	const char *skip = scalar(map_get(f->doc, cluster, "insecure-skip-tls-verify"), &rc);

	if (skip && strcmp(skip, "true") == 0)
		return errbuf_fail(f->errbuf, f->errlen, -EPERM,
			    "%s.insecure-skip-tls-verify: refused, TLS verification is always on",
			    f->where);
	if ((rc = take_string(f, cluster, "server", &cfg->server, 0)) < 0)
		return rc;
	if (!cfg->server)
		return errbuf_fail(f->errbuf, f->errlen, -EINVAL, "%s.server: missing", f->where);
	if (strncmp(cfg->server, "https://", 8) != 0)
		return errbuf_fail(f->errbuf, f->errlen, -EINVAL, "%s.server: must be an https:// URL, got \"%s\"",
			    f->where, cfg->server);
	size_t n = strlen(cfg->server);
	while (n > 8 && cfg->server[n - 1] == '/')
		cfg->server[--n] = '\0';
	if ((rc = take_string(f, cluster, "certificate-authority", &cfg->ca_file, 1)) < 0)
		return rc;
	return take_base64(f, cluster, "certificate-authority-data", &cfg->ca_pem, &cfg->ca_pem_len);
}

static int parse_user(struct field_ctx *f, yaml_node_t *user, struct kube_config *cfg)
{
	int rc;

	if (map_get(f->doc, user, "exec"))
		return errbuf_fail(f->errbuf, f->errlen, -ENOTSUP,
			    "%s.exec: exec credential plugins are not supported; use a token, token file or client certificate",
			    f->where);
	if (map_get(f->doc, user, "auth-provider"))
		return errbuf_fail(f->errbuf, f->errlen, -ENOTSUP, "%s.auth-provider: not supported", f->where);
	if ((rc = take_string(f, user, "token", &cfg->token, 0)) < 0 ||
	    (rc = take_string(f, user, "tokenFile", &cfg->token_file, 1)) < 0 ||
	    (rc = take_string(f, user, "client-certificate", &cfg->client_cert_file, 1)) < 0 ||
	    (rc = take_string(f, user, "client-key", &cfg->client_key_file, 1)) < 0 ||
	    (rc = take_base64(f, user, "client-certificate-data", &cfg->client_cert_pem,
			      &cfg->client_cert_pem_len)) < 0 ||
	    (rc = take_base64(f, user, "client-key-data", &cfg->client_key_pem,
			      &cfg->client_key_pem_len)) < 0)
		return rc;
	int has_cert = cfg->client_cert_file || cfg->client_cert_pem;
	int has_key = cfg->client_key_file || cfg->client_key_pem;
	if (has_cert != has_key)
		return errbuf_fail(f->errbuf, f->errlen, -EINVAL,
			    "%s: a client certificate needs its key and a key its certificate", f->where);
	return 0;
}

int kube_config_parse(const char *yaml, size_t len, const char *context, const char *base_dir,
		      struct kube_config **ret_cfg, char *errbuf, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct kube_config *cfg = NULL;
	int rc = 0, loaded = 0;

	if (len > KUBE_CONFIG_MAX_BYTES)
		return errbuf_fail(errbuf, errlen, -EFBIG, "larger than %d bytes", KUBE_CONFIG_MAX_BYTES);
	if (!yaml_parser_initialize(&parser))
		return errbuf_fail(errbuf, errlen, -ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = errbuf_fail(errbuf, errlen, -EINVAL, "not YAML: %s at line %zu",
			  parser.problem ? parser.problem : "parse error", parser.problem_mark.line + 1);
		goto out;
	}
	loaded = 1;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		rc = errbuf_fail(errbuf, errlen, -EINVAL, "not a kubeconfig: the top level is not a mapping");
		goto out;
	}
	struct field_ctx f = { .doc = &doc, .base_dir = base_dir, .errbuf = errbuf, .errlen = errlen };
	const char *ctx_name = context;
	if (!ctx_name) {
		ctx_name = scalar(map_get(&doc, root, "current-context"), &rc);
		if (rc < 0 || !ctx_name || !ctx_name[0]) {
			rc = errbuf_fail(errbuf, errlen, -EINVAL, "current-context: missing, and no context was named");
			goto out;
		}
	}
	yaml_node_t *ctx, *cluster, *user;
	if ((rc = find_entry(&f, root, "contexts", "context", ctx_name, &ctx)) < 0)
		goto out;
	const char *cluster_name = scalar(map_get(&doc, ctx, "cluster"), &rc);
	const char *user_name = scalar(map_get(&doc, ctx, "user"), &rc);
	if (rc < 0 || !cluster_name) {
		rc = errbuf_fail(errbuf, errlen, -EINVAL, "%s.cluster: missing", f.where);
		goto out;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg || !(cfg->context = strdup(ctx_name))) {
		rc = errbuf_fail(errbuf, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = take_string(&f, ctx, "namespace", &cfg->namespace, 0)) < 0 ||
	    (rc = find_entry(&f, root, "clusters", "cluster", cluster_name, &cluster)) < 0 ||
	    (rc = parse_cluster(&f, cluster, cfg)) < 0)
		goto out;
	if (user_name && ((rc = find_entry(&f, root, "users", "user", user_name, &user)) < 0 ||
			  (rc = parse_user(&f, user, cfg)) < 0))
		goto out;
	if (!cfg->namespace && !(cfg->namespace = strdup("default"))) {
		rc = errbuf_fail(errbuf, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	*ret_cfg = cfg;
	cfg = NULL;
	rc = 0;
out:
	kube_config_free(cfg);
	if (loaded)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int kube_config_load_file(const char *path, const char *context, struct kube_config **ret_cfg,
			  char *errbuf, size_t errlen)
{
	char *buf = NULL, *dir = NULL, msg[384];
	size_t len = 0;
	int rc = read_file_bounded(path, KUBE_CONFIG_MAX_BYTES, &buf, &len);

	if (rc < 0)
		return errbuf_fail(errbuf, errlen, rc, "kubeconfig %s: %s", path, strerror(-rc));
	dir = strdup(path);
	if (!dir) {
		free(buf);
		return errbuf_fail(errbuf, errlen, -ENOMEM, "out of memory");
	}
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	rc = kube_config_parse(buf, len, context, slash ? dir : NULL, ret_cfg, msg, sizeof(msg));
	if (rc < 0)
		errbuf_fail(errbuf, errlen, rc, "kubeconfig %s: %s", path, msg);
	free(dir);
	free(buf);
	return rc;
}

int kube_config_in_cluster(const char *sa_dir, struct kube_config **ret_cfg, char *errbuf,
			   size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kube_config *cfg = NULL;
	char *ns = NULL;
	size_t ns_len = 0;
	int rc;

	if (!sa_dir)
		sa_dir = SA_DIR;
	if (!host || !host[0] || !port || !port[0])
		return errbuf_fail(errbuf, errlen, -ENOENT,
			    "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return errbuf_fail(errbuf, errlen, -ENOMEM, "out of memory");
	/* An IPv6 service address needs brackets in a URL. */
	int v6 = strchr(host, ':') != NULL;
	if (asprintf(&cfg->server, v6 ? "https://[%s]:%s" : "https://%s:%s", host, port) < 0 ||
	    asprintf(&cfg->ca_file, "%s/ca.crt", sa_dir) < 0 ||
	    asprintf(&cfg->token_file, "%s/token", sa_dir) < 0) {
		cfg->server = cfg->ca_file = cfg->token_file = NULL;
		rc = errbuf_fail(errbuf, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	if (access(cfg->token_file, R_OK) < 0) {
		rc = errbuf_fail(errbuf, errlen, -errno, "in-cluster: %s: %s", cfg->token_file, strerror(errno));
		goto fail;
	}
	char ns_path[4096];
	snprintf(ns_path, sizeof(ns_path), "%s/namespace", sa_dir);
	if (read_file_bounded(ns_path, 256, &ns, &ns_len) == 0 && ns_len > 0) {
		ns[strcspn(ns, "\r\n")] = '\0';
		cfg->namespace = ns;
	} else {
		free(ns);
		cfg->namespace = strdup("default");
	}
	if (!cfg->namespace) {
		rc = errbuf_fail(errbuf, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	*ret_cfg = cfg;
	return 0;
fail:
	kube_config_free(cfg);
	return rc;
}

int kube_config_load_default(const char *context, struct kube_config **ret_cfg, char *errbuf,
			     size_t errlen)
{
	const char *env = getenv("KUBECONFIG");
	char path[4096];

	if (env && env[0]) {
		/* A list "a:b" uses the first file; merging is not supported. */
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(env, ":"), env);
		return kube_config_load_file(path, context, ret_cfg, errbuf, errlen);
	}
	if (getenv("KUBERNETES_SERVICE_HOST"))
		return kube_config_in_cluster(NULL, ret_cfg, errbuf, errlen);
	const char *home = getenv("HOME");
	if (!home)
		return errbuf_fail(errbuf, errlen, -ENOENT, "no KUBECONFIG, not in a cluster, and no HOME");
	snprintf(path, sizeof(path), "%s/.kube/config", home);
	return kube_config_load_file(path, context, ret_cfg, errbuf, errlen);
}
