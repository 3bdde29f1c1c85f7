#include "agent/container_id.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *scheme;
	enum container_runtime runtime;
} schemes[] = {
	{ "containerd", CONTAINER_RUNTIME_CONTAINERD },
	{ "cri-o", CONTAINER_RUNTIME_CRIO },
	{ "docker", CONTAINER_RUNTIME_DOCKER },
};

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool container_id_is_valid(const char *s, size_t len)
{
	if (len != CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

int container_id_parse(const char *s, struct container_id *ret)
{
	const char *sep;

	if (!s || !*s)
		return -ENOENT;
	sep = strstr(s, "://");
	if (!sep)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].scheme);

		if ((size_t)(sep - s) != n || strncmp(s, schemes[i].scheme, n) != 0)
			continue;
		if (!container_id_is_valid(sep + 3, strlen(sep + 3)))
			return -EINVAL;
		ret->runtime = schemes[i].runtime;
		memcpy(ret->id, sep + 3, CONTAINER_ID_LEN + 1);
		return 0;
	}
	return -EINVAL;
}

const char *container_runtime_name(enum container_runtime rt)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (schemes[i].runtime == rt)
			return schemes[i].scheme;
	return "unknown";
}

bool pod_uid_normalize(const char *s, size_t len, char sep, char ret_uid[POD_UID_MAX + 1])
{
	/* Where the separators of an 8-4-4-4-12 UID are. */
	static const size_t dashes[] = { 8, 13, 18, 23 };
	char out[POD_UID_MAX + 1];
	size_t d = 0;

	if (len == 32) {
		for (size_t i = 0; i < len; i++)
			if (!is_lower_hex(s[i]))
				return false;
		memcpy(ret_uid, s, len);
		ret_uid[len] = '\0';
		return true;
	}
	if (len != POD_UID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (d < 4 && i == dashes[d]) {
			if (s[i] != sep)
				return false;
			out[i] = '-';
			d++;
		} else if (!is_lower_hex(s[i])) {
			return false;
		} else {
			out[i] = s[i];
		}
	}
	out[len] = '\0';
	memcpy(ret_uid, out, sizeof(out));
	return true;
}
