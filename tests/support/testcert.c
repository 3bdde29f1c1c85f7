#include "tests/support/testcert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/x509/ext.h"

struct testcert_ca {
	EVP_PKEY *key;
	X509 *cert;
};

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

/* A new certificate for key, named cn, not yet signed (X509_free() it). */
static X509 *new_cert(EVP_PKEY *key, const char *cn, uint64_t serial, int days)
{
	X509 *cert = X509_new();
	X509_NAME *name;

	if (!cert)
		return NULL;
	if (!X509_set_version(cert, 2) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), days < 0 ? (long)days * 2 * 86400 : -60) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) ||
	    !X509_set_pubkey(cert, key))
		goto fail;
	name = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"autotrace tests", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
					-1, 0))
		goto fail;
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

static uint64_t clock_serial(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec;
}

int testcert_ca_new(const char *cn, struct testcert_ca **ret_ca)
{
	struct testcert_ca *ca = calloc(1, sizeof(*ca));
	int r = -EIO;

	if (!ca)
		return -ENOMEM;
	ca->key = new_key();
	if (!ca->key)
		goto fail;
	ca->cert = new_cert(ca->key, cn ? cn : "autotrace test CA", clock_serial(), 30);
	if (!ca->cert || !X509_set_issuer_name(ca->cert, X509_get_subject_name(ca->cert)) ||
	    x509_add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    x509_add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    x509_add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") < 0 ||
	    !X509_sign(ca->cert, ca->key, EVP_sha256()))
		goto fail;
	*ret_ca = ca;
	return 0;
fail:
	ERR_clear_error();
	testcert_ca_free(ca);
	return r;
}

struct testcert_ca *testcert_ca_free(struct testcert_ca *ca)
{
	if (!ca)
		return NULL;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
	return NULL;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int r = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) == EOF)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	return r;
}

/* The PEM text a BIO holds, as a new string. */
static char *bio_text(BIO *bio)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	char *text = malloc((size_t)len + 1);

	if (!text)
		return NULL;
	memcpy(text, data, (size_t)len);
	text[len] = '\0';
	return text;
}

int testcert_ca_write(const struct testcert_ca *ca, const char *cert_path)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *text = NULL;
	int r = -EIO;

	if (bio && PEM_write_bio_X509(bio, ca->cert) && (text = bio_text(bio)))
		r = write_file(cert_path, text);
	free(text);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

int testcert_issue_pem(const struct testcert_ca *ca, const struct testcert_issue_opts *opts,
		       char **ret_cert_pem, char **ret_key_pem)
{
	const char *cn = opts && opts->common_name ? opts->common_name : "localhost";
	uint64_t serial = opts && opts->serial ? opts->serial : clock_serial();
	int days = opts && opts->days ? opts->days : 1;
	BIO *cert_bio = BIO_new(BIO_s_mem()), *key_bio = BIO_new(BIO_s_mem());
	EVP_PKEY *key = new_key();
	X509 *cert = NULL;
	char *cert_pem = NULL, *key_pem = NULL;
	int r = -EIO;

	if (!cert_bio || !key_bio || !key)
		goto cleanup;
	cert = new_cert(key, cn, serial, days);
	if (!cert || !X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) ||
	    x509_add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    x509_add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") < 0 ||
	    x509_add_ext(cert, ca->cert, NID_ext_key_usage, "serverAuth") < 0 ||
	    x509_add_ext(cert, ca->cert, NID_subject_alt_name,
		    "IP:127.0.0.1,IP:::1,DNS:localhost") < 0 ||
	    x509_add_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always") < 0 ||
	    !X509_sign(cert, ca->key, EVP_sha256()))
		goto cleanup;
	if (!PEM_write_bio_X509(cert_bio, cert) ||
	    !PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL, NULL))
		goto cleanup;
	cert_pem = bio_text(cert_bio);
	key_pem = bio_text(key_bio);
	if (!cert_pem || !key_pem) {
		r = -ENOMEM;
		goto cleanup;
	}
	*ret_cert_pem = cert_pem;
	*ret_key_pem = key_pem;
	cert_pem = key_pem = NULL;
	r = 0;
cleanup:
	free(cert_pem);
	free(key_pem);
	X509_free(cert);
	EVP_PKEY_free(key);
	BIO_free(cert_bio);
	BIO_free(key_bio);
	ERR_clear_error();
	return r;
}

int testcert_issue(const struct testcert_ca *ca, const struct testcert_issue_opts *opts,
		   const char *cert_path, const char *key_path)
{
	char *cert = NULL, *key = NULL;
	int r = testcert_issue_pem(ca, opts, &cert, &key);

	if (r == 0)
		r = write_file(cert_path, cert);
	if (r == 0)
		r = write_file(key_path, key);
	free(cert);
	free(key);
	return r;
}
