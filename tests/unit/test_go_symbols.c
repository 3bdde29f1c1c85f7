/* Function symbols of real Go binaries (build/fixtures, several Go versions, plain and
 * stripped): .symtab and .gopclntab must agree, and a stripped binary must give the
 * same addresses from its pclntab as the unstripped build from its symtab. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/elf_file.h"
#include "agent/go_symbols.h"
#include "agent/go_text_start.h"
#include "tests/support/go_fixtures.h"

static struct go_fixture fixtures[GO_FIXTURES_MAX];
static size_t nfixtures;

/* The functions the agent probes, all present in the hello fixture. */
static const char *const probed[] = {
	"net/http.serverHandler.ServeHTTP",
	"net/http.(*response).finishRequest",
	"net/http.(*Transport).roundTrip",
	"net/textproto.(*Reader).readContinuedLineSlice",
	"main.hello",
	"main.main",
};

static int setup(void **state)
{
	return go_fixtures_load(fixtures, GO_FIXTURES_MAX, &nfixtures) == 0 ? 0 : -1;
}

static void symtab_and_pclntab_agree_on_every_function(void **state)
{
	size_t i, j, checked = 0, ambiguous = 0;

	for (i = 0; i < nfixtures; i++) {
		struct go_symtab *sym = NULL, *pcln = NULL;
		struct elf_file *f = NULL;

		if (fixtures[i].stripped)
			continue;
		assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
		assert_int_equal(go_symtab_new_from(f, GO_SYMTAB_ELF_SYMTAB, &sym), 0);
		assert_int_equal(go_symtab_new_from(f, GO_SYMTAB_PCLNTAB, &pcln), 0);
		assert_true(go_symtab_count(pcln) > 1000);
		for (j = 0; j < go_symtab_count(pcln); j++) {
			const struct go_func *p = go_symtab_func(pcln, j);
			struct go_func s, q;
			int r = go_symtab_lookup(pcln, p->name, &q);

			if (r == -ENOTUNIQ) {
				ambiguous++;
				continue;
			}
			assert_int_equal(r, 0);
			if (go_symtab_lookup(sym, p->name, &s) < 0)
				continue;
			if (s.addr != p->addr)
				fail_msg("%s: %s at %#lx in symtab, %#lx in pclntab", fixtures[i].path,
					 p->name, (unsigned long)s.addr, (unsigned long)p->addr);
			/* pclntab sizes run to the next function, padding included. */
			assert_true(s.size <= p->size && p->size - s.size < 64);
			checked++;
		}
		for (j = 0; j < sizeof(probed) / sizeof(probed[0]); j++) {
			struct go_func a, b;

			assert_int_equal(go_symtab_lookup(sym, probed[j], &a), 0);
			assert_int_equal(go_symtab_lookup(pcln, probed[j], &b), 0);
			assert_int_equal(a.addr, b.addr);
			assert_true(a.size > 0);
		}
		go_symtab_free(sym);
		go_symtab_free(pcln);
		elf_file_free(f);
	}
	assert_true(checked > 1000);
	/* Only assembly functions have ABI wrappers of the same name. */
	assert_true(ambiguous * 20 < checked);
}

static void stripped_binary_falls_back_to_pclntab_with_the_same_addresses(void **state)
{
	size_t i, j, seen = 0;

	for (i = 0; i < nfixtures; i++) {
		const struct go_fixture *twin;
		struct go_symtab *st = NULL, *ut = NULL;
		struct elf_file *sf = NULL, *uf = NULL;

		if (!fixtures[i].stripped)
			continue;
		twin = go_fixture_unstripped_twin(fixtures, nfixtures, &fixtures[i]);
		assert_non_null(twin);
		assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &sf), 0);
		assert_int_equal(elf_file_open_path(twin->path, NULL, &uf), 0);
		assert_int_equal(go_symtab_new(sf, &st), 0);
		assert_int_equal(go_symtab_source(st), GO_SYMTAB_PCLNTAB);
		assert_int_equal(go_symtab_new(uf, &ut), 0);
		assert_int_equal(go_symtab_source(ut), GO_SYMTAB_ELF_SYMTAB);
		for (j = 0; j < sizeof(probed) / sizeof(probed[0]); j++) {
			struct go_func a, b;

			assert_int_equal(go_symtab_lookup(st, probed[j], &a), 0);
			assert_int_equal(go_symtab_lookup(ut, probed[j], &b), 0);
			assert_int_equal(a.addr, b.addr);
		}
		go_symtab_free(st);
		go_symtab_free(ut);
		elf_file_free(sf);
		elf_file_free(uf);
		seen++;
	}
	assert_true(seen >= 2);
}

/* runtime.text from runtime.firstmoduledata (the header's word ignored) is where the
 * symbol table puts it, in plain, PIE and externally linked PIE builds alike. */
static void runtime_text_is_found_through_the_module_data(void **state)
{
	size_t i, checked = 0;

	for (i = 0; i < nfixtures; i++) {
		struct go_symtab *sym = NULL;
		struct elf_file *f = NULL;
		struct elf_section pcln;
		struct go_func text;
		uint8_t hdr[8 + 8 * 8];
		uint64_t funcname_off, got = 0;

		if (fixtures[i].stripped)
			continue;
		assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
		assert_int_equal(go_symtab_new_from(f, GO_SYMTAB_ELF_SYMTAB, &sym), 0);
		assert_int_equal(go_symtab_lookup(sym, "runtime.text", &text), 0);
		assert_int_equal(elf_file_section_header(f, ".gopclntab", &pcln), 0);
		assert_int_equal(elf_file_read_at(f, pcln.offset, hdr, sizeof(hdr)), 0);
		memcpy(&funcname_off, hdr + 8 + 3 * 8, 8);
		assert_int_equal(go_text_start(f, pcln.vaddr, funcname_off, 0, &got), 0);
		if (got != text.addr)
			fail_msg("%s: runtime.text %#lx, module data says %#lx", fixtures[i].path,
				 (unsigned long)text.addr, (unsigned long)got);
		/* A wrong pclntab address finds no module data. */
		assert_int_equal(go_text_start(f, pcln.vaddr + 8, funcname_off, 0, &got), -ENOENT);
		go_symtab_free(sym);
		elf_file_free(f);
		checked++;
	}
	assert_true(checked >= 4);
}

static void unknown_name_is_enoent(void **state)
{
	struct go_symtab *t = NULL;
	struct elf_file *f = NULL;
	struct go_func fn = { .name = "untouched" };

	assert_int_equal(elf_file_open_path(fixtures[0].path, NULL, &f), 0);
	assert_int_equal(go_symtab_new(f, &t), 0);
	assert_int_equal(go_symtab_lookup(t, "net/http.serverHandler.ServeHTTPX", &fn), -ENOENT);
	assert_int_equal(go_symtab_lookup(t, "", &fn), -ENOENT);
	assert_string_equal(fn.name, "untouched");
	go_symtab_free(t);
	elf_file_free(f);
}

/* The offset of .gopclntab in the image at buf (found through libelf on a clean copy). */
static uint64_t pclntab_offset(const uint8_t *buf, size_t len)
{
	struct elf_section sec;
	struct elf_file *f = NULL;

	assert_int_equal(elf_file_open_mem(buf, len, NULL, &f), 0);
	assert_int_equal(elf_file_section_header(f, ".gopclntab", &sec), 0);
	elf_file_free(f);
	return sec.offset;
}

static int pclntab_of_mutated(const uint8_t *buf, size_t len)
{
	struct go_symtab *t = NULL;
	struct elf_file *f = NULL;
	int r;

	r = elf_file_open_mem(buf, len, NULL, &f);
	if (r == 0)
		r = go_symtab_new_from(f, GO_SYMTAB_PCLNTAB, &t);
	go_symtab_free(t);
	elf_file_free(f);
	return r;
}

static void corrupted_pclntab_gives_errors(void **state)
{
	const struct go_fixture *fx = NULL;
	uint8_t *buf = NULL;
	size_t len, i;
	uint64_t off;

	for (i = 0; i < nfixtures && !fx; i++)
		if (fixtures[i].stripped)
			fx = &fixtures[i];
	assert_non_null(fx);
	assert_int_equal(go_fixture_read_file(fx->path, 64u << 20, &buf, &len), 0);
	off = pclntab_offset(buf, len);
	assert_int_equal(pclntab_of_mutated(buf, len), 0);

	/* Go 1.18-1.19 tables have the same layout under their own magic. */
	buf[off] = 0xf0;
	{
		struct go_symtab *t = NULL;
		struct elf_file *f = NULL;
		struct go_func fn;

		assert_int_equal(elf_file_open_mem(buf, len, NULL, &f), 0);
		assert_int_equal(go_symtab_new_from(f, GO_SYMTAB_PCLNTAB, &t), 0);
		assert_int_equal(go_symtab_lookup(t, "net/http.serverHandler.ServeHTTP", &fn), 0);
		go_symtab_free(t);
		elf_file_free(f);
	}
	/* A Go 1.16 magic: an older format, said so. */
	buf[off] = 0xfa;
	assert_int_equal(pclntab_of_mutated(buf, len), -EPROTONOSUPPORT);
	buf[off] = 0xf1;
	/* A function count past the table. */
	buf[off + 8 + 7] = 0x7f;
	assert_int_equal(pclntab_of_mutated(buf, len), -EINVAL);
	buf[off + 8 + 7] = 0;
	/* The functab offset past the section. */
	buf[off + 8 + 7 * 8 + 6] = 0x40;
	assert_int_equal(pclntab_of_mutated(buf, len), -EINVAL);
	buf[off + 8 + 7 * 8 + 6] = 0;
	/* Every function-name offset pointing outside the section. */
	buf[off + 8 + 3 * 8 + 5] = 0x7f;
	assert_int_equal(pclntab_of_mutated(buf, len), -EINVAL);
	buf[off + 8 + 3 * 8 + 5] = 0;
	assert_int_equal(pclntab_of_mutated(buf, len), 0);
	/* Truncated inside the pclntab. */
	assert_int_not_equal(pclntab_of_mutated(buf, off + 4096), 0);
	free(buf);
}

static void truncated_copies_give_errors_not_crashes(void **state)
{
	static const size_t cuts[] = { 0, 16, 63, 64, 200, 4096, 1u << 20 };
	uint8_t *buf = NULL;
	size_t len, i;

	assert_int_equal(go_fixture_read_file(fixtures[0].path, 64u << 20, &buf, &len), 0);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char path[64];
		struct elf_file *f = NULL;
		struct go_symtab *t = NULL;
		int r;

		assert_int_equal(go_fixture_write_temp(buf, cuts[i], path, sizeof(path)), 0);
		r = elf_file_open_path(path, NULL, &f);
		if (r == 0)
			r = go_symtab_new(f, &t);
		assert_true(r < 0);
		assert_null(t);
		elf_file_free(f);
		unlink(path);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(symtab_and_pclntab_agree_on_every_function),
		cmocka_unit_test(stripped_binary_falls_back_to_pclntab_with_the_same_addresses),
		cmocka_unit_test(runtime_text_is_found_through_the_module_data),
		cmocka_unit_test(unknown_name_is_enoent),
		cmocka_unit_test(corrupted_pclntab_gives_errors),
		cmocka_unit_test(truncated_copies_give_errors_not_crashes),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
