/* Function symbols of a Go executable: name -> address and size, from the ELF .symtab
 * when the binary has one, else from the Go runtime's own table .gopclntab (present
 * even in binaries stripped with -ldflags='-s -w'; formats of Go 1.18-1.19, magic
 * 0xfffffff0, and Go 1.20+, magic 0xfffffff1).
 *
 * Names are Go's linker names: "net/http.serverHandler.ServeHTTP",
 * "net/http.(*response).finishRequest". Addresses are link-time virtual addresses;
 * elf_file_vaddr_to_offset turns them into the file offsets uprobes take.
 *
 * Errors: 0 or a negative errno (-ENOENT no such table or symbol, -EPROTONOSUPPORT a
 * pclntab of an unsupported Go version, -EINVAL a malformed table). */
#ifndef AUTOTRACE_AGENT_GO_SYMBOLS_H
#define AUTOTRACE_AGENT_GO_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/elf_file.h"

enum go_symtab_source {
	GO_SYMTAB_ELF_SYMTAB, /* .symtab + .strtab */
	GO_SYMTAB_PCLNTAB,    /* .gopclntab */
};

#define GO_PCLNTAB_MAGIC_118 0xfffffff0u /* Go 1.18, 1.19 */
#define GO_PCLNTAB_MAGIC_120 0xfffffff1u /* Go 1.20 and later */

struct go_func {
	const char *name; /* borrowed: valid until go_symtab_free (and, for an index
			   * from .symtab, until elf_file_free) */
	uint64_t addr;    /* entry, link-time virtual address */
	uint64_t size;    /* bytes of code */
};

struct go_symtab;

/* Indexes the function symbols of file: .symtab when it has function symbols, else
 * .gopclntab (read in parts: the name table whole, the function records through a
 * sliding window; the pc tables not at all). An index from .symtab borrows the file's
 * section data: free the index before the file.
 * Returns a new go_symtab in ret_symtab. */
int go_symtab_new(struct elf_file *file, struct go_symtab **ret_symtab);
/* The same from one named source only (tests compare the two). */
int go_symtab_new_from(struct elf_file *file, enum go_symtab_source source,
		       struct go_symtab **ret_symtab);
struct go_symtab *go_symtab_free(struct go_symtab *symtab);

/* The function with exactly this name; -ENOENT when there is none, -ENOTUNIQ when the
 * name has several addresses (pclntab names an assembly function's ABI wrapper like
 * the function itself; .symtab calls it "<name>.abi0"). */
int go_symtab_lookup(const struct go_symtab *symtab, const char *name,
		     struct go_func *ret_func);
size_t go_symtab_count(const struct go_symtab *symtab);
/* The i-th function in name order, or NULL past the end (borrowed). */
const struct go_func *go_symtab_func(const struct go_symtab *symtab, size_t i);
enum go_symtab_source go_symtab_source(const struct go_symtab *symtab);
const char *go_symtab_source_name(enum go_symtab_source source);

#endif
