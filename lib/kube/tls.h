/* TLS to the API server with OpenSSL: one SSL_CTX per client, built from the
 * kubeconfig's CA and client credentials, and one SSL per connection that checks the
 * server's certificate against the name or address the client dials. The last
 * session the server handed out is kept so a new connection resumes it instead of a
 * full handshake (watches and asynchronous calls each open their own connection).
 * Error convention: see lib/kube/error.h. */
#ifndef AUTOTRACE_KUBE_TLS_H
#define AUTOTRACE_KUBE_TLS_H

#include <openssl/ssl.h>

#include "lib/kube/config.h"
#include "lib/kube/error.h"

struct kube_tls;

/* A new TLS setup for `cfg` (borrowed for the call): TLS 1.2 or later, the server
 * verified against cfg's CA (file or PEM bytes; the system's CAs when it names none),
 * cfg's client certificate and key when it has them. Free with kube_tls_free(). */
int kube_tls_new(const struct kube_config *cfg, struct kube_tls **ret_tls, struct kube_error *err);
struct kube_tls *kube_tls_free(struct kube_tls *tls);

/* A new SSL for one connection to `host` (a DNS name or an IP address, which is
 * checked against the certificate's IP SANs), resuming the last session when there is
 * one. The caller owns it (a bufferevent that takes it frees it). NULL when out of
 * memory. Thread-safe. */
SSL *kube_tls_ssl_new(struct kube_tls *tls, const char *host);

/* Why a handshake on `ssl` failed, into buf: the certificate verification result when
 * that is what failed, else OpenSSL's error `lib_err` (0: none known). Returns buf. */
const char *kube_tls_describe_failure(const SSL *ssl, unsigned long lib_err, char *buf,
				      size_t len);

#endif
