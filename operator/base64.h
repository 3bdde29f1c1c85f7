/* Base64 as Kubernetes uses it in Secret data and caBundle fields (standard alphabet,
 * padded, no line breaks). Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OPERATOR_BASE64_H
#define AUTOTRACE_OPERATOR_BASE64_H

#include <stddef.h>

/* *ret_text: a new NUL-terminated string (free()). */
int base64_encode(const void *data, size_t len, char **ret_text);
/* *ret_data: new buffer of *ret_len bytes plus a NUL (free()). -EINVAL for text that
 * is not base64. */
int base64_decode(const char *text, unsigned char **ret_data, size_t *ret_len);

#endif
