#include "lib/metrics/label_value.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid: a stray
 * continuation byte, a truncated sequence, an overlong form, a surrogate or a code
 * point above U+10FFFF. */
static size_t utf8_sequence_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL terminator */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	return len;
}

bool metrics_label_value_clean(const char *value, size_t max_len)
{
	const unsigned char *p = (const unsigned char *)value;
	size_t total = 0;

	while (*p) {
		size_t n = utf8_sequence_len(p);

		if (n == 0)
			return false;
		total += n;
		if (total > max_len)
			return false;
		p += n;
	}
	return true;
}

size_t metrics_label_value_sanitize(const char *value, char *out, size_t out_size)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *p = (const unsigned char *)value;
	size_t used = 0;

	while (*p) {
		size_t n = utf8_sequence_len(p);
		const void *src = p;
		size_t len = n;

		if (n == 0) {
			src = replacement;
			len = 3;
			n = 1;
		}
		if (used + len > out_size - 1)
			break;
		memcpy(out + used, src, len);
		used += len;
		p += n;
	}
	out[used] = '\0';
	return used;
}
