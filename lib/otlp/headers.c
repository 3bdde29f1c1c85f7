#include "lib/otlp/headers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "lib/text/hex.h"

/* Copies s[0..len) trimmed of spaces, percent-decoded when decode is set. Returns a new
 * string, or NULL with *ret_err set. */
static char *token(const char *s, size_t len, bool decode, int *ret_err)
{
	char *out;
	size_t k = 0;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	out = malloc(len + 1);
	if (!out) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (decode && c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				goto bad;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\r' || c == '\n' || c == '\0')
			goto bad;
		out[k++] = c;
	}
	out[k] = '\0';
	return out;
bad:
	free(out);
	*ret_err = -EINVAL;
	return NULL;
}

int otlp_headers_parse(const char *s, struct otlp_header **ret_headers, size_t *ret_n)
{
	struct otlp_header *h;
	size_t n = 0;
	const char *p = s;
	int err = 0;

	h = calloc(OTLP_HEADERS_MAX, sizeof(*h));
	if (!h)
		return -ENOMEM;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		char *name, *value;

		if (strspn(p, " \t") >= len) { /* an empty item, as in "a=b,,c=d" */
			p = comma ? comma + 1 : NULL;
			continue;
		}
		if (!eq) {
			err = -EINVAL;
			goto fail;
		}
		if (n == OTLP_HEADERS_MAX) {
			err = -E2BIG;
			goto fail;
		}
		name = token(p, (size_t)(eq - p), false, &err);
		if (!name)
			goto fail;
		value = token(eq + 1, len - (size_t)(eq - p) - 1, true, &err);
		if (!value || !*name) {
			free(name);
			free(value);
			err = err ? err : -EINVAL;
			goto fail;
		}
		h[n].name = name;
		h[n].value = value;
		n++;
		p = comma ? comma + 1 : NULL;
	}
	*ret_headers = h;
	*ret_n = n;
	return 0;
fail:
	otlp_headers_free(h, n);
	return err;
}

void otlp_headers_free(struct otlp_header *headers, size_t n)
{
	if (!headers)
		return;
	for (size_t i = 0; i < n; i++) {
		free((char *)(uintptr_t)headers[i].name);
		free((char *)(uintptr_t)headers[i].value);
	}
	free(headers);
}
