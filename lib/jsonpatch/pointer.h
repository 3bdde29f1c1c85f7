/* JSON Pointer (RFC 6901): building paths from keys and walking a jansson document.
 * A pointer is "" (the whole document) or a series of "/token"; in a token "~1"
 * stands for '/' and "~0" for '~'. Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_JSONPATCH_POINTER_H
#define AUTOTRACE_JSONPATCH_POINTER_H

#include <stddef.h>
#include <jansson.h>

/* Longest pointer accepted, and most tokens in one; a peer controls both. */
#define JSONPOINTER_MAX_LEN    4096
#define JSONPOINTER_MAX_TOKENS 128

/* Returns a new string "<base>/<key escaped>" (caller frees), or NULL when out of memory. */
char *jsonpointer_join_new(const char *base, const char *key);

/* Splits a pointer into unescaped tokens. On success *ret_tokens is a new array of
 * *ret_count strings in one allocation (free with free()). -EINVAL for a pointer that
 * does not start with '/', a '~' not followed by '0' or '1', or one over the bounds. */
int jsonpointer_split(const char *pointer, char ***ret_tokens, size_t *ret_count);

/* Parses an array index token: digits without a leading zero. -EINVAL otherwise
 * ("-" included: the caller decides what "-" means). */
int jsonpointer_parse_index(const char *token, size_t *ret_index);

/* Borrowed reference to the value at pointer inside doc, or NULL if there is none. */
json_t *jsonpointer_get(json_t *doc, const char *pointer);

#endif
