/* A small in-memory ELF holding only the DWARF sections a type lookup reads
 * (.debug_abbrev, .debug_info and the string and address tables they point into), for
 * libdw. Opening the whole binary with libdw would decompress every debug section
 * (line tables, location lists, frames), which costs most of the time and memory of
 * reading a Go binary's struct layouts; here each needed section is inflated once,
 * straight into the image, after its claimed size is checked against the bound.
 *
 * Errors: 0 or a negative errno (-ENOENT no DWARF, -EFBIG over the bound, -EINVAL a
 * corrupt compressed section, -ENOTSUP a compression other than zlib). */
#ifndef AUTOTRACE_AGENT_DWARF_IMAGE_H
#define AUTOTRACE_AGENT_DWARF_IMAGE_H

#include <libelf.h>
#include <stdint.h>

#include "agent/elf_file.h"

struct dwarf_image;

/* Builds the image from file's debug sections, each at most max_section bytes once
 * decompressed. Returns a new dwarf_image in ret_image; it does not borrow from file. */
int dwarf_image_new(struct elf_file *file, uint64_t max_section, struct dwarf_image **ret_image);
/* Accepts NULL; returns NULL. */
struct dwarf_image *dwarf_image_free(struct dwarf_image *image);
/* The image as a libelf handle, for dwarf_begin_elf (borrowed). */
Elf *dwarf_image_elf(struct dwarf_image *image);
/* Bytes the image holds. */
uint64_t dwarf_image_size(const struct dwarf_image *image);

#endif
