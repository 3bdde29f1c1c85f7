/* Function symbols from .symtab or .gopclntab; see go_symbols.h.
 *
 * Both readers only index: names stay in the section bytes libelf read, and every
 * offset taken from the file is checked against its section before use. */
#include "agent/go_symbols.h"

#include "agent/go_text_start.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log/log.h"

struct go_symtab {
	enum go_symtab_source source;
	struct go_func *funcs; /* sorted by name */
	size_t n;
	uint8_t *names; /* pclntab: owned copy of funcnametab */
	uint64_t names_len;
};

static int by_name(const void *a, const void *b)
{
	const struct go_func *fa = a, *fb = b;
	int c = strcmp(fa->name, fb->name);

	if (c)
		return c;
	return fa->addr < fb->addr ? -1 : fa->addr > fb->addr;
}

static int name_cmp(const void *key, const void *elem)
{
	const struct go_func *f = elem;

	return strcmp(key, f->name);
}

/* A NUL-terminated string at off inside buf, or NULL. */
static const char *string_at(const uint8_t *buf, uint64_t size, uint64_t off)
{
	if (off >= size || !memchr(buf + off, '\0', size - off))
		return NULL;
	return (const char *)buf + off;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int read_elf_symtab(struct elf_file *file, struct go_symtab *t)
{
	struct elf_section symtab, strtab;
	size_t count, i;
	int r;

	r = elf_file_section(file, ".symtab", &symtab);
	if (r < 0)
		return r;
	r = elf_file_section(file, ".strtab", &strtab);
	if (r < 0)
		return r;
	count = symtab.size / sizeof(Elf64_Sym);
	t->funcs = calloc(count ? count : 1, sizeof(*t->funcs));
	if (!t->funcs)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		Elf64_Sym sym;
		const char *name;

		memcpy(&sym, symtab.data + i * sizeof(sym), sizeof(sym));
		if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
		    sym.st_value == 0)
			continue;
		name = string_at(strtab.data, strtab.size, sym.st_name);
		if (!name || !*name)
			continue;
		t->funcs[t->n++] = (struct go_func){
			.name = name, .addr = sym.st_value, .size = sym.st_size
		};
	}
	return t->n ? 0 : -ENOENT;
}

/* The pclntab header of Go 1.18+: magic, two zero bytes, the instruction size quantum,
 * the pointer size, then eight pointer-sized words (function and file counts, text
 * start, then the offsets of funcnametab, cutab, filetab, pctab and functab). */
#define PCLN_HDR_LEN (8 + 8 * 8)
/* The function records are read through a window this big, not all at once. */
#define PCLN_WINDOW (256u << 10)

struct pcln_header {
	uint32_t magic;
	uint8_t min_lc, ptr_size;
	uint64_t nfunc, text_start, funcname_off, names_end, pcln_off;
};

static int pcln_parse_header(const uint8_t *p, uint64_t size, struct pcln_header *ret_hdr)
{
	struct pcln_header h = { 0 };
	int i;

	h.magic = le32(p);
	if (h.magic != GO_PCLNTAB_MAGIC_118 && h.magic != GO_PCLNTAB_MAGIC_120) {
		log_debug("gosym", "pclntab magic %#x is not Go 1.18+", h.magic);
		return -EPROTONOSUPPORT;
	}
	h.min_lc = p[6];
	h.ptr_size = p[7];
	if (p[4] != 0 || p[5] != 0 || h.ptr_size != 8 ||
	    (h.min_lc != 1 && h.min_lc != 2 && h.min_lc != 4))
		return -EINVAL;
	h.nfunc = le64(p + 8);
	h.text_start = le64(p + 8 + 2 * 8);
	h.funcname_off = le64(p + 8 + 3 * 8);
	h.pcln_off = le64(p + 8 + 7 * 8);
	if (h.funcname_off < PCLN_HDR_LEN || h.funcname_off >= size || h.pcln_off >= size)
		return -EINVAL;
	/* funcnametab ends where the next table starts. */
	h.names_end = size;
	for (i = 4; i <= 7; i++) {
		uint64_t o = le64(p + 8 + (size_t)i * 8);

		if (o > size)
			return -EINVAL;
		if (o > h.funcname_off && o < h.names_end)
			h.names_end = o;
	}
	/* functab: nfunc (entry, funcoff) pairs and the end entry, 4 bytes each. */
	if (h.nfunc == 0 || h.nfunc > (size - h.pcln_off) / 8 ||
	    (h.nfunc * 2 + 1) * 4 > size - h.pcln_off)
		return -EINVAL;
	*ret_hdr = h;
	return 0;
}

/* Reads [off, off+len) of the section into a new buffer (*ret, owned by the caller),
 * NUL-terminated for the string tables. */
static int read_part(struct elf_file *file, const struct elf_section *sec, uint64_t off,
		     uint64_t len, uint8_t **ret)
{
	uint8_t *buf;
	int r;

	if (len > elf_file_max_section_size(file))
		return -EFBIG;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	r = elf_file_read_at(file, sec->offset + off, buf, len);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	return 0;
}

/* The function records, each (entryOff, nameOff, ...) at pcln_off + funcoff, are read
 * through a window that slides forward when the funcoffs increase, as the Go linker
 * writes them; a table that jumps around is read whole (within the section bound), so
 * no input makes this re-read the file over and over. */
static int read_pclntab(struct elf_file *file, struct go_symtab *t)
{
	uint8_t hdr[PCLN_HDR_LEN], *functab = NULL, *win = NULL;
	uint64_t i, win_start = 0, win_len = 0, win_cap = PCLN_WINDOW;
	struct elf_section sec, text;
	struct pcln_header h;
	int r;

	r = elf_file_section_header(file, ".gopclntab", &sec);
	if (r < 0)
		return r;
	if (sec.type == SHT_NOBITS || sec.size < PCLN_HDR_LEN)
		return -EINVAL;
	r = elf_file_read_at(file, sec.offset, hdr, sizeof(hdr));
	if (r < 0)
		return r;
	r = pcln_parse_header(hdr, sec.size, &h);
	if (r < 0)
		return r;
	/* When neither the header nor the module data says, the Go linker's own layout
	 * puts runtime.text at the start of .text. */
	if (go_text_start(file, sec.vaddr, h.funcname_off, h.text_start, &h.text_start) < 0) {
		r = elf_file_section_header(file, ".text", &text);
		if (r < 0)
			return -EINVAL;
		h.text_start = text.vaddr;
	}
	r = read_part(file, &sec, h.funcname_off, h.names_end - h.funcname_off, &t->names);
	if (r < 0)
		return r;
	t->names_len = h.names_end - h.funcname_off;
	r = read_part(file, &sec, h.pcln_off, (h.nfunc * 2 + 1) * 4, &functab);
	if (r < 0)
		return r;
	for (i = 1; i < h.nfunc; i++)
		if (le32(functab + i * 8 + 4) < le32(functab + (i - 1) * 8 + 4))
			win_cap = sec.size - h.pcln_off;
	if (win_cap > sec.size - h.pcln_off)
		win_cap = sec.size - h.pcln_off;
	win = malloc(win_cap);
	t->funcs = calloc(h.nfunc, sizeof(*t->funcs));
	if (!win || !t->funcs) {
		r = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < h.nfunc; i++) {
		uint32_t entry = le32(functab + i * 8), funcoff = le32(functab + i * 8 + 4);
		uint32_t next = le32(functab + i * 8 + 8), name_off;
		uint64_t fpos = h.pcln_off + (uint64_t)funcoff;
		const char *name;

		r = -EINVAL;
		if (next < entry || fpos > sec.size || sec.size - fpos < 8)
			goto cleanup;
		if (fpos < win_start || fpos + 8 > win_start + win_len) {
			win_start = fpos;
			win_len = sec.size - fpos < win_cap ? sec.size - fpos : win_cap;
			r = elf_file_read_at(file, sec.offset + win_start, win, win_len);
			if (r < 0)
				goto cleanup;
		}
		name_off = le32(win + (fpos - win_start) + 4);
		name = string_at(t->names, t->names_len, name_off);
		r = -EINVAL;
		if (!name)
			goto cleanup;
		t->funcs[t->n++] = (struct go_func){
			.name = name, .addr = h.text_start + entry, .size = next - entry
		};
	}
	r = 0;
cleanup:
	free(functab);
	free(win);
	return r;
}

int go_symtab_new_from(struct elf_file *file, enum go_symtab_source source,
		       struct go_symtab **ret_symtab)
{
	struct go_symtab *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->source = source;
	if (source == GO_SYMTAB_ELF_SYMTAB)
		r = read_elf_symtab(file, t);
	else if (source == GO_SYMTAB_PCLNTAB)
		r = read_pclntab(file, t);
	else
		r = -EINVAL;
	if (r < 0)
		goto fail;
	qsort(t->funcs, t->n, sizeof(*t->funcs), by_name);
	*ret_symtab = t;
	return 0;
fail:
	go_symtab_free(t);
	return r;
}

int go_symtab_new(struct elf_file *file, struct go_symtab **ret_symtab)
{
	int r = go_symtab_new_from(file, GO_SYMTAB_ELF_SYMTAB, ret_symtab);

	/* A missing or damaged .symtab still leaves the runtime's own table. */
	if (r < 0 && r != -ENOMEM)
		r = go_symtab_new_from(file, GO_SYMTAB_PCLNTAB, ret_symtab);
	return r;
}

struct go_symtab *go_symtab_free(struct go_symtab *symtab)
{
	if (!symtab)
		return NULL;
	free(symtab->funcs);
	free(symtab->names);
	free(symtab);
	return NULL;
}

int go_symtab_lookup(const struct go_symtab *symtab, const char *name, struct go_func *ret_func)
{
	const struct go_func *f;
	size_t i;

	f = bsearch(name, symtab->funcs, symtab->n, sizeof(*f), name_cmp);
	if (!f)
		return -ENOENT;
	i = (size_t)(f - symtab->funcs);
	/* pclntab names an ABI wrapper like the function it wraps (.symtab adds ".abi0"):
	 * a name with two addresses cannot be probed by name. */
	if ((i > 0 && strcmp(symtab->funcs[i - 1].name, name) == 0 &&
	     symtab->funcs[i - 1].addr != f->addr) ||
	    (i + 1 < symtab->n && strcmp(symtab->funcs[i + 1].name, name) == 0 &&
	     symtab->funcs[i + 1].addr != f->addr))
		return -ENOTUNIQ;
	*ret_func = *f;
	return 0;
}

size_t go_symtab_count(const struct go_symtab *symtab)
{
	return symtab->n;
}

const struct go_func *go_symtab_func(const struct go_symtab *symtab, size_t i)
{
	return i < symtab->n ? &symtab->funcs[i] : NULL;
}

enum go_symtab_source go_symtab_source(const struct go_symtab *symtab)
{
	return symtab->source;
}

const char *go_symtab_source_name(enum go_symtab_source source)
{
	return source == GO_SYMTAB_ELF_SYMTAB ? "symtab" : "pclntab";
}
