/* Bounded ELF reading through libelf; see elf_file.h. */
#include "agent/elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log/log.h"

#define ELF_FILE_MAX_INFLATED 32

struct elf_file {
	Elf *elf;
	int fd;       /* -1 for a memory image */
	int owns_fd;  /* opened by elf_file_open_path */
	uint8_t *mem; /* owned copy for elf_file_open_mem */
	uint64_t size;
	uint64_t max_section;
	size_t shstrndx;
	/* Sections decompressed in place: their headers now give the decompressed size,
	 * which is no longer a range of the file (it was checked before). */
	Elf_Scn *inflated[ELF_FILE_MAX_INFLATED];
	size_t ninflated;
};

static int was_inflated(const struct elf_file *file, const Elf_Scn *scn)
{
	size_t i;

	for (i = 0; i < file->ninflated; i++)
		if (file->inflated[i] == scn)
			return 1;
	return 0;
}

static void opts_limits(const struct elf_file_opts *opts, uint64_t *ret_max_file,
			uint64_t *ret_max_section)
{
	*ret_max_file = opts && opts->max_file_size ? opts->max_file_size
						    : ELF_FILE_DEFAULT_MAX_FILE;
	*ret_max_section = opts && opts->max_section_size ? opts->max_section_size
							  : ELF_FILE_DEFAULT_MAX_SECTION;
}

/* Checks the identity the rest of the agent relies on: a 64-bit little-endian ELF. */
static int check_header(struct elf_file *file)
{
	GElf_Ehdr ehdr;

	if (elf_kind(file->elf) != ELF_K_ELF || !gelf_getehdr(file->elf, &ehdr))
		return -EINVAL;
	if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
		return -EINVAL;
	if (elf_getshdrstrndx(file->elf, &file->shstrndx) != 0)
		return -EINVAL;
	return 0;
}

/* Takes the prepared fields of *tmpl; returns a new elf_file (steals fd when
 * owns_fd is set, and mem, even on failure). */
static int finish_open(struct elf_file *tmpl, struct elf_file **ret_file)
{
	struct elf_file *file = NULL;
	int r;

	file = calloc(1, sizeof(*file));
	if (!file) {
		r = -ENOMEM;
		goto fail;
	}
	*file = *tmpl;
	tmpl->mem = NULL;
	tmpl->owns_fd = 0;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		r = -ENOTSUP;
		goto fail;
	}
	if (file->mem)
		file->elf = elf_memory((char *)file->mem, file->size);
	else
		file->elf = elf_begin(file->fd, ELF_C_READ, NULL);
	if (!file->elf) {
		log_debug("elf", "not an ELF file: %s", elf_errmsg(-1));
		r = -EINVAL;
		goto fail;
	}
	r = check_header(file);
	if (r < 0)
		goto fail;
	*ret_file = file;
	return 0;
fail:
	if (tmpl->owns_fd && tmpl->fd >= 0)
		close(tmpl->fd);
	free(tmpl->mem);
	elf_file_free(file);
	return r;
}

static int open_fd(int fd, int owns_fd, const struct elf_file_opts *opts,
		   struct elf_file **ret_file)
{
	struct elf_file tmpl = { .fd = fd, .owns_fd = owns_fd };
	uint64_t max_file;
	struct stat st;
	int r;

	opts_limits(opts, &max_file, &tmpl.max_section);
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto fail;
	}
	if ((uint64_t)st.st_size > max_file) {
		r = -EFBIG;
		goto fail;
	}
	tmpl.size = (uint64_t)st.st_size;
	return finish_open(&tmpl, ret_file);
fail:
	if (owns_fd)
		close(fd);
	return r;
}

int elf_file_open_path(const char *path, const struct elf_file_opts *opts,
		       struct elf_file **ret_file)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	return open_fd(fd, 1, opts, ret_file);
}

int elf_file_open_fd(int fd, const struct elf_file_opts *opts, struct elf_file **ret_file)
{
	return open_fd(fd, 0, opts, ret_file);
}

int elf_file_open_mem(const void *buf, size_t len, const struct elf_file_opts *opts,
		      struct elf_file **ret_file)
{
	struct elf_file tmpl = { .fd = -1 };
	uint64_t max_file;

	opts_limits(opts, &max_file, &tmpl.max_section);
	if (len > max_file)
		return -EFBIG;
	/* libelf wants a non-empty writable buffer it may point into. */
	tmpl.mem = malloc(len ? len : 1);
	if (!tmpl.mem)
		return -ENOMEM;
	if (len)
		memcpy(tmpl.mem, buf, len);
	tmpl.size = len;
	return finish_open(&tmpl, ret_file);
}

struct elf_file *elf_file_free(struct elf_file *file)
{
	if (!file)
		return NULL;
	if (file->elf)
		elf_end(file->elf);
	if (file->owns_fd && file->fd >= 0)
		close(file->fd);
	free(file->mem);
	free(file);
	return NULL;
}

static int find_scn(struct elf_file *file, const char *name, Elf_Scn **ret_scn,
		    GElf_Shdr *ret_shdr)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(file->elf, scn)) != NULL) {
		const char *n;

		if (!gelf_getshdr(scn, &shdr))
			return -EINVAL;
		n = elf_strptr(file->elf, file->shstrndx, shdr.sh_name);
		if (n && strcmp(n, name) == 0) {
			*ret_scn = scn;
			*ret_shdr = shdr;
			return 0;
		}
	}
	return -ENOENT;
}

static int check_bounds(const struct elf_file *file, const GElf_Shdr *shdr)
{
	if (shdr->sh_type == SHT_NOBITS)
		return 0;
	if (shdr->sh_offset > file->size || shdr->sh_size > file->size - shdr->sh_offset)
		return -ERANGE;
	if (shdr->sh_size > file->max_section)
		return -EFBIG;
	return 0;
}

int elf_file_section_header(struct elf_file *file, const char *name,
			    struct elf_section *ret_section)
{
	GElf_Shdr shdr;
	Elf_Scn *scn;
	int r;

	r = find_scn(file, name, &scn, &shdr);
	if (r < 0)
		return r;
	r = was_inflated(file, scn) ? 0 : check_bounds(file, &shdr);
	if (r < 0)
		return r;
	*ret_section = (struct elf_section){
		.name = elf_strptr(file->elf, file->shstrndx, shdr.sh_name),
		.vaddr = shdr.sh_addr,
		.offset = shdr.sh_offset,
		.size = shdr.sh_size,
		.type = shdr.sh_type,
		.flags = shdr.sh_flags,
	};
	return 0;
}

/* Decompresses a SHF_COMPRESSED section in place after checking the size it claims. */
static int decompress(struct elf_file *file, Elf_Scn *scn)
{
	GElf_Chdr chdr;

	if (!gelf_getchdr(scn, &chdr))
		return -EINVAL;
	if (chdr.ch_size > file->max_section)
		return -EFBIG;
	if (file->ninflated >= ELF_FILE_MAX_INFLATED)
		return -EFBIG;
	if (elf_compress(scn, 0, 0) < 0) {
		log_debug("elf", "decompress: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	file->inflated[file->ninflated++] = scn;
	return 0;
}

/* The header and libelf section of `name`, which must have content in the file. */
static int locate_with_content(struct elf_file *file, const char *name, struct elf_section *sec,
			       Elf_Scn **scn, GElf_Shdr *shdr)
{
	int r = elf_file_section_header(file, name, sec);

	if (r < 0)
		return r;
	if (sec->type == SHT_NOBITS)
		return -ENOENT;
	return find_scn(file, name, scn, shdr);
}

int elf_file_section(struct elf_file *file, const char *name, struct elf_section *ret_section)
{
	struct elf_section sec;
	GElf_Shdr shdr;
	Elf_Data *data;
	Elf_Scn *scn;
	int r;

	r = locate_with_content(file, name, &sec, &scn, &shdr);
	if (r < 0)
		return r;
	if (shdr.sh_flags & SHF_COMPRESSED) {
		r = decompress(file, scn);
		if (r < 0)
			return r;
	}
	data = elf_getdata(scn, NULL);
	if (!data) {
		log_debug("elf", "section %s: %s", name, elf_errmsg(-1));
		return -EINVAL;
	}
	if (data->d_size && !data->d_buf)
		return -EINVAL;
	sec.data = data->d_buf;
	sec.size = data->d_size;
	*ret_section = sec;
	return 0;
}

int elf_file_section_raw(struct elf_file *file, const char *name,
			 struct elf_section *ret_section)
{
	struct elf_section sec;
	GElf_Shdr shdr;
	Elf_Data *data;
	Elf_Scn *scn;
	int r;

	r = locate_with_content(file, name, &sec, &scn, &shdr);
	if (r < 0)
		return r;
	data = elf_rawdata(scn, NULL);
	if (!data || (data->d_size && !data->d_buf) || data->d_size != sec.size)
		return -EINVAL;
	sec.data = data->d_buf;
	*ret_section = sec;
	return 0;
}

static int find_load(struct elf_file *file, uint64_t vaddr, GElf_Phdr *ret_phdr)
{
	size_t n, i;

	if (elf_getphdrnum(file->elf, &n) != 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(file->elf, (int)i, &phdr))
			return -EINVAL;
		if (phdr.p_type != PT_LOAD)
			continue;
		if (vaddr < phdr.p_vaddr || vaddr - phdr.p_vaddr >= phdr.p_filesz)
			continue;
		if (phdr.p_offset > file->size || phdr.p_filesz > file->size - phdr.p_offset)
			return -ERANGE;
		*ret_phdr = phdr;
		return 0;
	}
	return -ERANGE;
}

int elf_file_vaddr_to_offset(struct elf_file *file, uint64_t vaddr, uint64_t *ret_offset)
{
	GElf_Phdr phdr;
	int r;

	r = find_load(file, vaddr, &phdr);
	if (r < 0)
		return r;
	*ret_offset = vaddr - phdr.p_vaddr + phdr.p_offset;
	return 0;
}

int elf_file_read_vaddr(struct elf_file *file, uint64_t vaddr, void *buf, size_t len)
{
	GElf_Phdr phdr;
	uint64_t off;
	int r;

	r = find_load(file, vaddr, &phdr);
	if (r < 0)
		return r;
	if (len > phdr.p_filesz - (vaddr - phdr.p_vaddr))
		return -ERANGE;
	off = vaddr - phdr.p_vaddr + phdr.p_offset;
	return elf_file_read_at(file, off, buf, len);
}

int elf_file_read_at(struct elf_file *file, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	if (off > file->size || len > file->size - off)
		return -ERANGE;
	if (file->mem) {
		memcpy(buf, file->mem + off, len);
		return 0;
	}
	while (done < len) {
		ssize_t n = pread(file->fd, (uint8_t *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ERANGE; /* the file shrank under us */
		done += (size_t)n;
	}
	return 0;
}

Elf *elf_file_elf(struct elf_file *file)
{
	return file->elf;
}

uint64_t elf_file_size(const struct elf_file *file)
{
	return file->size;
}

uint64_t elf_file_max_section_size(const struct elf_file *file)
{
	return file->max_section;
}
