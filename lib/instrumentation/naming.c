#include "lib/instrumentation/naming.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One label of [a-z0-9]([-a-z0-9]*[a-z0-9])?, of n characters. */
static int is_label_chars(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int k8s_is_dns1123_label(const char *s)
{
	size_t n = strlen(s);

	return n <= K8S_LABEL_MAX && is_label_chars(s, n);
}

int k8s_is_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	const char *start = s, *dot;

	if (n == 0 || n > K8S_SUBDOMAIN_MAX)
		return 0;
	for (;;) {
		dot = strchr(start, '.');
		if (!is_label_chars(start, dot ? (size_t)(dot - start) : strlen(start)))
			return 0;
		if (!dot)
			return 1;
		start = dot + 1;
	}
}

int instrumentation_configmap_name(const char *ns, const char *name, char *buf, size_t size)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char joined[K8S_LABEL_MAX + 1 + K8S_SUBDOMAIN_MAX + 1];
	size_t len, room;
	int n;

	if (!k8s_is_dns1123_label(ns) || !k8s_is_dns1123_subdomain(name))
		return -EINVAL;
	if (size < INSTRUMENTATION_CONFIGMAP_NAME_SIZE)
		return -ENOBUFS;
	n = snprintf(buf, size, "autotrace.%s.%s", ns, name);
	if (n > 0 && (size_t)n <= K8S_SUBDOMAIN_MAX)
		return 0;

	snprintf(joined, sizeof(joined), "%s/%s", ns, name);
	SHA256((const unsigned char *)joined, strlen(joined), digest);
	memcpy(buf, "autotrace-", 10);
	for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(buf + 10 + 2 * i, 3, "%02x", digest[i]);
	len = 10 + 2 * SHA256_DIGEST_LENGTH;
	/* The readable tail: "ns.name" cut to fit; a valid subdomain's prefix is valid
	 * once trailing '-' and '.' are dropped. */
	snprintf(joined, sizeof(joined), "%s.%s", ns, name);
	room = K8S_SUBDOMAIN_MAX - len - 1;
	if (strlen(joined) > room)
		joined[room] = '\0';
	for (size_t j = strlen(joined); j > 0 && !is_lower_alnum(joined[j - 1]); j--)
		joined[j - 1] = '\0';
	buf[len] = '\0';
	if (joined[0]) {
		buf[len] = '.';
		memcpy(buf + len + 1, joined, strlen(joined) + 1);
	}
	return 0;
}
