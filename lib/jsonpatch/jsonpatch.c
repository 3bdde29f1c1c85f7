#include "lib/jsonpatch/jsonpatch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonpatch/pointer.h"

static void set_err(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

int jsonpatch_values_equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *av;

	if (!a || !b)
		return a == b;
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, key, av) {
			json_t *bv = json_object_get(b, key);

			if (!bv || !jsonpatch_values_equal(av, bv))
				return 0;
		}
		return 1;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!jsonpatch_values_equal(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	default:
		return json_equal((json_t *)a, (json_t *)b);
	}
}

/* What a patch may make of a document. A peer writes the patch: "copy" can double a
 * document per operation and "move" can nest it deeper per operation, so both are
 * bounded (depth keeps jansson's recursive free and dump off the end of the stack). */
#define JSONPATCH_MAX_DEPTH	   4096
#define JSONPATCH_MAX_NODES_MOVED  (1u << 22)

struct budget {
	size_t nodes_left;
};

/* Depth of value (a scalar is 1), charging every node to the budget; -E2BIG when
 * the budget runs out or the depth passes limit. */
static int measure_depth(const json_t *value, struct budget *b, size_t limit, size_t *ret_depth)
{
	size_t deepest = 0, d;
	const char *key;
	json_t *child;
	int r;

	if (b->nodes_left == 0 || limit == 0)
		return -E2BIG;
	b->nodes_left--;
	if (json_is_object(value)) {
		json_object_foreach((json_t *)value, key, child) {
			r = measure_depth(child, b, limit - 1, &d);
			if (r < 0)
				return r;
			if (d > deepest)
				deepest = d;
		}
	} else if (json_is_array(value)) {
		for (size_t i = 0; i < json_array_size(value); i++) {
			r = measure_depth(json_array_get(value, i), b, limit - 1, &d);
			if (r < 0)
				return r;
			if (d > deepest)
				deepest = d;
		}
	}
	*ret_depth = deepest + 1;
	return 0;
}

/* May value be placed at path without passing the depth and size bounds? */
static int check_placement(const json_t *value, const char *path, struct budget *b)
{
	size_t tokens = 0, depth;

	for (const char *p = path; *p; p++)
		tokens += *p == '/';
	if (tokens >= JSONPATCH_MAX_DEPTH)
		return -E2BIG;
	return measure_depth(value, b, JSONPATCH_MAX_DEPTH - tokens, &depth);
}

/* The container that holds the last token of tokens, borrowed; NULL if missing. */
static json_t *parent_of(json_t *root, char **tokens, size_t count)
{
	json_t *cur = root;
	size_t idx;

	for (size_t i = 0; i + 1 < count && cur; i++) {
		if (json_is_object(cur))
			cur = json_object_get(cur, tokens[i]);
		else if (json_is_array(cur) && jsonpointer_parse_index(tokens[i], &idx) == 0)
			cur = json_array_get(cur, idx);
		else
			cur = NULL;
	}
	return cur;
}

/* Adds value at path. Steals value (also on failure). */
static int op_add(json_t **root, const char *path, json_t *value)
{
	char **tokens = NULL;
	size_t count = 0, idx;
	json_t *parent;
	const char *last;
	int r;

	r = jsonpointer_split(path, &tokens, &count);
	if (r < 0)
		goto fail;
	if (count == 0) {
		json_decref(*root);
		*root = value;
		free(tokens);
		return 0;
	}
	parent = parent_of(*root, tokens, count);
	last = tokens[count - 1];
	if (json_is_object(parent)) {
		r = json_object_set_new(parent, last, value) < 0 ? -ENOMEM : 0;
		value = NULL;
	} else if (json_is_array(parent)) {
		if (strcmp(last, "-") == 0) {
			r = json_array_append_new(parent, value) < 0 ? -ENOMEM : 0;
		} else if (jsonpointer_parse_index(last, &idx) < 0) {
			r = -EINVAL;
			goto fail;
		} else if (idx > json_array_size(parent)) {
			r = -ERANGE;
			goto fail;
		} else {
			r = json_array_insert_new(parent, idx, value) < 0 ? -ENOMEM : 0;
		}
		value = NULL;
	} else {
		r = -ENOENT;
		goto fail;
	}
fail:
	json_decref(value);
	free(tokens);
	return r;
}

/* Removes the value at path; with ret_value, hands it over as a new reference. */
static int op_remove(json_t **root, const char *path, json_t **ret_value)
{
	char **tokens = NULL;
	size_t count = 0, idx;
	json_t *parent, *value = NULL;
	const char *last;
	int r;

	r = jsonpointer_split(path, &tokens, &count);
	if (r < 0)
		goto cleanup;
	if (count == 0) {
		r = -EINVAL; /* removing the whole document leaves nothing to return */
		goto cleanup;
	}
	parent = parent_of(*root, tokens, count);
	last = tokens[count - 1];
	if (json_is_object(parent)) {
		value = json_object_get(parent, last);
		if (!value) {
			r = -ENOENT;
			goto cleanup;
		}
		json_incref(value);
		json_object_del(parent, last);
	} else if (json_is_array(parent)) {
		if (jsonpointer_parse_index(last, &idx) < 0) {
			r = strcmp(last, "-") == 0 ? -ERANGE : -EINVAL;
			goto cleanup;
		}
		if (idx >= json_array_size(parent)) {
			r = -ERANGE;
			goto cleanup;
		}
		value = json_incref(json_array_get(parent, idx));
		json_array_remove(parent, idx);
	} else {
		r = -ENOENT;
		goto cleanup;
	}
	if (ret_value) {
		*ret_value = value;
		value = NULL;
	}
cleanup:
	json_decref(value);
	free(tokens);
	return r;
}

/* Replaces the value at path, which must exist. Steals value. */
static int op_replace(json_t **root, const char *path, json_t *value)
{
	json_t *old = NULL;
	int r;

	if (path[0] == '\0') {
		json_decref(*root);
		*root = value;
		return 0;
	}
	/* Remove then add at the same place: arrays keep their order. */
	r = op_remove(root, path, &old);
	if (r < 0) {
		json_decref(value);
		return r;
	}
	json_decref(old);
	return op_add(root, path, value);
}

/* Is from a proper prefix of path, token-wise ("/a" of "/a/b", not of "/ab")? */
static int is_proper_prefix(const char *from, const char *path)
{
	size_t n = strlen(from);

	return strncmp(from, path, n) == 0 && path[n] == '/';
}

static const char *member_string(const json_t *op, const char *name)
{
	return json_string_value(json_object_get(op, name));
}

static int apply_one(json_t **root, const json_t *op, struct budget *b, char *err,
		     size_t err_size, size_t i)
{
	const char *name = member_string(op, "op");
	const char *path = member_string(op, "path");
	const char *from = member_string(op, "from");
	json_t *value = json_object_get(op, "value");
	json_t *moved = NULL;
	int r;

	if (!json_is_object(op) || !name || !path) {
		set_err(err, err_size, "operation %zu: needs string members \"op\" and \"path\"", i);
		return -EINVAL;
	}
	if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0 ||
	    strcmp(name, "test") == 0) {
		if (!value) {
			set_err(err, err_size, "operation %zu (%s): no \"value\"", i, name);
			return -EINVAL;
		}
	} else if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
		if (!from) {
			set_err(err, err_size, "operation %zu (%s): no \"from\"", i, name);
			return -EINVAL;
		}
	} else if (strcmp(name, "remove") != 0) {
		set_err(err, err_size, "operation %zu: unknown op \"%.32s\"", i, name);
		return -EINVAL;
	}

	if (strcmp(name, "add") == 0) {
		moved = json_deep_copy(value);
		r = moved ? op_add(root, path, moved) : -ENOMEM;
	} else if (strcmp(name, "remove") == 0) {
		r = op_remove(root, path, NULL);
	} else if (strcmp(name, "replace") == 0) {
		moved = json_deep_copy(value);
		r = moved ? op_replace(root, path, moved) : -ENOMEM;
	} else if (strcmp(name, "test") == 0) {
		json_t *cur;
		char **tokens = NULL;
		size_t count;

		r = jsonpointer_split(path, &tokens, &count);
		free(tokens);
		if (r == 0) {
			cur = jsonpointer_get(*root, path);
			r = !cur ? -ENOENT : jsonpatch_values_equal(cur, value) ? 0 : -ECANCELED;
		}
	} else if (strcmp(name, "move") == 0) {
		if (is_proper_prefix(from, path)) {
			set_err(err, err_size, "operation %zu (move): \"%.200s\" into its own child",
				i, from);
			return -EINVAL;
		}
		if (strcmp(from, path) == 0) {
			r = jsonpointer_get(*root, from) ? 0 : -ENOENT;
		} else if (!jsonpointer_get(*root, from)) {
			r = -ENOENT;
		} else if ((r = check_placement(jsonpointer_get(*root, from), path, b)) < 0) {
			/* r set */
		} else {
			r = op_remove(root, from, &moved);
			if (r == 0)
				r = op_add(root, path, moved);
		}
	} else { /* copy */
		json_t *src = jsonpointer_get(*root, from);

		if (!src) {
			r = -ENOENT;
		} else if ((r = check_placement(src, path, b)) < 0) {
			/* r set */
		} else {
			moved = json_deep_copy(src);
			r = moved ? op_add(root, path, moved) : -ENOMEM;
		}
	}
	if (r < 0)
		set_err(err, err_size, "operation %zu (%s \"%.200s\"): %s", i, name, path,
			r == -ECANCELED ? "test failed" :
			r == -ENOENT	? "no such location" :
			r == -ERANGE	? "array index out of range" :
			r == -ENOMEM	? "out of memory" :
			r == -E2BIG	? "result too large or too deep" :
					  "invalid pointer");
	return r;
}

int jsonpatch_apply(const json_t *doc, const json_t *patch, json_t **ret_doc, char *err,
		    size_t err_size)
{
	struct budget b = { .nodes_left = JSONPATCH_MAX_NODES_MOVED };
	json_t *root = NULL;
	int r = 0;

	if (!doc || !json_is_array(patch)) {
		set_err(err, err_size, "a patch is a JSON array of operations");
		return -EINVAL;
	}
	if (json_array_size(patch) > JSONPATCH_MAX_OPS) {
		set_err(err, err_size, "more than %d operations", JSONPATCH_MAX_OPS);
		return -E2BIG;
	}
	root = json_deep_copy(doc);
	if (!root)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(patch); i++) {
		r = apply_one(&root, json_array_get(patch, i), &b, err, err_size, i);
		if (r < 0)
			goto fail;
	}
	*ret_doc = root;
	return 0;
fail:
	json_decref(root);
	return r;
}
