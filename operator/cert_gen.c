#include "operator/cert_gen.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/x509/ext.h"

void cert_pem_clear(struct cert_pem *p)
{
	if (!p)
		return;
	free(p->cert);
	free(p->key);
	p->cert = p->key = NULL;
}

/* A new unsigned certificate for key (X509_free() it). */
static X509 *new_cert(EVP_PKEY *key, const char *cn, long validity_s)
{
	X509 *cert = X509_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509_NAME *name;

	if (!cert || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) ||
	    !X509_set_version(cert, 2) || !X509_gmtime_adj(X509_getm_notBefore(cert), -60) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), validity_s) || !X509_set_pubkey(cert, key))
		goto fail;
	name = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"autotrace",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
					-1, 0))
		goto fail;
	BN_free(bn);
	return cert;
fail:
	BN_free(bn);
	X509_free(cert);
	return NULL;
}

static char *bio_text(BIO *bio)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;

	if (!text)
		return NULL;
	memcpy(text, data, (size_t)len);
	text[len] = '\0';
	return text;
}

/* PEM of cert and key into ret. */
static int to_pem(X509 *cert, EVP_PKEY *key, struct cert_pem *ret)
{
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
	struct cert_pem p = { 0 };
	int rc = -EIO;

	if (!cb || !kb || !PEM_write_bio_X509(cb, cert) ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
		goto out;
	p.cert = bio_text(cb);
	p.key = bio_text(kb);
	if (!p.cert || !p.key) {
		cert_pem_clear(&p);
		rc = -ENOMEM;
		goto out;
	}
	*ret = p;
	rc = 0;
out:
	BIO_free(cb);
	BIO_free(kb);
	return rc;
}

int cert_gen_ca(const char *common_name, long validity_s, struct cert_pem *ret)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = NULL;
	int rc = -EIO;

	if (!key)
		goto out;
	cert = new_cert(key, common_name, validity_s);
	if (!cert || !X509_set_issuer_name(cert, X509_get_subject_name(cert)) ||
	    x509_add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
	    x509_add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    x509_add_ext(cert, cert, NID_subject_key_identifier, "hash") < 0 ||
	    !X509_sign(cert, key, EVP_sha256()))
		goto out;
	rc = to_pem(cert, key, ret);
out:
	ERR_clear_error();
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

static int load_ca(const struct cert_pem *ca, X509 **ret_cert, EVP_PKEY **ret_key)
{
	BIO *cb = BIO_new_mem_buf(ca->cert, -1), *kb = BIO_new_mem_buf(ca->key, -1);
	X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;

	BIO_free(cb);
	BIO_free(kb);
	if (!cert || !key || X509_check_private_key(cert, key) != 1) {
		X509_free(cert);
		EVP_PKEY_free(key);
		return -EINVAL;
	}
	*ret_cert = cert;
	*ret_key = key;
	return 0;
}

int cert_gen_serving(const struct cert_pem *ca, const struct cert_serving_opts *opts,
		     struct cert_pem *ret)
{
	X509 *ca_cert = NULL, *cert = NULL;
	EVP_PKEY *ca_key = NULL, *key = NULL;
	char san[4096];
	size_t used = 0;
	int rc;

	if ((rc = load_ca(ca, &ca_cert, &ca_key)) < 0)
		goto out;
	rc = -EINVAL;
	san[0] = '\0';
	for (size_t i = 0; opts->dns_names && opts->dns_names[i]; i++) {
		int n = snprintf(san + used, sizeof(san) - used, "%sDNS:%s", used ? "," : "",
				 opts->dns_names[i]);
		if (n < 0 || (size_t)n >= sizeof(san) - used)
			goto out;
		used += (size_t)n;
	}
	for (size_t i = 0; opts->ips && opts->ips[i]; i++) {
		int n = snprintf(san + used, sizeof(san) - used, "%sIP:%s", used ? "," : "",
				 opts->ips[i]);
		if (n < 0 || (size_t)n >= sizeof(san) - used)
			goto out;
		used += (size_t)n;
	}
	if (!used)
		goto out;
	rc = -EIO;
	key = EVP_EC_gen("P-256");
	if (!key)
		goto out;
	cert = new_cert(key, opts->common_name, opts->validity_s);
	if (!cert || !X509_set_issuer_name(cert, X509_get_subject_name(ca_cert)) ||
	    x509_add_ext(cert, ca_cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    x509_add_ext(cert, ca_cert, NID_key_usage, "critical,digitalSignature") < 0 ||
	    x509_add_ext(cert, ca_cert, NID_ext_key_usage, "serverAuth") < 0 ||
	    x509_add_ext(cert, ca_cert, NID_subject_alt_name, san) < 0 ||
	    x509_add_ext(cert, ca_cert, NID_authority_key_identifier, "keyid:always") < 0 ||
	    !X509_sign(cert, ca_key, EVP_sha256()))
		goto out;
	rc = to_pem(cert, key, ret);
out:
	ERR_clear_error();
	X509_free(ca_cert);
	X509_free(cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	return rc;
}

int cert_not_after(const char *pem, time_t *ret)
{
	BIO *b = pem ? BIO_new_mem_buf(pem, -1) : NULL;
	X509 *cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	struct tm tm;
	int rc = -EINVAL;

	if (cert && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
		*ret = timegm(&tm);
		rc = 0;
	}
	ERR_clear_error();
	X509_free(cert);
	BIO_free(b);
	return rc;
}
