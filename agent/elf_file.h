/* A bounded reader of one ELF file, the first step of reading an untrusted binary (the
 * agent runs as root on whatever executable a traced process runs).
 *
 * The file is read through libelf with ELF_C_READ: headers when opened, a section's
 * bytes only when asked for, never the whole file. Every size a section header claims
 * is checked against the file's size and the caller's limits before anything is read,
 * so a corrupt or hostile header costs an error, not memory.
 *
 * Errors: 0 or a negative errno (-EINVAL not a 64-bit little-endian ELF file,
 * -ENOENT no such section, -EFBIG over a limit, -ERANGE a range outside the file). */
#ifndef AUTOTRACE_AGENT_ELF_FILE_H
#define AUTOTRACE_AGENT_ELF_FILE_H

#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;

struct elf_file_opts {
	uint64_t max_file_size;    /* 0: ELF_FILE_DEFAULT_MAX_FILE */
	uint64_t max_section_size; /* 0: ELF_FILE_DEFAULT_MAX_SECTION */
};

#define ELF_FILE_DEFAULT_MAX_FILE    (2ULL << 30)  /* 2 GiB */
#define ELF_FILE_DEFAULT_MAX_SECTION (512ULL << 20) /* 512 MiB */

/* One section, as read. data/size are valid until the elf_file is freed (borrowed). */
struct elf_section {
	const char *name;
	uint64_t vaddr;  /* sh_addr, 0 when not loaded */
	uint64_t offset; /* sh_offset in the file */
	uint64_t size;   /* bytes at data (uncompressed size for a compressed section) */
	const uint8_t *data;
	uint32_t type; /* SHT_* */
	uint64_t flags;
};

/* Opens path read-only. Returns a new elf_file in ret_file (free with elf_file_free). */
int elf_file_open_path(const char *path, const struct elf_file_opts *opts,
		       struct elf_file **ret_file);
/* Reads from fd (not closed, not owned; it must stay open until elf_file_free). */
int elf_file_open_fd(int fd, const struct elf_file_opts *opts, struct elf_file **ret_file);
/* Reads from a copy of buf (the caller's buffer may go away). */
int elf_file_open_mem(const void *buf, size_t len, const struct elf_file_opts *opts,
		      struct elf_file **ret_file);
/* Accepts NULL; returns NULL. */
struct elf_file *elf_file_free(struct elf_file *file);

/* The section called name, with its bytes read (and decompressed when SHF_COMPRESSED).
 * SHT_NOBITS sections give -ENOENT: they have no bytes in the file. */
int elf_file_section(struct elf_file *file, const char *name, struct elf_section *ret_section);
/* The section's bytes as stored in the file: a SHF_COMPRESSED section stays compressed
 * (its Elf64_Chdr first), for callers that decompress into memory of their own. */
int elf_file_section_raw(struct elf_file *file, const char *name,
			 struct elf_section *ret_section);
/* Where the section called name lies, without reading its bytes (ret_section->data is
 * NULL). */
int elf_file_section_header(struct elf_file *file, const char *name,
			    struct elf_section *ret_section);

/* The file offset that holds virtual address vaddr, through the PT_LOAD segment that
 * maps it (uprobes are attached by file offset). -ERANGE when no segment maps it from
 * the file. */
int elf_file_vaddr_to_offset(struct elf_file *file, uint64_t vaddr, uint64_t *ret_offset);
/* Copies len bytes mapped at vaddr into buf; the whole range must be in one PT_LOAD
 * segment's file bytes. */
int elf_file_read_vaddr(struct elf_file *file, uint64_t vaddr, void *buf, size_t len);

/* Copies len bytes at file offset off into buf (a partial read of a large section,
 * without holding all of it). -ERANGE outside the file. */
int elf_file_read_at(struct elf_file *file, uint64_t off, void *buf, size_t len);

/* The underlying libelf handle, for libdw (borrowed). */
Elf *elf_file_elf(struct elf_file *file);
uint64_t elf_file_size(const struct elf_file *file);
uint64_t elf_file_max_section_size(const struct elf_file *file);

#endif
