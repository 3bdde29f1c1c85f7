/* What built a Go executable, from its .go.buildinfo section: the Go version
 * ("go1.22.12") and the module list `go version -m` prints (main module, dependencies
 * with their versions and replacements, build settings).
 *
 * Both layouts are read: Go 1.18+ stores the two strings inline as varint-prefixed
 * bytes (flag bit 2); older toolchains store pointers to Go string headers elsewhere in
 * the data segment.
 *
 * Errors: 0 or a negative errno (-ENOENT no build info, -EINVAL malformed, -EFBIG over
 * the bounds below). */
#ifndef AUTOTRACE_AGENT_GO_BUILDINFO_H
#define AUTOTRACE_AGENT_GO_BUILDINFO_H

#include <stddef.h>

#include "agent/elf_file.h"

#define GO_BUILDINFO_MAX_VERSION 64
#define GO_BUILDINFO_MAX_MODINFO (1u << 20)
#define GO_BUILDINFO_MAX_MODULES 10000
#define GO_BUILDINFO_MAX_SETTINGS 1000

struct go_module {
	const char *path;
	const char *version; /* "(devel)" for a main module built from a checkout */
	const char *sum;     /* "" when absent */
	const char *replaced_by_path;    /* NULL when not replaced */
	const char *replaced_by_version; /* NULL when not replaced */
};

struct go_version {
	unsigned major, minor, patch; /* go1.22.12 -> 1, 22, 12; go1.21 -> 1, 21, 0 */
};

struct go_buildinfo;

/* Reads file's build info. Returns a new go_buildinfo in ret_info (it owns copies of
 * all strings; it does not borrow from file). */
int go_buildinfo_read(struct elf_file *file, struct go_buildinfo **ret_info);
/* Parses the two strings of a build info record (exposed for tests and fuzzing).
 * modinfo may be the raw section string, with its 16-byte sentinels. */
int go_buildinfo_parse(const char *go_version, size_t version_len, const char *modinfo,
		       size_t modinfo_len, struct go_buildinfo **ret_info);
struct go_buildinfo *go_buildinfo_free(struct go_buildinfo *info);

/* Getters borrow from info. */
const char *go_buildinfo_go_version(const struct go_buildinfo *info);
/* The main module; NULL fields when the binary has no module information. */
const struct go_module *go_buildinfo_main(const struct go_buildinfo *info);
size_t go_buildinfo_dep_count(const struct go_buildinfo *info);
const struct go_module *go_buildinfo_dep(const struct go_buildinfo *info, size_t i);
/* The dependency with this module path, or NULL. */
const struct go_module *go_buildinfo_find_dep(const struct go_buildinfo *info,
					      const char *path);
/* A build setting ("-buildmode", "CGO_ENABLED", "vcs.revision"...), or NULL. */
const char *go_buildinfo_setting(const struct go_buildinfo *info, const char *key);

/* "go1.22.12", "go1.21rc2", "go1.24.0 X:nocoverageredesign" -> numbers; -EINVAL when
 * the string does not start with "go<major>.<minor>". */
int go_version_parse(const char *s, struct go_version *ret_version);

#endif
