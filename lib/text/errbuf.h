/* The parsers' error messages: a printf into the caller's buffer, and the errno to
 * return, in one call. */
#ifndef AUTOTRACE_TEXT_ERRBUF_H
#define AUTOTRACE_TEXT_ERRBUF_H

#include <stddef.h>

/* Formats into err (err_size bytes, cut to fit; err may be NULL) and returns rc. */
int errbuf_fail(char *err, size_t err_size, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
