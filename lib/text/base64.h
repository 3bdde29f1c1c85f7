/* Base64 as Kubernetes reads and writes it: the standard alphabet with padding, in
 * Secret data, caBundle, AdmissionReview patches and kubeconfig *-data fields.
 * Decoding is as strict as Go's base64.StdEncoding, which the API server and kubectl
 * use for these fields: only line breaks (CR, LF) may stand between symbols, padding
 * is required and only at the end, and anything else is refused.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_TEXT_BASE64_H
#define AUTOTRACE_TEXT_BASE64_H

#include <stddef.h>

/* Encodes len bytes without line breaks. *ret_text: a new NUL-terminated string the
 * caller frees. -E2BIG when the text would not fit in memory, -ENOMEM. */
int base64_encode(const void *data, size_t len, char **ret_text);

/* Decodes NUL-terminated text. *ret_data: a new buffer of *ret_len bytes plus a NUL
 * (so PEM and other text can be used as a C string), which the caller frees.
 * -EINVAL for text that is not base64, -ENOMEM. */
int base64_decode(const char *text, unsigned char **ret_data, size_t *ret_len);

#endif
