#include "lib/http/tls_context.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "lib/log/log.h"

/* ALPN wire format: a length byte, then the name. */
static const unsigned char alpn_http11[] = "\x08http/1.1";

/* Picks http/1.1 when the client offers it; otherwise no ALPN, so a client that
 * offers only h2 still falls back to HTTP/1.1 rather than failing the handshake. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *selected;
	unsigned char selected_len;

	if (SSL_select_next_proto(&selected, &selected_len, alpn_http11,
				  sizeof(alpn_http11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = selected;
	*outlen = selected_len;
	return SSL_TLSEXT_ERR_OK;
}

static void log_openssl_errors(const char *what)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("http", "%s: %s", what, buf);
	}
}

int http_tls_context_new(const char *cert_file, const char *key_file, SSL_CTX **ret_ctx)
{
	SSL_CTX *ctx = NULL;
	int r;

	if (!cert_file || !key_file)
		return -EINVAL;
	if (access(cert_file, R_OK) < 0 || access(key_file, R_OK) < 0)
		return errno == EACCES ? -EACCES : -ENOENT;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		r = -ENOMEM;
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_openssl_errors("loading TLS certificate");
		r = -EINVAL;
		goto fail;
	}
	*ret_ctx = ctx;
	return 0;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return r;
}

int64_t http_tls_context_not_after(SSL_CTX *ctx)
{
	X509 *cert = ctx ? SSL_CTX_get0_certificate(ctx) : NULL;
	struct tm tm;

	if (!cert || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}
