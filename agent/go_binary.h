/* One Go executable as the agent sees it before attaching probes: its build info, its
 * function index, its struct offsets and the probe points of the functions asked
 * for. A facade over elf_file, go_buildinfo, go_symbols, go_offsets and probe_points,
 * which the attach code uses one binary at a time.
 *
 * go_binary_open fails only when the file cannot be a traced Go program: -ENOEXEC for
 * a file that is not a 64-bit little-endian ELF or has no Go build info, or whatever
 * reading its function index returned. Offsets it could not resolve do not fail the
 * open (the symbols stay usable): go_binary_offsets returns that error
 * (-EPROTONOSUPPORT for a Go version without a table row and no DWARF), for the
 * caller to log and count.
 *
 * Errors: 0 or a negative errno. Not thread-safe; one go_binary per thread. */
#ifndef AUTOTRACE_AGENT_GO_BINARY_H
#define AUTOTRACE_AGENT_GO_BINARY_H

#include <stddef.h>

#include "agent/elf_file.h"
#include "agent/go_buildinfo.h"
#include "agent/go_offsets.h"
#include "agent/go_symbols.h"
#include "agent/probe_points.h"

struct go_binary;

struct go_binary_opts {
	struct elf_file_opts elf; /* zeros: elf_file's defaults */
};

/* Opens and indexes path. Returns a new go_binary in ret_binary. */
int go_binary_open(const char *path, const struct go_binary_opts *opts,
		   struct go_binary **ret_binary);
/* The same from an open file descriptor (not owned; keep it open until freed), e.g.
 * /proc/<pid>/exe of a traced process. */
int go_binary_open_fd(int fd, const struct go_binary_opts *opts, struct go_binary **ret_binary);
/* Accepts NULL; returns NULL. */
struct go_binary *go_binary_free(struct go_binary *binary);

/* Getters borrow from binary. */
const struct go_buildinfo *go_binary_buildinfo(const struct go_binary *binary);
const struct go_symtab *go_binary_symtab(const struct go_binary *binary);
struct elf_file *go_binary_elf(struct go_binary *binary);
/* The resolved offsets in ret_offsets (borrowed), or the error resolving them gave. */
int go_binary_offsets(const struct go_binary *binary, const struct go_offsets **ret_offsets);

/* Probe points of the function called name (see probe_points.h): -ENOENT when the
 * binary has no such function, -ENOTUNIQ when the name is ambiguous. */
int go_binary_entry_point(struct go_binary *binary, const char *name,
			  struct probe_point *ret_point);
/* probe_call_points of caller's first call of callee, both by name. */
int go_binary_call_points(struct go_binary *binary, const char *caller, const char *callee,
			  struct probe_point *ret_after, struct probe_point *ret_error,
			  int *ret_error_status);
/* probe_joining_call_point of caller and callee, both by name. */
int go_binary_joining_call_point(struct go_binary *binary, const char *caller,
				 const char *callee, struct probe_point *ret_point);
int go_binary_ret_points(struct go_binary *binary, const char *name, struct probe_point *points,
			 size_t cap, size_t *ret_count);

#endif
