#include "lib/cli/number.h"

#include <errno.h>
#include <stdlib.h>

int cli_parse_long(const char *s, long min, long *ret)
{
	char *end;
	long v;

	if (!s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -EINVAL;
	*ret = v;
	return 0;
}
