/* Where a Go binary's runtime.text starts, the base the .gopclntab function entries
 * are offsets from.
 *
 * The pclntab header holds it only in some binaries: Go 1.26 writes 0 there, and in a
 * PIE the word is left to a relocation. The runtime's own copy is the `text` field of
 * runtime.firstmoduledata, whose first field points at the pclntab: found by that
 * pointer (a relocation's addend in a PIE, a plain word in the data of other
 * binaries) and checked by its second (funcnametab). Needed because with external
 * linking (cgo) the C start-up code comes first in .text, so .text's start is not
 * runtime.text.
 *
 * Errors: 0 or a negative errno (-ENOENT not found). */
#ifndef AUTOTRACE_AGENT_GO_TEXT_START_H
#define AUTOTRACE_AGENT_GO_TEXT_START_H

#include <stdint.h>

#include "agent/elf_file.h"

/* pclntab_vaddr: the .gopclntab section's address; funcname_off: the header's
 * funcnametab offset; header_text_start: the header's text-start word. */
int go_text_start(struct elf_file *file, uint64_t pclntab_vaddr, uint64_t funcname_off,
		  uint64_t header_text_start, uint64_t *ret_text_start);

/* Offsets in runtime.moduledata, the same from Go 1.18 on: pcHeader, then six slices
 * (funcnametab ... ftab), findfunctab, minpc, maxpc, text. */
#define GO_MODULEDATA_FUNCNAMETAB 8
#define GO_MODULEDATA_TEXT        (8 + 6 * 24 + 3 * 8)

#endif
