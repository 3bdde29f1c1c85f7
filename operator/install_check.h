/* `autotrace-operator --check-install`: what `helm test` runs. Checks what a user
 * relies on after an install, from inside the cluster: the Instrumentation API is
 * served, and the webhook answers an AdmissionReview over TLS verified with the CA
 * that the MutatingWebhookConfiguration carries (certificate, Service and
 * registration line up). Prints one line per check. */
#ifndef AUTOTRACE_OPERATOR_INSTALL_CHECK_H
#define AUTOTRACE_OPERATOR_INSTALL_CHECK_H

struct install_check_opts {
	const char *ns;              /* the release namespace: the webhook Service's */
	const char *webhook_service; /* Service name */
	const char *webhook_config;  /* MutatingWebhookConfiguration name */
	/* Where the webhook is reached; NULL: https://<service>.<ns>.svc:443. Tests
	 * outside the cluster point it at a forwarded port. */
	const char *webhook_url;
};

/* 0 when every check passed, 1 when one failed (each failure printed with its
 * reason), 2 when the API server could not be reached at all. */
int install_check_run(const struct install_check_opts *o);

#endif
