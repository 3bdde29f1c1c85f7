/* Fuzz target: bytes -> ELF -> Go symbols (.symtab and .gopclntab), build info, struct
 * offsets (DWARF and table) and probe points, as the agent reads a binary it finds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/elf_file.h"
#include "agent/go_binary.h"
#include "agent/go_buildinfo.h"
#include "agent/go_offsets.h"
#include "agent/go_symbols.h"
#include "agent/probe_points.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits so that a claimed size cannot make one input slow. */
static const struct elf_file_opts opts = {
	.max_file_size = 8u << 20,
	.max_section_size = 4u << 20,
};

static const char *const probed[] = {
	"net/http.serverHandler.ServeHTTP",
	"net/http.(*response).finishRequest",
	"runtime.memmove",
};

static void probe_functions(struct probe_disasm *dis, struct elf_file *file,
			    const struct go_symtab *symtab)
{
	struct probe_point rets[16], entry;
	size_t i, n;

	for (i = 0; i < sizeof(probed) / sizeof(probed[0]); i++) {
		struct go_func fn;

		if (go_symtab_lookup(symtab, probed[i], &fn) < 0)
			continue;
		(void)probe_entry_point(dis, file, &fn, &entry);
		if (fn.size <= 64u << 10)
			(void)probe_ret_points(dis, file, &fn, rets, 16, &n);
	}
	/* Whatever the table holds: the first few functions. */
	for (i = 0; i < 4 && i < go_symtab_count(symtab); i++) {
		const struct go_func *fn = go_symtab_func(symtab, i);

		(void)probe_entry_point(dis, file, fn, &entry);
		if (fn->size <= 64u << 10)
			(void)probe_ret_points(dis, file, fn, rets, 16, &n);
	}
}

/* The facade the attach code uses, reading through a file descriptor (pread). */
static void through_go_binary(const uint8_t *data, size_t size)
{
	const struct go_binary_opts gopts = { .elf = opts };
	const struct go_offsets *offsets;
	struct go_binary *b = NULL;
	struct probe_point p[16];
	size_t i, n;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size && go_binary_open_fd(fd, &gopts, &b) == 0) {
		(void)go_binary_offsets(b, &offsets);
		for (i = 0; i < sizeof(probed) / sizeof(probed[0]); i++) {
			(void)go_binary_entry_point(b, probed[i], p);
			(void)go_binary_ret_points(b, probed[i], p, 16, &n);
		}
		go_binary_free(b);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct probe_disasm *dis;
	struct go_buildinfo *info = NULL;
	struct go_symtab *symtab = NULL;
	struct elf_file *file = NULL;
	struct go_offsets offsets;
	enum go_source { SYMTAB, PCLNTAB } s;

	if (!dis && probe_disasm_new(&dis) < 0)
		return 0;
	if (elf_file_open_mem(data, size, &opts, &file) < 0)
		return 0;
	if (go_buildinfo_read(file, &info) == 0) {
		(void)go_buildinfo_main(info);
		(void)go_buildinfo_find_dep(info, "golang.org/x/net");
		(void)go_buildinfo_setting(info, "-buildmode");
	}
	for (s = SYMTAB; s <= PCLNTAB; s++) {
		enum go_symtab_source src = s == SYMTAB ? GO_SYMTAB_ELF_SYMTAB : GO_SYMTAB_PCLNTAB;

		if (go_symtab_new_from(file, src, &symtab) == 0) {
			probe_functions(dis, file, symtab);
			symtab = go_symtab_free(symtab);
		}
	}
	if (info)
		(void)go_offsets_resolve(file, info, &offsets);
	else
		(void)go_offsets_from_dwarf(file, &offsets);
	go_buildinfo_free(info);
	elf_file_free(file);
	through_go_binary(data, size);
	return 0;
}
