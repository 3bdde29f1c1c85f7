/* X.509v3 extensions written the way openssl.cnf spells them ("critical,CA:TRUE",
 * "DNS:host,IP:127.0.0.1"), for the certificates the operator makes for the webhook
 * and the ones the tests make. */
#ifndef AUTOTRACE_X509_EXT_H
#define AUTOTRACE_X509_EXT_H

#include <openssl/x509.h>

/* Adds extension `nid` with `value` to cert, issued by `issuer` (cert itself when
 * self-signed). 0, or -EIO when OpenSSL refuses the value. */
int x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);

#endif
