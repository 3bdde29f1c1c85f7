/* UTF-8 checks for strings read from traced processes: OTLP strings must be valid
 * UTF-8 (protobuf string fields, JSON text), and what a probe copies may not be. */
#ifndef AUTOTRACE_OTLP_UTF8_H
#define AUTOTRACE_OTLP_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the well-formed UTF-8 character at s[0..n), or 0 when the bytes there
 * do not start one (overlong forms, surrogates and code points above U+10FFFF are not
 * well-formed). n must be > 0. */
size_t utf8_char_len(const unsigned char *s, size_t n);

/* Copies src[0..len) into dst (cap bytes, no terminator written), replacing every byte
 * that does not start a well-formed character with U+FFFD and stopping before a
 * character that does not fit. Returns the bytes written; *ret_truncated tells whether
 * some input was left out. */
size_t utf8_copy_sanitized(char *dst, size_t cap, const char *src, size_t len,
			   bool *ret_truncated);

#endif
