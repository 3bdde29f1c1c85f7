#include "operator/webhook_cert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kube/api.h"
#include "lib/text/base64.h"
#include "operator/cert_gen.h"

#define PEM_END "-----END CERTIFICATE-----"

/* A Secret data value decoded into a new string, or NULL. */
static char *secret_text(const json_t *secret, const char *key)
{
	const char *b64 = json_string_value(json_object_get(json_object_get(secret, "data"), key));
	unsigned char *out = NULL;
	size_t n;

	if (!b64 || base64_decode(b64, &out, &n) < 0)
		return NULL;
	return (char *)out;
}

/* The first certificate of a PEM bundle, as a new string. */
static char *first_cert(const char *bundle)
{
	const char *end = bundle ? strstr(bundle, PEM_END) : NULL;

	if (!end)
		return NULL;
	return strndup(bundle, (size_t)(end - bundle) + strlen(PEM_END));
}

static int set_b64(json_t *data, const char *key, const char *text)
{
	char *b64 = NULL;
	int rc = base64_encode(text, strlen(text), &b64);

	if (rc < 0)
		return rc;
	rc = json_object_set_new(data, key, json_string(b64)) < 0 ? -ENOMEM : 0;
	free(b64);
	return rc;
}

/* New CA and serving certificate; the bundle is the new CA and `previous_ca` (may be
 * NULL). *ret_data: a new Secret data object. */
static int issue(const struct webhook_cert_opts *o, const char *previous_ca, json_t **ret_data)
{
	char n1[300], n2[300], n3[300], n4[300], *bundle = NULL;
	const char *dns[] = { n1, n2, n3, n4, NULL };
	struct cert_pem ca = { 0 }, srv = { 0 };
	struct cert_serving_opts so = { .common_name = n3, .dns_names = dns, .ips = o->ips,
					.validity_s = o->validity_s };
	json_t *data = json_object();
	int rc = -ENOMEM;

	snprintf(n1, sizeof(n1), "%s", o->service_name);
	snprintf(n2, sizeof(n2), "%s.%s", o->service_name, o->ns);
	snprintf(n3, sizeof(n3), "%s.%s.svc", o->service_name, o->ns);
	snprintf(n4, sizeof(n4), "%s.%s.svc.cluster.local", o->service_name, o->ns);
	if (!data)
		goto out;
	if ((rc = cert_gen_ca("autotrace webhook CA", o->validity_s, &ca)) < 0 ||
	    (rc = cert_gen_serving(&ca, &so, &srv)) < 0)
		goto out;
	rc = -ENOMEM;
	if (asprintf(&bundle, "%s%s", ca.cert, previous_ca ? previous_ca : "") < 0) {
		bundle = NULL;
		goto out;
	}
	if ((rc = set_b64(data, "tls.crt", srv.cert)) < 0 ||
	    (rc = set_b64(data, "tls.key", srv.key)) < 0 ||
	    (rc = set_b64(data, "ca.crt", bundle)) < 0 || (rc = set_b64(data, "ca.key", ca.key)) < 0)
		goto out;
	*ret_data = data;
	data = NULL;
	rc = 0;
out:
	free(bundle);
	cert_pem_clear(&ca);
	cert_pem_clear(&srv);
	json_decref(data);
	return rc;
}

/* Writes the Secret (create, or update at its resourceVersion) with `data`. */
static int write_secret(struct kube_client *c, const struct webhook_cert_opts *o,
			const json_t *existing, json_t *data, struct kube_error *err)
{
	struct kube_ref ref = { .res = &KUBE_SECRETS, .ns = o->ns };
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s, s:O}", "apiVersion", "v1",
				"kind", "Secret", "metadata", "name", o->secret_name, "namespace",
				o->ns, "labels", "app.kubernetes.io/managed-by", "autotrace", "type",
				"kubernetes.io/tls", "data", data);
	int rc;

	if (!obj)
		return -ENOMEM;
	if (existing) {
		ref.name = o->secret_name;
		json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion",
				    json_string(kube_obj_resource_version(existing)));
		rc = kube_update(c, &ref, obj, NULL, err);
	} else {
		rc = kube_create(c, &ref, obj, NULL, err);
	}
	json_decref(obj);
	return rc;
}

/* Sets every webhook's clientConfig.caBundle to `bundle_b64` where it differs. */
static int patch_bundle(struct kube_client *c, const struct webhook_cert_opts *o,
			const char *bundle_b64, struct webhook_cert_result *res,
			struct kube_error *err)
{
	struct kube_ref ref = { .res = &KUBE_MUTATING_WEBHOOK_CONFIGURATIONS,
				.name = o->webhook_config };
	json_t *mwc = NULL, *ops = json_array();
	const json_t *hooks;
	size_t i;
	int rc;

	if (!ops)
		return -ENOMEM;
	rc = kube_get(c, &ref, &mwc, err);
	if (rc == -ENOENT) {
		res->config_missing = 1;
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	hooks = json_object_get(mwc, "webhooks");
	/* The resourceVersion test makes a concurrent edit fail rather than be lost. */
	json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "test", "path",
					     "/metadata/resourceVersion", "value",
					     kube_obj_resource_version(mwc)));
	for (i = 0; i < json_array_size(hooks); i++) {
		const json_t *cc = json_object_get(json_array_get(hooks, i), "clientConfig");
		const char *have = json_string_value(json_object_get(cc, "caBundle"));
		char path[64];

		if (have && strcmp(have, bundle_b64) == 0)
			continue;
		snprintf(path, sizeof(path), "/webhooks/%zu/clientConfig/caBundle", i);
		json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "add", "path", path,
						     "value", bundle_b64));
	}
	if (json_array_size(ops) > 1) {
		rc = kube_patch(c, &ref, KUBE_PATCH_JSON, ops, NULL, NULL, err);
		if (rc == 0)
			res->bundle_patched = 1;
	}
out:
	json_decref(mwc);
	json_decref(ops);
	return rc;
}

int webhook_cert_ensure(struct kube_client *c, const struct webhook_cert_opts *opts,
			struct webhook_cert_result *ret, struct kube_error *err)
{
	struct webhook_cert_opts o = *opts;
	struct kube_ref ref = { .res = &KUBE_SECRETS, .ns = o.ns, .name = o.secret_name };
	struct webhook_cert_result res = { 0 };
	json_t *secret = NULL, *data = NULL;
	char *tls = NULL, *bundle = NULL, *current_ca = NULL;
	const char *bundle_b64;
	time_t now = time(NULL);
	int rc;

	if (o.validity_s <= 0)
		o.validity_s = WEBHOOK_CERT_DEFAULT_VALIDITY_S;
	if (o.rotate_before_s <= 0)
		o.rotate_before_s = WEBHOOK_CERT_DEFAULT_ROTATE_BEFORE_S;
	rc = kube_get(c, &ref, &secret, err);
	if (rc < 0 && rc != -ENOENT)
		goto out;
	if (secret) {
		tls = secret_text(secret, "tls.crt");
		bundle = secret_text(secret, "ca.crt");
		if (!tls || !bundle || !json_is_string(json_object_get(json_object_get(secret, "data"), "ca.key")) ||
		    cert_not_after(tls, &res.not_after) < 0)
			res.not_after = 0; /* unreadable: replace it */
	}
	if (!secret || res.not_after - now <= o.rotate_before_s) {
		/* Keep trusting the CA in place (when it has not ended) across the change. */
		time_t ca_end = 0;
		current_ca = first_cert(bundle);
		if (current_ca && (cert_not_after(current_ca, &ca_end) < 0 || ca_end <= now)) {
			free(current_ca);
			current_ca = NULL;
		}
		if ((rc = issue(&o, current_ca, &data)) < 0)
			goto out;
		if ((rc = write_secret(c, &o, secret, data, err)) < 0)
			goto out;
		res.created = !secret;
		res.rotated = !!secret;
		bundle_b64 = json_string_value(json_object_get(data, "ca.crt"));
		{
			unsigned char *crt = NULL;
			size_t n;
			if (base64_decode(json_string_value(json_object_get(data, "tls.crt")), &crt,
					  &n) == 0)
				cert_not_after((char *)crt, &res.not_after);
			free(crt);
		}
	} else {
		bundle_b64 = json_string_value(json_object_get(json_object_get(secret, "data"),
							       "ca.crt"));
	}
	if (o.webhook_config && bundle_b64 &&
	    (rc = patch_bundle(c, &o, bundle_b64, &res, err)) < 0)
		goto out;
	*ret = res;
	rc = 0;
out:
	free(tls);
	free(bundle);
	free(current_ca);
	json_decref(secret);
	json_decref(data);
	return rc;
}
