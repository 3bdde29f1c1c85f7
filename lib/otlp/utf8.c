#include "lib/otlp/utf8.h"

#include <string.h>

static bool is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t utf8_char_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0; /* continuation byte or overlong 2-byte lead */
	if (c < 0xE0)
		return n >= 2 && is_cont(s[1]) ? 2 : 0;
	if (c < 0xF0) {
		if (n < 3 || !is_cont(s[1]) || !is_cont(s[2]))
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && s[1] > 0x9F)
			return 0; /* UTF-16 surrogate */
		return 3;
	}
	if (c < 0xF5) {
		if (n < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3]))
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xF4 && s[1] > 0x8F)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0;
}

size_t utf8_copy_sanitized(char *dst, size_t cap, const char *src, size_t len,
			   bool *ret_truncated)
{
	static const char replacement[] = "\xEF\xBF\xBD";
	const unsigned char *s = (const unsigned char *)src;
	size_t in = 0, out = 0;

	while (in < len) {
		size_t end = len - in < cap - out ? len : in + (cap - out);
		size_t run = in, n, width;
		const char *from;

		/* ASCII, nearly all of what probes copy, goes in runs. */
		while (run < end && s[run] < 0x80)
			run++;
		if (run > in) {
			memcpy(dst + out, src + in, run - in);
			out += run - in;
			in = run;
			continue;
		}
		if (out == cap)
			break;
		n = utf8_char_len(s + in, len - in);
		from = src + in;
		width = n;

		if (n == 0) {
			from = replacement;
			width = sizeof(replacement) - 1;
			n = 1;
		}
		if (width > cap - out)
			break;
		memcpy(dst + out, from, width);
		out += width;
		in += n;
	}
	*ret_truncated = in < len;
	return out;
}
