/* The bounded ELF reader: sections by name with their bytes, vaddr -> file offset, and
 * the limits and checks that keep a hostile file from costing more than an error. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/elf_file.h"
#include "tests/support/elf_builder.h"
#include "tests/support/go_fixtures.h"

static struct go_fixture fixtures[GO_FIXTURES_MAX];
static size_t nfixtures;

static int setup(void **state)
{
	return go_fixtures_load(fixtures, GO_FIXTURES_MAX, &nfixtures) == 0 ? 0 : -1;
}

static void sections_read_by_name_match_the_file_bytes(void **state)
{
	size_t i;

	for (i = 0; i < nfixtures; i++) {
		struct elf_section sec, text;
		struct elf_file *f = NULL;
		uint8_t head[64];
		uint64_t off;
		int fd;

		assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
		assert_int_equal(elf_file_section(f, ".gopclntab", &sec), 0);
		assert_string_equal(sec.name, ".gopclntab");
		assert_true(sec.size > 4096);
		fd = open(fixtures[i].path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, head, sizeof(head), (off_t)sec.offset), sizeof(head));
		close(fd);
		assert_memory_equal(sec.data, head, sizeof(head));
		/* .text's address maps to .text's file offset. */
		assert_int_equal(elf_file_section_header(f, ".text", &text), 0);
		assert_null(text.data);
		assert_int_equal(elf_file_vaddr_to_offset(f, text.vaddr + 100, &off), 0);
		assert_int_equal(off, text.offset + 100);
		assert_int_equal(elf_file_read_vaddr(f, sec.vaddr, head, sizeof(head)), 0);
		assert_memory_equal(sec.data, head, sizeof(head));
		assert_int_equal(elf_file_section(f, ".no.such.section", &sec), -ENOENT);
		assert_int_equal(elf_file_section(f, ".bss", &sec), -ENOENT); /* NOBITS */
		assert_int_equal(elf_file_vaddr_to_offset(f, UINT64_MAX - 16, &off), -ERANGE);
		elf_file_free(f);
	}
}

static void compressed_sections_are_decompressed_within_bounds(void **state)
{
	struct elf_file_opts tight = { 0 };
	struct elf_section sec;
	struct elf_file *f = NULL;
	uint64_t compressed;
	size_t i;

	for (i = 0; i < nfixtures && fixtures[i].stripped; i++)
		;
	assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
	assert_int_equal(elf_file_section_header(f, ".debug_info", &sec), 0);
	assert_true(sec.flags & SHF_COMPRESSED);
	compressed = sec.size;
	assert_int_equal(elf_file_section(f, ".debug_info", &sec), 0);
	assert_true(sec.size > compressed);
	/* DWARF 4 or 5 unit header: length, then version. */
	assert_true(sec.data[4] == 4 || sec.data[4] == 5);
	/* Asked again, the section is the same (it is decompressed once, in place). */
	{
		struct elf_section again, raw;

		assert_int_equal(elf_file_section_header(f, ".debug_info", &again), 0);
		assert_int_equal(elf_file_section(f, ".debug_info", &again), 0);
		assert_ptr_equal(again.data, sec.data);
		assert_int_equal(again.size, sec.size);
		assert_int_equal(elf_file_section_raw(f, ".debug_info", &raw), 0);
		assert_int_equal(raw.size, sec.size);
		assert_false(raw.flags & SHF_COMPRESSED);
	}
	f = elf_file_free(f);
	/* Room for the compressed bytes, not for what they claim to expand to. */
	tight.max_section_size = compressed;
	assert_int_equal(elf_file_open_path(fixtures[i].path, &tight, &f), 0);
	assert_int_equal(elf_file_section_header(f, ".debug_info", &sec), 0);
	assert_int_equal(elf_file_section(f, ".debug_info", &sec), -EFBIG);
	assert_int_equal(elf_file_section(f, ".go.buildinfo", &sec), 0);
	tight.max_section_size = sec.size - 1;
	f = elf_file_free(f);
	assert_int_equal(elf_file_open_path(fixtures[i].path, &tight, &f), 0);
	assert_int_equal(elf_file_section(f, ".go.buildinfo", &sec), -EFBIG);
	elf_file_free(f);
}

static void what_is_not_a_64bit_elf_is_refused(void **state)
{
	struct elf_file_opts small = { .max_file_size = 4096 };
	struct elf_file *f = NULL;
	uint8_t *img = NULL;
	size_t len;
	struct elf_builder_section s = { ".text", SHT_PROGBITS, SHF_ALLOC, "\xc3", 1 };

	assert_int_equal(elf_file_open_path("/no/such/file", NULL, &f), -ENOENT);
	assert_int_equal(elf_file_open_path("/tmp", NULL, &f), -EINVAL);
	assert_int_equal(elf_file_open_path(GO_FIXTURES_MANIFEST, NULL, &f), -EINVAL);
	assert_int_equal(elf_file_open_path(fixtures[0].path, &small, &f), -EFBIG);
	assert_int_equal(elf_file_open_mem("", 0, NULL, &f), -EINVAL);
	assert_int_equal(elf_builder_build(&s, 1, &img, &len), 0);
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), 0);
	f = elf_file_free(f);
	img[EI_CLASS] = ELFCLASS32;
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), -EINVAL);
	img[EI_CLASS] = ELFCLASS64;
	img[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), -EINVAL);
	assert_null(f);
	assert_null(elf_file_free(NULL));
	free(img);
}

static void section_headers_pointing_outside_the_file_are_refused(void **state)
{
	static const uint8_t payload[64] = { 1, 2, 3 };
	struct elf_builder_section s = { ".payload", SHT_PROGBITS, SHF_ALLOC, payload,
					  sizeof(payload) };
	struct elf_section sec;
	struct elf_file *f = NULL;
	Elf64_Ehdr eh;
	Elf64_Shdr sh;
	uint8_t *img = NULL;
	size_t len, at;

	assert_int_equal(elf_builder_build(&s, 1, &img, &len), 0);
	memcpy(&eh, img, sizeof(eh));
	at = eh.e_shoff + sizeof(sh); /* section 1: .payload */
	memcpy(&sh, img + at, sizeof(sh));
	sh.sh_size = 1u << 30;
	memcpy(img + at, &sh, sizeof(sh));
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), 0);
	assert_int_equal(elf_file_section(f, ".payload", &sec), -ERANGE);
	f = elf_file_free(f);
	sh.sh_size = sizeof(payload);
	sh.sh_offset = UINT64_MAX - 8;
	memcpy(img + at, &sh, sizeof(sh));
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), 0);
	assert_int_equal(elf_file_section(f, ".payload", &sec), -ERANGE);
	f = elf_file_free(f);
	/* A truncated file: the section header table itself is gone. */
	assert_int_not_equal(elf_file_open_mem(img, eh.e_shoff + 8, NULL, &f) == 0 &&
				     elf_file_section(f, ".payload", &sec) == 0,
			     1);
	elf_file_free(f);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sections_read_by_name_match_the_file_bytes),
		cmocka_unit_test(compressed_sections_are_decompressed_within_bounds),
		cmocka_unit_test(what_is_not_a_64bit_elf_is_refused),
		cmocka_unit_test(section_headers_pointing_outside_the_file_are_refused),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
