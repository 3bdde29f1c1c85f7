/* Synthetic ELF images; see elf_builder.h. */
#include "tests/support/elf_builder.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN16(x) (((x) + 15u) & ~(size_t)15u)

int elf_builder_build(const struct elf_builder_section *sections, size_t n, uint8_t **ret_buf,
		      size_t *ret_len)
{
	size_t off = ELF_BUILDER_FIRST_OFFSET, shstr_off, shstr_len = 1, shdr_off, total, i;
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph = { 0 };
	size_t *offs;
	uint8_t *buf;

	offs = calloc(n + 1, sizeof(*offs));
	if (!offs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		offs[i] = off;
		off = ALIGN16(off + sections[i].size);
		shstr_len += strlen(sections[i].name) + 1;
	}
	shstr_len += sizeof(".shstrtab");
	shstr_off = off;
	shdr_off = ALIGN16(shstr_off + shstr_len);
	total = shdr_off + (n + 2) * sizeof(Elf64_Shdr);
	buf = calloc(1, total);
	if (!buf) {
		free(offs);
		return -ENOMEM;
	}
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = ELF_BUILDER_VADDR + ELF_BUILDER_FIRST_OFFSET;
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = shdr_off;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = (Elf64_Half)(n + 2);
	eh.e_shstrndx = (Elf64_Half)(n + 1);
	memcpy(buf, &eh, sizeof(eh));
	ph.p_type = PT_LOAD;
	ph.p_flags = PF_R | PF_X;
	ph.p_vaddr = ph.p_paddr = ELF_BUILDER_VADDR;
	ph.p_filesz = ph.p_memsz = shstr_off;
	ph.p_align = 0x1000;
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	{
		size_t name_pos = 1;
		Elf64_Shdr sh;

		for (i = 0; i <= n; i++) {
			const char *name = i < n ? sections[i].name : ".shstrtab";

			memset(&sh, 0, sizeof(sh));
			sh.sh_name = (Elf64_Word)name_pos;
			memcpy(buf + shstr_off + name_pos, name, strlen(name) + 1);
			name_pos += strlen(name) + 1;
			if (i < n) {
				sh.sh_type = sections[i].type;
				sh.sh_flags = sections[i].flags;
				sh.sh_addr = sections[i].flags ? ELF_BUILDER_VADDR + offs[i] : 0;
				sh.sh_offset = offs[i];
				sh.sh_size = sections[i].size;
				sh.sh_addralign = 16;
				if (sections[i].type == SHT_SYMTAB)
					sh.sh_entsize = sizeof(Elf64_Sym);
				if (sections[i].size)
					memcpy(buf + offs[i], sections[i].data, sections[i].size);
			} else {
				sh.sh_type = SHT_STRTAB;
				sh.sh_offset = shstr_off;
				sh.sh_size = shstr_len;
				sh.sh_addralign = 1;
			}
			memcpy(buf + shdr_off + (i + 1) * sizeof(sh), &sh, sizeof(sh));
		}
	}
	free(offs);
	*ret_buf = buf;
	*ret_len = total;
	return 0;
}
