#include "lib/http/listen_addr.h"

#include <errno.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *ret_port)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*ret_port = (uint16_t)v;
	return 0;
}

int http_listen_addr_parse(const char *text, struct http_listen_addr *ret_addr)
{
	struct http_listen_addr addr = { 0 };
	const char *host, *colon;
	size_t host_len;
	int r;

	if (!text || !*text)
		return -EINVAL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		host = text + 1;
		host_len = (size_t)(close - host);
		if (host_len == 0)
			return -EINVAL;
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		host = text;
		host_len = (size_t)(colon - text);
		/* An unbracketed IPv6 literal is ambiguous: "::1:80". */
		if (memchr(host, ':', host_len) || memchr(host, ']', host_len))
			return -EINVAL;
	}
	if (host_len >= sizeof(addr.host))
		return -EINVAL;
	r = parse_port(colon + 1, &addr.port);
	if (r < 0)
		return r;
	memcpy(addr.host, host, host_len);
	addr.host[host_len] = '\0';
	*ret_addr = addr;
	return 0;
}
