#include "agent/capabilities.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fs/read_file.h"

/* Numbers from linux/capability.h; older libc headers lack CAP_BPF and CAP_PERFMON. */
enum { CAPNUM_SYS_PTRACE = 19, CAPNUM_SYS_ADMIN = 21, CAPNUM_PERFMON = 38, CAPNUM_BPF = 39 };

struct needed_cap {
	int number;
	const char *name, *why;
};

static const struct needed_cap needed[] = {
	{ CAPNUM_BPF, "CAP_BPF", "loads the BPF programs" },
	{ CAPNUM_PERFMON, "CAP_PERFMON", "attaches the uprobes" },
	{ CAPNUM_SYS_PTRACE, "CAP_SYS_PTRACE", "reads the traced processes' binaries in /proc" },
};

static int has(uint64_t set, int number)
{
	return (set >> number) & 1;
}

int capabilities_parse_status(const char *status, uint64_t *ret_effective)
{
	const char *line = status ? strstr(status, "\nCapEff:") : NULL;
	char *end;
	uint64_t v;

	if (!line)
		return -EINVAL;
	line += strlen("\nCapEff:");
	line += strspn(line, " \t");
	if (!isxdigit((unsigned char)*line))
		return -EINVAL;
	errno = 0;
	v = strtoull(line, &end, 16);
	if (errno || end == line || (*end != '\n' && *end != '\0'))
		return -EINVAL;
	*ret_effective = v;
	return 0;
}

int capabilities_missing(uint64_t effective, char *buf, size_t size)
{
	int missing = 0;
	size_t used = 0;

	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		const struct needed_cap *c = &needed[i];
		int admin_will_do = c->number != CAPNUM_SYS_PTRACE && has(effective, CAPNUM_SYS_ADMIN);
		int n;

		if (has(effective, c->number) || admin_will_do)
			continue;
		n = used < size ? snprintf(buf + used, size - used, "%s%s (the agent %s)",
					   missing ? "; " : "", c->name, c->why)
				: 0;
		if (n > 0)
			used += (size_t)n;
		missing++;
	}
	return missing;
}

int capabilities_effective(uint64_t *ret_effective)
{
	char *text = NULL;
	size_t len;
	int r;

	r = read_file_bounded("/proc/self/status", 1 << 16, &text, &len);
	if (r < 0)
		return r;
	/* The first line is "Name:", so a leading newline is never needed. */
	r = capabilities_parse_status(text, ret_effective);
	free(text);
	return r;
}
