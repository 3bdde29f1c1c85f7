#include "operator/base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

int base64_encode(const void *data, size_t len, char **ret_text)
{
	char *out;

	if (len > (size_t)1 << 30)
		return -E2BIG;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	*ret_text = out;
	return 0;
}

int base64_decode(const char *text, unsigned char **ret_data, size_t *ret_len)
{
	size_t n = strlen(text), pad = 0;
	unsigned char *out;
	int got;

	if (n % 4 != 0 || n > (size_t)1 << 30)
		return -EINVAL;
	if (n >= 1 && text[n - 1] == '=')
		pad++;
	if (n >= 2 && text[n - 2] == '=')
		pad++;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	/* EVP_DecodeBlock counts padding as zero bytes; the padding is taken off below. */
	got = n ? EVP_DecodeBlock(out, (const unsigned char *)text, (int)n) : 0;
	if (got < 0 || (size_t)got < pad) {
		free(out);
		return -EINVAL;
	}
	got -= (int)pad;
	out[got] = '\0';
	*ret_data = out;
	*ret_len = (size_t)got;
	return 0;
}
