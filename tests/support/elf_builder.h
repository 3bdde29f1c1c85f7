/* Builds small synthetic x86-64 ELF executables in memory, for tests of the ELF
 * readers on layouts no fixture has (Go's pre-1.18 build info, hand-made code). One
 * PT_LOAD segment maps the whole file at ELF_BUILDER_VADDR; sections follow the
 * headers in the order given, each 16-byte aligned, the first at file offset
 * ELF_BUILDER_FIRST_OFFSET (so its address is ELF_BUILDER_VADDR +
 * ELF_BUILDER_FIRST_OFFSET). */
#ifndef AUTOTRACE_TESTS_ELF_BUILDER_H
#define AUTOTRACE_TESTS_ELF_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#define ELF_BUILDER_VADDR        0x400000u
#define ELF_BUILDER_FIRST_OFFSET 128u

struct elf_builder_section {
	const char *name;
	uint32_t type;  /* SHT_PROGBITS, SHT_SYMTAB, ... */
	uint64_t flags; /* SHF_ALLOC | SHF_EXECINSTR, ... */
	const void *data;
	size_t size;
};

/* Returns a new buffer (free() it) holding the ELF image. */
int elf_builder_build(const struct elf_builder_section *sections, size_t n, uint8_t **ret_buf,
		      size_t *ret_len);

#endif
