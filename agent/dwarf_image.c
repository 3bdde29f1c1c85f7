/* The DWARF-only ELF image; see dwarf_image.h. */
#include "agent/dwarf_image.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "agent/dwarf_go_units.h"
#include "lib/log/log.h"

/* The sections a walk over type DIEs reads: the first two are required. */
static const char *const wanted[] = {
	".debug_abbrev", ".debug_info", ".debug_str", ".debug_line_str", ".debug_str_offsets",
	".debug_addr",
};
#define NWANTED (sizeof(wanted) / sizeof(wanted[0]))
#define ALIGN8(x) (((x) + 7u) & ~(uint64_t)7u)

struct dwarf_image {
	uint8_t *buf;
	uint64_t size;
	Elf *elf;
};

struct part {
	struct elf_section raw;
	uint64_t size;   /* decompressed */
	uint64_t offset; /* in the image */
	int present, compressed;
	uint8_t *ready; /* owned: the bytes, when prepared before the image */
};

/* Size of one section once decompressed, from its Elf64_Chdr. */
static int plan_part(struct elf_file *file, const char *name, uint64_t max, struct part *p)
{
	Elf64_Chdr chdr;
	int r;

	r = elf_file_section_raw(file, name, &p->raw);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	p->present = 1;
	if (!(p->raw.flags & SHF_COMPRESSED)) {
		p->size = p->raw.size;
		return p->size > max || name[1] == 'z' ? -EFBIG : 0;
	}
	if (p->raw.size < sizeof(chdr))
		return -EINVAL;
	memcpy(&chdr, p->raw.data, sizeof(chdr));
	if (chdr.ch_type != ELFCOMPRESS_ZLIB)
		return -ENOTSUP;
	if (chdr.ch_size > max || chdr.ch_size > UINT32_MAX || p->raw.size > UINT32_MAX)
		return -EFBIG;
	p->compressed = 1;
	p->size = chdr.ch_size;
	return 0;
}

/* Inflates the zlib stream after the header into exactly p->size bytes at dst. */
static int inflate_part(const struct part *p, uint8_t *dst)
{
	z_stream zs = { 0 };
	int zr;

	if (inflateInit(&zs) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)p->raw.data + sizeof(Elf64_Chdr);
	zs.avail_in = (uInt)(p->raw.size - sizeof(Elf64_Chdr));
	zs.next_out = dst;
	zs.avail_out = (uInt)p->size;
	zr = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (zr != Z_STREAM_END || zs.total_out != p->size)
		return -EINVAL;
	return 0;
}

static void write_headers(struct dwarf_image *img, const struct part *parts, uint64_t shstr_off,
			  uint64_t shoff, size_t nsec)
{
	Elf64_Ehdr eh = { 0 };
	size_t i, k = 1, name_pos = 1;
	Elf64_Shdr sh;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_shoff = shoff;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(sh);
	eh.e_shnum = (Elf64_Half)(nsec + 2);
	eh.e_shstrndx = (Elf64_Half)(nsec + 1);
	memcpy(img->buf, &eh, sizeof(eh));
	memset(img->buf + shoff, 0, sizeof(sh));
	for (i = 0; i < NWANTED; i++) {
		if (!parts[i].present)
			continue;
		memset(&sh, 0, sizeof(sh));
		sh.sh_name = (Elf64_Word)name_pos;
		sh.sh_type = SHT_PROGBITS;
		sh.sh_offset = parts[i].offset;
		sh.sh_size = parts[i].size;
		sh.sh_addralign = 1;
		memcpy(img->buf + shstr_off + name_pos, wanted[i], strlen(wanted[i]) + 1);
		name_pos += strlen(wanted[i]) + 1;
		memcpy(img->buf + shoff + k++ * sizeof(sh), &sh, sizeof(sh));
	}
	memset(&sh, 0, sizeof(sh));
	sh.sh_name = (Elf64_Word)name_pos;
	sh.sh_type = SHT_STRTAB;
	sh.sh_offset = shstr_off;
	sh.sh_size = name_pos + sizeof(".shstrtab");
	sh.sh_addralign = 1;
	memcpy(img->buf + shstr_off + name_pos, ".shstrtab", sizeof(".shstrtab"));
	img->buf[shstr_off] = '\0';
	memcpy(img->buf + shoff + k * sizeof(sh), &sh, sizeof(sh));
}

/* .debug_info reduced to Go's runtime units (see dwarf_go_units.h), when it is zlib
 * compressed: only its first part is inflated. Otherwise, or when the layout is not
 * Go's, the whole section is used. */
static int prepare_info(struct part *abbrev, struct part *info, uint64_t max)
{
	uint8_t *abbrev_buf = NULL;
	size_t len;
	int r;

	if (!info->compressed)
		return 0;
	abbrev_buf = malloc(abbrev->size ? abbrev->size : 1);
	if (!abbrev_buf)
		return -ENOMEM;
	if (abbrev->compressed)
		r = inflate_part(abbrev, abbrev_buf);
	else
		r = (memcpy(abbrev_buf, abbrev->raw.data, abbrev->size), 0);
	if (r == 0)
		r = dwarf_go_runtime_units(info->raw.data + sizeof(Elf64_Chdr),
					   info->raw.size - sizeof(Elf64_Chdr), info->size,
					   abbrev_buf, abbrev->size, max, &info->ready, &len);
	free(abbrev_buf);
	if (r == -ENOTSUP)
		return 0;
	if (r < 0)
		return r;
	info->size = len;
	return 0;
}

int dwarf_image_new(struct elf_file *file, uint64_t max_section, struct dwarf_image **ret_image)
{
	struct part parts[NWANTED] = { 0 };
	struct dwarf_image *img = NULL;
	uint64_t off = sizeof(Elf64_Ehdr), shstr_off, shstr_len = 1 + sizeof(".shstrtab"), shoff;
	size_t i, nsec = 0;
	int r;

	for (i = 0; i < NWANTED; i++) {
		r = plan_part(file, wanted[i], max_section, &parts[i]);
		if (r < 0)
			goto fail;
		r = -ENOENT;
		if (i < 2 && !parts[i].present)
			goto fail;
		if (i == 1) {
			r = prepare_info(&parts[0], &parts[1], max_section);
			if (r < 0)
				goto fail;
		}
		if (!parts[i].present)
			continue;
		parts[i].offset = off;
		off = ALIGN8(off + parts[i].size);
		shstr_len += strlen(wanted[i]) + 1;
		nsec++;
	}
	shstr_off = off;
	shoff = ALIGN8(shstr_off + shstr_len);
	img = calloc(1, sizeof(*img));
	r = -ENOMEM;
	if (!img)
		goto fail;
	img->size = shoff + (nsec + 2) * sizeof(Elf64_Shdr);
	img->buf = calloc(1, img->size);
	if (!img->buf) {
		r = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < NWANTED; i++) {
		if (!parts[i].present)
			continue;
		if (parts[i].ready) {
			memcpy(img->buf + parts[i].offset, parts[i].ready, parts[i].size);
		} else if (parts[i].compressed) {
			r = inflate_part(&parts[i], img->buf + parts[i].offset);
			if (r < 0)
				goto fail;
		} else if (parts[i].size) {
			memcpy(img->buf + parts[i].offset, parts[i].raw.data, parts[i].size);
		}
	}
	write_headers(img, parts, shstr_off, shoff, nsec);
	if (elf_version(EV_CURRENT) == EV_NONE) {
		r = -ENOTSUP;
		goto fail;
	}
	img->elf = elf_memory((char *)img->buf, img->size);
	if (!img->elf) {
		log_debug("dwarf", "image: %s", elf_errmsg(-1));
		r = -EINVAL;
		goto fail;
	}
	free(parts[1].ready);
	*ret_image = img;
	return 0;
fail:
	free(parts[1].ready);
	dwarf_image_free(img);
	return r;
}

struct dwarf_image *dwarf_image_free(struct dwarf_image *image)
{
	if (!image)
		return NULL;
	if (image->elf)
		elf_end(image->elf);
	free(image->buf);
	free(image);
	return NULL;
}

Elf *dwarf_image_elf(struct dwarf_image *image)
{
	return image->elf;
}

uint64_t dwarf_image_size(const struct dwarf_image *image)
{
	return image->size;
}
