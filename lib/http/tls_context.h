/* A server-side TLS context built from PEM files: TLS 1.2 at least, no renegotiation,
 * no compression, HTTP/1.1 chosen when the client offers ALPN. */
#ifndef AUTOTRACE_HTTP_TLS_CONTEXT_H
#define AUTOTRACE_HTTP_TLS_CONTEXT_H

#include <stdint.h>

#include <openssl/ssl.h>

/* Loads the certificate chain and the private key and checks that they match.
 * Returns a new SSL_CTX in *ret_ctx (SSL_CTX_free() it): 0, -ENOENT/-EACCES for an
 * unreadable file, -EINVAL for a malformed or mismatched pair, -ENOMEM. The OpenSSL
 * error queue is left empty either way. */
int http_tls_context_new(const char *cert_file, const char *key_file, SSL_CTX **ret_ctx);

/* The serving certificate's notAfter as Unix seconds, or 0 when unknown. */
int64_t http_tls_context_not_after(SSL_CTX *ctx);

#endif
