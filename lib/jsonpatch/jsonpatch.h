/* JSON Patch (RFC 6902) applied to jansson documents: add, remove, replace, move,
 * copy and test, with "-" to append to an array and RFC 6901 "~0"/"~1" escapes.
 * The webhook's tests apply the patches it builds with this, so a patch is checked
 * against the pod it was made for, the way the API server would apply it.
 * Errors are 0 or a negative errno. */
#ifndef AUTOTRACE_JSONPATCH_H
#define AUTOTRACE_JSONPATCH_H

#include <stddef.h>
#include <jansson.h>

/* Most operations in one patch; a peer controls the count. */
#define JSONPATCH_MAX_OPS 10000

/* Applies patch (a JSON array of operations) to a copy of doc; doc is never modified.
 * All or nothing: on success *ret_doc is a new reference to the patched document; on
 * failure nothing is returned and err (if not NULL) says which operation failed and why.
 * -EINVAL: the patch or one operation is malformed (unknown op, bad pointer, missing
 *          member, move into its own child);
 * -ENOENT: a path or "from" names a location that does not exist;
 * -ERANGE: an array index past the end;
 * -ECANCELED: a "test" operation did not match;
 * -E2BIG:  more than JSONPATCH_MAX_OPS operations;
 * -ENOMEM. */
int jsonpatch_apply(const json_t *doc, const json_t *patch, json_t **ret_doc, char *err,
		    size_t err_size);

/* JSON equality as RFC 6902 "test" defines it: numbers compare by value (1 == 1.0),
 * objects regardless of member order, arrays element by element. */
int jsonpatch_values_equal(const json_t *a, const json_t *b);

#endif
