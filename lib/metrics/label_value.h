/* Label values come from peers (an HTTP route seen in a traced process, a namespace
 * name): they are bounded in length and made valid UTF-8 before they become part of a
 * series, since the text format requires UTF-8 and a scraper rejects the whole page
 * on one bad byte. */
#ifndef AUTOTRACE_METRICS_LABEL_VALUE_H
#define AUTOTRACE_METRICS_LABEL_VALUE_H

#include <stdbool.h>
#include <stddef.h>

/* True when value is valid UTF-8 of at most max_len bytes, i.e. sanitizing it would
 * return it unchanged. */
bool metrics_label_value_clean(const char *value, size_t max_len);

/* Writes value into out (out_size bytes, at least 4), each invalid UTF-8 sequence
 * replaced by U+FFFD, cut at a character boundary to at most out_size - 1 bytes, NUL
 * terminated. Returns the length written. */
size_t metrics_label_value_sanitize(const char *value, char *out, size_t out_size);

#endif
