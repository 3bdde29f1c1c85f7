/* A Go executable ready for probing; see go_binary.h. */
#include "agent/go_binary.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/log/log.h"

struct go_binary {
	struct elf_file *file;
	struct go_buildinfo *info;
	struct go_symtab *symtab;
	struct probe_disasm *disasm;
	struct go_offsets offsets;
	int offsets_rc;
};

struct go_binary *go_binary_free(struct go_binary *binary)
{
	if (!binary)
		return NULL;
	/* The index borrows from the file: it goes first. */
	go_symtab_free(binary->symtab);
	probe_disasm_free(binary->disasm);
	go_buildinfo_free(binary->info);
	elf_file_free(binary->file);
	free(binary);
	return NULL;
}

/* Takes the opened file (steals it, even on failure). */
static int index_binary(struct elf_file *file, struct go_binary **ret_binary)
{
	struct go_binary *b;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b) {
		elf_file_free(file);
		return -ENOMEM;
	}
	b->file = file;
	r = go_buildinfo_read(file, &b->info);
	if (r < 0) {
		log_debug("gobin", "no Go build info: %d", r);
		r = r == -ENOMEM ? r : -ENOEXEC;
		goto fail;
	}
	r = go_symtab_new(file, &b->symtab);
	if (r < 0)
		goto fail;
	r = probe_disasm_new(&b->disasm);
	if (r < 0)
		goto fail;
	b->offsets_rc = go_offsets_resolve(file, b->info, &b->offsets);
	if (b->offsets_rc == -ENOMEM) {
		r = -ENOMEM;
		goto fail;
	}
	*ret_binary = b;
	return 0;
fail:
	go_binary_free(b);
	return r;
}

int go_binary_open(const char *path, const struct go_binary_opts *opts,
		   struct go_binary **ret_binary)
{
	struct elf_file *file = NULL;
	int r = elf_file_open_path(path, opts ? &opts->elf : NULL, &file);

	if (r < 0)
		return r == -EINVAL ? -ENOEXEC : r;
	return index_binary(file, ret_binary);
}

int go_binary_open_fd(int fd, const struct go_binary_opts *opts, struct go_binary **ret_binary)
{
	struct elf_file *file = NULL;
	int r = elf_file_open_fd(fd, opts ? &opts->elf : NULL, &file);

	if (r < 0)
		return r == -EINVAL ? -ENOEXEC : r;
	return index_binary(file, ret_binary);
}

const struct go_buildinfo *go_binary_buildinfo(const struct go_binary *binary)
{
	return binary->info;
}

const struct go_symtab *go_binary_symtab(const struct go_binary *binary)
{
	return binary->symtab;
}

struct elf_file *go_binary_elf(struct go_binary *binary)
{
	return binary->file;
}

int go_binary_offsets(const struct go_binary *binary, const struct go_offsets **ret_offsets)
{
	if (binary->offsets_rc < 0)
		return binary->offsets_rc;
	*ret_offsets = &binary->offsets;
	return 0;
}

int go_binary_entry_point(struct go_binary *binary, const char *name,
			  struct probe_point *ret_point)
{
	struct go_func fn;
	int r = go_symtab_lookup(binary->symtab, name, &fn);

	if (r < 0)
		return r;
	return probe_entry_point(binary->disasm, binary->file, &fn, ret_point);
}

int go_binary_ret_points(struct go_binary *binary, const char *name, struct probe_point *points,
			 size_t cap, size_t *ret_count)
{
	struct go_func fn;
	int r = go_symtab_lookup(binary->symtab, name, &fn);

	if (r < 0)
		return r;
	return probe_ret_points(binary->disasm, binary->file, &fn, points, cap, ret_count);
}

int go_binary_joining_call_point(struct go_binary *binary, const char *caller,
				 const char *callee, struct probe_point *ret_point)
{
	struct go_func from, to;
	int r = go_symtab_lookup(binary->symtab, caller, &from);

	if (r == 0)
		r = go_symtab_lookup(binary->symtab, callee, &to);
	if (r < 0)
		return r;
	return probe_joining_call_point(binary->disasm, binary->file, &from, to.addr, ret_point);
}

int go_binary_call_points(struct go_binary *binary, const char *caller, const char *callee,
			  struct probe_point *ret_after, struct probe_point *ret_error,
			  int *ret_error_status)
{
	struct go_func from, to;
	int r = go_symtab_lookup(binary->symtab, caller, &from);

	if (r == 0)
		r = go_symtab_lookup(binary->symtab, callee, &to);
	if (r < 0)
		return r;
	return probe_call_points(binary->disasm, binary->file, &from, to.addr, ret_after,
				 ret_error, ret_error_status);
}
