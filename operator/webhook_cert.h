/* The webhook's serving certificate, kept by the operator: a Secret (type
 * kubernetes.io/tls) holding a self-signed CA and a certificate it signs for the
 * webhook Service's DNS names, and the caBundle of autotrace's
 * MutatingWebhookConfiguration patched to match.
 *
 * Rotation: when the serving certificate is within rotate_before_s of its end, a new
 * CA and certificate replace it; the Secret's ca.crt then holds the new CA followed by
 * the previous one, and that bundle goes into caBundle, so a webhook still serving the
 * old certificate (until it reloads the new files) stays trusted and so does the new.
 * Secret keys: tls.crt, tls.key (serving), ca.crt (bundle, current CA first), ca.key.
 * Errors: 0 or a negative errno (lib/kube/error.h kinds for API failures). */
#ifndef AUTOTRACE_OPERATOR_WEBHOOK_CERT_H
#define AUTOTRACE_OPERATOR_WEBHOOK_CERT_H

#include <time.h>

#include "lib/kube/client.h"

#define WEBHOOK_CERT_DEFAULT_VALIDITY_S	 (365L * 86400)
#define WEBHOOK_CERT_DEFAULT_ROTATE_BEFORE_S (30L * 86400)

struct webhook_cert_opts {
	const char *ns;		     /* the Secret's namespace (the webhook's) */
	const char *secret_name;
	const char *service_name;    /* the certificate names <svc>, <svc>.<ns>, <svc>.<ns>.svc,
				      * <svc>.<ns>.svc.cluster.local */
	const char *webhook_config;  /* MutatingWebhookConfiguration; NULL: none */
	const char *const *ips;	     /* extra IP SANs, NULL-terminated; may be NULL */
	long validity_s;	     /* default WEBHOOK_CERT_DEFAULT_VALIDITY_S */
	long rotate_before_s;	     /* default WEBHOOK_CERT_DEFAULT_ROTATE_BEFORE_S */
};

struct webhook_cert_result {
	int created;	       /* the Secret did not exist */
	int rotated;	       /* a new CA and certificate replaced the old */
	int bundle_patched;    /* caBundle was written */
	int config_missing;    /* the MutatingWebhookConfiguration does not exist (yet) */
	time_t not_after;      /* end of the serving certificate in place */
};

/* Makes the Secret and caBundle what they should be now; *ret says what it did. */
int webhook_cert_ensure(struct kube_client *c, const struct webhook_cert_opts *opts,
			struct webhook_cert_result *ret, struct kube_error *err);

#endif
