/* Certificates for the webhook's HTTPS server, made with OpenSSL: a self-signed CA and
 * a serving certificate it signs for the webhook Service's DNS names (and IPs, for
 * tests). Keys are ECDSA P-256. PEM text in and out.
 * Errors: 0 or a negative errno (-EIO for what OpenSSL refuses). */
#ifndef AUTOTRACE_OPERATOR_CERT_GEN_H
#define AUTOTRACE_OPERATOR_CERT_GEN_H

#include <stddef.h>
#include <time.h>

struct cert_pem {
	char *cert; /* owned PEM text */
	char *key;
};

void cert_pem_clear(struct cert_pem *p);

/* A new CA valid for validity_s seconds from now (a minute back-dated). */
int cert_gen_ca(const char *common_name, long validity_s, struct cert_pem *ret);

struct cert_serving_opts {
	const char *common_name;
	const char *const *dns_names; /* NULL-terminated */
	const char *const *ips;	      /* NULL-terminated; may be NULL */
	long validity_s;
};

/* A serving certificate signed by `ca`. */
int cert_gen_serving(const struct cert_pem *ca, const struct cert_serving_opts *opts,
		     struct cert_pem *ret);

/* notAfter of the first certificate in `pem`. */
int cert_not_after(const char *pem, time_t *ret);

#endif
