#include "lib/text/base64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *data, size_t len, char **ret_text)
{
	const unsigned char *in = data;
	char *out, *p;
	size_t i;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
		return -E2BIG;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return -ENOMEM;
	p = out;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*p++ = ALPHABET[v >> 18];
		*p++ = ALPHABET[(v >> 12) & 63];
		*p++ = ALPHABET[(v >> 6) & 63];
		*p++ = ALPHABET[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		*p++ = ALPHABET[v >> 18];
		*p++ = ALPHABET[(v >> 12) & 63];
		*p++ = i + 1 < len ? ALPHABET[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	*ret_text = out;
	return 0;
}

/* A symbol's value, or -1 for a character outside the alphabet. */
static int symbol_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int is_line_break(char c)
{
	return c == '\r' || c == '\n';
}

int base64_decode(const char *text, unsigned char **ret_data, size_t *ret_len)
{
	size_t symbols = 0, taken = 0, n = 0;
	unsigned char *out;
	uint32_t quantum = 0;
	int in_quantum = 0, pad = 0;

	for (const char *p = text; *p; p++)
		symbols += !is_line_break(*p);
	if (symbols % 4 != 0)
		return -EINVAL;
	out = malloc(symbols / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	for (const char *p = text; *p; p++) {
		int v;

		if (is_line_break(*p))
			continue;
		if (*p == '=') {
			/* Only the last quantum's third and fourth symbols may be padding. */
			if (in_quantum < 2)
				goto fail;
			pad++;
			v = 0;
		} else {
			v = symbol_value((unsigned char)*p);
			if (v < 0 || pad)
				goto fail;
		}
		taken++;
		quantum = quantum << 6 | (uint32_t)v;
		if (++in_quantum < 4)
			continue;
		out[n++] = (unsigned char)(quantum >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(quantum >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)quantum;
		quantum = 0;
		in_quantum = 0;
		if (pad)
			break;
	}
	/* Nothing but line breaks after the padding. */
	if (taken != symbols)
		goto fail;
	out[n] = '\0';
	*ret_data = out;
	*ret_len = n;
	return 0;
fail:
	free(out);
	return -EINVAL;
}
