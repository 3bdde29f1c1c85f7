/* Go's type DIEs without the rest of .debug_info.
 *
 * Go's linker writes every type DIE into a unit named "runtime" (there are a few of
 * that name; in an 86 MB binary they hold 4.6 MB of the 21.5 MB section). To read
 * struct layouts only those are needed: the section is inflated unit by unit, the
 * runtime units kept, the others passed through a small scratch buffer and dropped,
 * so memory holds the types, not the whole section. Each unit's name is read from its
 * first DIE, through the abbreviation table.
 *
 * Errors: 0 or a negative errno. -ENOTSUP when the section is not laid out the way
 * this expects (64-bit DWARF, a unit name that is not an inline string, no "runtime"
 * unit): the caller reads the whole section instead. -EINVAL for a corrupt stream,
 * -EFBIG over max. */
#ifndef AUTOTRACE_AGENT_DWARF_GO_UNITS_H
#define AUTOTRACE_AGENT_DWARF_GO_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* zdata/zlen: the zlib stream after the section's Elf64_Chdr; total: the decompressed
 * size the header claims; abbrev: the decompressed .debug_abbrev. Returns the
 * runtime units, concatenated, in a new buffer (*ret_buf, free() it). */
int dwarf_go_runtime_units(const uint8_t *zdata, size_t zlen, uint64_t total,
			   const uint8_t *abbrev, size_t abbrev_len, uint64_t max,
			   uint8_t **ret_buf, size_t *ret_len);

#endif
