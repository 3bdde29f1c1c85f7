#include "lib/metrics/names.h"

#include <string.h>

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool identifier_valid(const char *name)
{
	if (!name || !is_name_start(name[0]))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!is_name_char(*p))
			return false;
	return true;
}

bool metrics_name_valid(const char *name)
{
	return identifier_valid(name);
}

bool metrics_label_name_valid(const char *name)
{
	return identifier_valid(name) && strncmp(name, "__", 2) != 0;
}

bool metrics_name_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n >= s && memcmp(name + n - s, suffix, s) == 0;
}
