/* runtime.text from the pclntab header, relocations or runtime.firstmoduledata; see
 * go_text_start.h. */
#include "agent/go_text_start.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "lib/log/log.h"

/* The dynamic relocations, as one section (.rela.dyn from the system linker, .rela
 * from Go's own). */
static int relocations(struct elf_file *file, struct elf_section *ret_rela)
{
	if (elf_file_section(file, ".rela.dyn", ret_rela) == 0)
		return 0;
	return elf_file_section(file, ".rela", ret_rela);
}

/* The R_X86_64_RELATIVE relocation at where (by_addend 0) or with addend where
 * (by_addend 1): its addend, or its offset. */
static int find_relative(const struct elf_section *rela, uint64_t where, int by_addend,
			 uint64_t *ret)
{
	size_t k;

	for (k = 0; k + sizeof(Elf64_Rela) <= rela->size; k += sizeof(Elf64_Rela)) {
		Elf64_Rela r;

		memcpy(&r, rela->data + k, sizeof(r));
		if (ELF64_R_TYPE(r.r_info) != R_X86_64_RELATIVE)
			continue;
		if (!by_addend && r.r_offset == where) {
			*ret = (uint64_t)r.r_addend;
			return 0;
		}
		if (by_addend && (uint64_t)r.r_addend == where) {
			*ret = r.r_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* A pointer-sized word of the loaded image: its relocation's addend in a PIE, else
 * the bytes in the file. */
static int read_word(struct elf_file *file, const struct elf_section *rela, uint64_t vaddr,
		     uint64_t *ret)
{
	if (rela && find_relative(rela, vaddr, 0, ret) == 0)
		return 0;
	return elf_file_read_vaddr(file, vaddr, ret, sizeof(*ret));
}

/* runtime.firstmoduledata: its address, checked by its funcnametab pointer. */
static int check_moduledata(struct elf_file *file, const struct elf_section *rela,
			    uint64_t md, uint64_t funcnametab)
{
	uint64_t v;

	if (read_word(file, rela, md + GO_MODULEDATA_FUNCNAMETAB, &v) < 0 || v != funcnametab)
		return -ENOENT;
	return 0;
}

/* Candidates checked at most: a hostile file full of matching words costs no more. */
#define MAX_CANDIDATES 16

/* Without relocations: an aligned word equal to the pclntab address in the data. */
static int scan_data(struct elf_file *file, uint64_t pclntab_vaddr, uint64_t funcnametab,
		     uint64_t *ret_md)
{
	/* Go 1.26 gives the module data a section of its own, .go.module. */
	static const char *const names[] = { ".go.module", ".noptrdata", ".data.rel.ro", ".data" };
	size_t i, k, tried = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct elf_section sec;

		if (elf_file_section(file, names[i], &sec) < 0 || sec.vaddr % 8)
			continue;
		for (k = 0; k + 8 <= sec.size && tried < MAX_CANDIDATES; k += 8) {
			uint64_t v;

			memcpy(&v, sec.data + k, 8);
			if (v != pclntab_vaddr)
				continue;
			tried++;
			if (check_moduledata(file, NULL, sec.vaddr + k, funcnametab) == 0) {
				*ret_md = sec.vaddr + k;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int go_text_start(struct elf_file *file, uint64_t pclntab_vaddr, uint64_t funcname_off,
		  uint64_t header_text_start, uint64_t *ret_text_start)
{
	const uint64_t funcnametab = pclntab_vaddr + funcname_off;
	struct elf_section rela;
	int have_rela = relocations(file, &rela) == 0;
	uint64_t md, text;

	if (header_text_start) {
		*ret_text_start = header_text_start;
		return 0;
	}
	/* A PIE whose header word itself is relocated. */
	if (have_rela && find_relative(&rela, pclntab_vaddr + 8 + 2 * 8, 0, &text) == 0 && text) {
		*ret_text_start = text;
		return 0;
	}
	if (!(have_rela && find_relative(&rela, pclntab_vaddr, 1, &md) == 0 &&
	      check_moduledata(file, &rela, md, funcnametab) == 0) &&
	    scan_data(file, pclntab_vaddr, funcnametab, &md) < 0) {
		log_debug("gosym", "runtime.firstmoduledata not found");
		return -ENOENT;
	}
	if (read_word(file, have_rela ? &rela : NULL, md + GO_MODULEDATA_TEXT, &text) < 0 || !text)
		return -ENOENT;
	*ret_text_start = text;
	return 0;
}
