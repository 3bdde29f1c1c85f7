#include "lib/jsonpatch/pointer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *jsonpointer_join_new(const char *base, const char *key)
{
	size_t blen = strlen(base), extra = 0;
	char *out, *p;

	for (const char *k = key; *k; k++)
		extra += (*k == '/' || *k == '~') ? 2 : 1;
	out = malloc(blen + 1 + extra + 1);
	if (!out)
		return NULL;
	memcpy(out, base, blen);
	p = out + blen;
	*p++ = '/';
	for (const char *k = key; *k; k++) {
		if (*k == '~') {
			*p++ = '~';
			*p++ = '0';
		} else if (*k == '/') {
			*p++ = '~';
			*p++ = '1';
		} else {
			*p++ = *k;
		}
	}
	*p = '\0';
	return out;
}

int jsonpointer_split(const char *pointer, char ***ret_tokens, size_t *ret_count)
{
	size_t len = strlen(pointer), count = 0;
	char **tokens = NULL;
	char *text, *w;
	const char *r;

	if (len > JSONPOINTER_MAX_LEN)
		return -EINVAL;
	if (len > 0 && pointer[0] != '/')
		return -EINVAL;
	for (r = pointer; *r; r++)
		if (*r == '/')
			count++;
	if (count > JSONPOINTER_MAX_TOKENS)
		return -EINVAL;
	/* One block: the pointer array, then the unescaped text (never longer). */
	tokens = malloc((count + 1) * sizeof(char *) + len + 1);
	if (!tokens)
		return -ENOMEM;
	text = (char *)(tokens + count + 1);
	w = text;
	count = 0;
	for (r = pointer; *r;) {
		r++; /* the '/' */
		tokens[count++] = w;
		while (*r && *r != '/') {
			if (*r == '~') {
				if (r[1] == '0')
					*w++ = '~';
				else if (r[1] == '1')
					*w++ = '/';
				else
					goto invalid;
				r += 2;
			} else {
				*w++ = *r++;
			}
		}
		*w++ = '\0';
	}
	tokens[count] = NULL;
	*ret_tokens = tokens;
	*ret_count = count;
	return 0;
invalid:
	free(tokens);
	return -EINVAL;
}

int jsonpointer_parse_index(const char *token, size_t *ret_index)
{
	size_t v = 0;

	if (!token[0] || (token[0] == '0' && token[1]))
		return -EINVAL;
	for (const char *p = token; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > ((size_t)-1 - 9) / 10)
			return -EINVAL;
		v = v * 10 + (size_t)(*p - '0');
	}
	*ret_index = v;
	return 0;
}

json_t *jsonpointer_get(json_t *doc, const char *pointer)
{
	char **tokens = NULL;
	size_t count = 0, idx;
	json_t *cur = doc;

	if (!doc || jsonpointer_split(pointer, &tokens, &count) < 0)
		return NULL;
	for (size_t i = 0; i < count && cur; i++) {
		if (json_is_object(cur))
			cur = json_object_get(cur, tokens[i]);
		else if (json_is_array(cur) && jsonpointer_parse_index(tokens[i], &idx) == 0)
			cur = json_array_get(cur, idx);
		else
			cur = NULL;
	}
	free(tokens);
	return cur;
}
