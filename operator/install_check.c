/* `autotrace-operator --check-install` (see install_check.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/kube/client.h"
#include "lib/kube/config.h"
#include "lib/text/base64.h"
#include "operator/install_check.h"

#define CHECK_UID "autotrace-install-check"

static int get_json(struct kube_client *c, const char *path, json_t **ret, char *why, size_t n)
{
	struct kube_request req = { .path = path };
	struct kube_response resp = { 0 };
	struct kube_error err;
	char buf[600];
	int rc = kube_client_do(c, &req, &resp, &err);

	if (rc < 0) {
		snprintf(why, n, "%s", kube_error_format(&err, buf, sizeof(buf)));
		return rc;
	}
	*ret = json_loadb(resp.body, resp.len, 0, NULL);
	kube_response_release(&resp);
	if (!*ret) {
		snprintf(why, n, "GET %s: the answer is not JSON", path);
		return -EPROTO;
	}
	return 0;
}

/* The Instrumentation API answers a list in the release namespace. */
static int check_api_served(struct kube_client *c, const char *ns, char *why, size_t n)
{
	char path[512];
	json_t *list = NULL;
	int rc;

	snprintf(path, sizeof(path), "/apis/autotrace.dev/v1alpha1/namespaces/%s/instrumentations?limit=1", ns);
	if ((rc = get_json(c, path, &list, why, n)) < 0)
		return rc;
	rc = json_is_array(json_object_get(list, "items")) ? 0 : -EPROTO;
	if (rc < 0)
		snprintf(why, n, "the list of instrumentations has no items");
	json_decref(list);
	return rc;
}

/* The CA (PEM, decoded; the caller frees it) of the configuration's first webhook;
 * every webhook of ours carries the same one. */
static int webhook_ca(struct kube_client *c, const char *name, unsigned char **ret_pem,
		      size_t *ret_len, char *why, size_t n)
{
	char path[512];
	json_t *mwc = NULL;
	const char *b64;
	int rc;

	snprintf(path, sizeof(path), "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/%s", name);
	if ((rc = get_json(c, path, &mwc, why, n)) < 0)
		return rc;
	b64 = json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(mwc, "webhooks"), 0), "clientConfig"),
		"caBundle"));
	if (!b64 || !*b64) {
		snprintf(why, n, "MutatingWebhookConfiguration %s has no caBundle yet", name);
		rc = -ENOENT;
	} else if ((rc = base64_decode(b64, ret_pem, ret_len)) < 0) {
		snprintf(why, n, "the caBundle of %s is not base64", name);
	}
	json_decref(mwc);
	return rc;
}

/* An AdmissionReview for a pod that does not opt in: the webhook must allow it, echo
 * its uid, and change nothing. */
static const char review[] =
	"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
	"\"uid\":\"" CHECK_UID "\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
	"\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
	"\"namespace\":\"default\",\"operation\":\"CREATE\",\"userInfo\":{\"username\":\"helm-test\"},"
	"\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"install-check\","
	"\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}";

static int check_webhook_answers(const char *url, unsigned char *ca, size_t ca_len, char *why, size_t n)
{
	struct kube_config *cfg = calloc(1, sizeof(*cfg));
	struct kube_client *wc = NULL;
	struct kube_request req = { .method = "POST", .path = "/mutate-v1-pod", .body = review,
				    .body_len = sizeof(review) - 1, .timeout_ms = 5000 };
	struct kube_response resp = { 0 };
	struct kube_error err;
	json_t *answer, *r;
	char buf[600];
	int rc;

	if (!cfg || !(cfg->server = strdup(url))) {
		free(cfg);
		free(ca);
		return -ENOMEM;
	}
	cfg->ca_pem = ca; /* the config takes it */
	cfg->ca_pem_len = ca_len;
	if ((rc = kube_client_new(cfg, NULL, &wc, &err)) < 0 ||
	    (rc = kube_client_do(wc, &req, &resp, &err)) < 0) {
		snprintf(why, n, "%s: %s", url, kube_error_format(&err, buf, sizeof(buf)));
		kube_client_free(wc);
		return rc;
	}
	answer = json_loadb(resp.body, resp.len, 0, NULL);
	r = json_object_get(answer, "response");
	if (!r || strcmp(json_string_value(json_object_get(r, "uid")) ?: "", CHECK_UID) != 0 ||
	    !json_is_true(json_object_get(r, "allowed")) || json_object_get(r, "patch")) {
		snprintf(why, n, "%.250s answered %.200s", url, resp.body);
		rc = -EPROTO;
	}
	json_decref(answer);
	kube_response_release(&resp);
	kube_client_free(wc);
	return rc;
}

static int report(const char *what, int rc, const char *why)
{
	if (rc < 0)
		printf("FAIL %s: %s\n", what, why);
	else
		printf("ok   %s\n", what);
	return rc < 0;
}

int install_check_run(const struct install_check_opts *o)
{
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct kube_error err;
	unsigned char *ca = NULL;
	size_t ca_len = 0;
	char why[1024], url[256];
	int failed = 0, rc;

	if (kube_config_load_default(NULL, &cfg, why, sizeof(why)) < 0) {
		printf("FAIL kubeconfig: %s\n", why);
		return 2;
	}
	if (kube_client_new(cfg, NULL, &c, &err) < 0) {
		printf("FAIL API client: %s\n", kube_error_format(&err, why, sizeof(why)));
		return 2;
	}
	rc = check_api_served(c, o->ns, why, sizeof(why));
	failed += report("the Instrumentation API (autotrace.dev/v1alpha1) is served", rc, why);

	if (o->webhook_url)
		snprintf(url, sizeof(url), "%.250s", o->webhook_url);
	else
		snprintf(url, sizeof(url), "https://%.100s.%.100s.svc:443", o->webhook_service, o->ns);
	rc = webhook_ca(c, o->webhook_config, &ca, &ca_len, why, sizeof(why));
	if (rc == 0)
		rc = check_webhook_answers(url, ca, ca_len, why, sizeof(why));
	failed += report("the webhook answers an AdmissionReview over TLS trusted by its caBundle", rc, why);
	kube_client_free(c);
	return failed ? 1 : 0;
}
