#include "lib/kube/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "lib/loop/sigpipe.h"

struct kube_tls {
	SSL_CTX *ctx;
	pthread_mutex_t lock;  /* guards session */
	SSL_SESSION *session;  /* the newest one the server issued; a reference */
};

/* OpenSSL's newest error as text, for a failure while setting up. */
static int tls_error(struct kube_error *err, const char *what)
{
	char buf[256] = "unknown error";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "%s: %s", what, buf);
}

static int add_ca_pem(SSL_CTX *ctx, const unsigned char *pem, size_t len)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	int added = 0;

	if (!bio)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(store, x) == 1)
			added++;
		X509_free(x);
	}
	BIO_free(bio);
	ERR_clear_error(); /* the read that ends the loop leaves "no start line" */
	return added ? 0 : -EINVAL;
}

/* A certificate chain in PEM bytes: the first is the client's, the rest its issuers. */
static int use_cert_pem(SSL_CTX *ctx, const unsigned char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	int rc = -EINVAL;

	if (!bio)
		return -ENOMEM;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (x && SSL_CTX_use_certificate(ctx, x) == 1) {
		rc = 0;
		X509 *extra;
		while (rc == 0 && (extra = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) { /* takes extra */
				X509_free(extra);
				rc = -EINVAL;
			}
		}
		ERR_clear_error();
	}
	X509_free(x);
	BIO_free(bio);
	return rc;
}

static int use_key_pem(SSL_CTX *ctx, const unsigned char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key;
	int rc = -EINVAL;

	if (!bio)
		return -ENOMEM;
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (key && SSL_CTX_use_PrivateKey(ctx, key) == 1)
		rc = 0;
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

/* OpenSSL hands over each session the server issues; keeping the newest lets the next
 * connection resume it. Returning 1 keeps the reference OpenSSL passed. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct kube_tls *tls = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	pthread_mutex_lock(&tls->lock);
	SSL_SESSION_free(tls->session);
	tls->session = sess;
	pthread_mutex_unlock(&tls->lock);
	return 1;
}

int kube_tls_new(const struct kube_config *cfg, struct kube_tls **ret_tls, struct kube_error *err)
{
	struct kube_tls *tls = calloc(1, sizeof(*tls));
	int rc;

	if (!tls)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	/* OpenSSL writes with write(2): a server that closes first must not end us. */
	sigpipe_ignore_default();
	pthread_mutex_init(&tls->lock, NULL);
	tls->ctx = SSL_CTX_new(TLS_client_method());
	if (!tls->ctx) {
		rc = tls_error(err, "TLS context");
		goto fail;
	}
	SSL_CTX_set_app_data(tls->ctx, tls);
	SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(tls->ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(tls->ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(tls->ctx, on_new_session);

	if (cfg->ca_pem) {
		rc = add_ca_pem(tls->ctx, cfg->ca_pem, cfg->ca_pem_len);
		if (rc < 0) {
			kube_error_set(err, KUBE_ERR_LOCAL, rc,
				       "certificate-authority-data holds no PEM certificate");
			goto fail;
		}
	} else if (cfg->ca_file) {
		if (SSL_CTX_load_verify_locations(tls->ctx, cfg->ca_file, NULL) != 1) {
			rc = tls_error(err, cfg->ca_file);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(tls->ctx) != 1) {
		rc = tls_error(err, "system CA certificates");
		goto fail;
	}

	if (cfg->client_cert_pem) {
		if ((rc = use_cert_pem(tls->ctx, cfg->client_cert_pem, cfg->client_cert_pem_len)) < 0) {
			tls_error(err, "client-certificate-data");
			goto fail;
		}
	} else if (cfg->client_cert_file &&
		   SSL_CTX_use_certificate_chain_file(tls->ctx, cfg->client_cert_file) != 1) {
		rc = tls_error(err, cfg->client_cert_file);
		goto fail;
	}
	if (cfg->client_key_pem) {
		if ((rc = use_key_pem(tls->ctx, cfg->client_key_pem, cfg->client_key_pem_len)) < 0) {
			tls_error(err, "client-key-data");
			goto fail;
		}
	} else if (cfg->client_key_file &&
		   SSL_CTX_use_PrivateKey_file(tls->ctx, cfg->client_key_file, SSL_FILETYPE_PEM) != 1) {
		rc = tls_error(err, cfg->client_key_file);
		goto fail;
	}
	if ((cfg->client_cert_pem || cfg->client_cert_file) &&
	    SSL_CTX_check_private_key(tls->ctx) != 1) {
		rc = tls_error(err, "client certificate and key do not match");
		goto fail;
	}
	*ret_tls = tls;
	return 0;
fail:
	kube_tls_free(tls);
	return rc;
}

struct kube_tls *kube_tls_free(struct kube_tls *tls)
{
	if (!tls)
		return NULL;
	SSL_SESSION_free(tls->session);
	SSL_CTX_free(tls->ctx);
	pthread_mutex_destroy(&tls->lock);
	free(tls);
	return NULL;
}

static int is_ip_literal(const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

SSL *kube_tls_ssl_new(struct kube_tls *tls, const char *host)
{
	SSL *ssl = SSL_new(tls->ctx);

	if (!ssl)
		return NULL;
	if (is_ip_literal(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1)
			goto fail;
	} else if (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1) {
		goto fail;
	}
	pthread_mutex_lock(&tls->lock);
	if (tls->session)
		SSL_set_session(ssl, tls->session);
	pthread_mutex_unlock(&tls->lock);
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

const char *kube_tls_describe_failure(const SSL *ssl, unsigned long lib_err, char *buf,
				      size_t len)
{
	long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (verify != X509_V_OK)
		snprintf(buf, len, "server certificate not trusted: %s",
			 X509_verify_cert_error_string(verify));
	else if (lib_err)
		ERR_error_string_n(lib_err, buf, len);
	else
		snprintf(buf, len, "TLS handshake failed");
	return buf;
}
