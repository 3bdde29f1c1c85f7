/* Test certificates made with OpenSSL at run time: a self-signed CA and serving
 * certificates it issues (SAN IP:127.0.0.1, IP:::1 and DNS:localhost), written as PEM
 * files. Keys are EC P-256, quick to generate.
 * Errors: 0 or a negative errno (-EIO for an OpenSSL failure, with its queue cleared). */
#ifndef AUTOTRACE_TESTS_SUPPORT_TESTCERT_H
#define AUTOTRACE_TESTS_SUPPORT_TESTCERT_H

#include <stdint.h>

struct testcert_ca;

struct testcert_issue_opts {
	/* Subject CN; NULL means "localhost". */
	const char *common_name;
	/* Serial number; 0 picks one from the clock. */
	uint64_t serial;
	/* Validity from now; 0 means 1 day. Negative makes an expired certificate. */
	int days;
};

/* A new CA named cn in *ret_ca; free with testcert_ca_free(). */
int testcert_ca_new(const char *cn, struct testcert_ca **ret_ca);
struct testcert_ca *testcert_ca_free(struct testcert_ca *ca);
/* Writes the CA certificate (what clients trust) as PEM. */
int testcert_ca_write(const struct testcert_ca *ca, const char *cert_path);

/* Issues a serving certificate and writes it and its new private key as PEM files. */
int testcert_issue(const struct testcert_ca *ca, const struct testcert_issue_opts *opts,
		   const char *cert_path, const char *key_path);

/* The same, into memory: new NUL-terminated PEM strings (free() them). */
int testcert_issue_pem(const struct testcert_ca *ca, const struct testcert_issue_opts *opts,
		       char **ret_cert_pem, char **ret_key_pem);

#endif
