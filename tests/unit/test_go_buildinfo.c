/* Go build information: the fixtures' Go version and modules must match what `go
 * version -m` printed for them at build time (build/fixtures/<name>.modinfo); the pre-1.18
 * pointer layout is checked on a synthetic ELF; bad input gives errors. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/elf_file.h"
#include "agent/go_buildinfo.h"
#include "tests/support/elf_builder.h"
#include "tests/support/go_fixtures.h"

static struct go_fixture fixtures[GO_FIXTURES_MAX];
static size_t nfixtures;

static int setup(void **state)
{
	return go_fixtures_load(fixtures, GO_FIXTURES_MAX, &nfixtures) == 0 ? 0 : -1;
}

/* Checks info against the `go version -m` text saved next to the fixture. */
static void check_against_go_version_m(const struct go_fixture *fx,
				       const struct go_buildinfo *info)
{
	char path[300], line[1024];
	size_t deps = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s.modinfo", fx->path);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	/* First line: "<path>: go1.22.12" */
	assert_non_null(strstr(line, go_buildinfo_go_version(info)));
	while (fgets(line, sizeof(line), f)) {
		/* "\t<kind>\t<a>[\t<b>[\t<sum>]]\n" */
		char *kind = line + 1, *a, *b = NULL, *t;
		const struct go_module *m;

		line[strcspn(line, "\n")] = '\0';
		a = strchr(kind, '\t');
		if (line[0] != '\t' || !a)
			continue;
		*a++ = '\0';
		t = strchr(a, '\t');
		if (t) {
			*t = '\0';
			b = t + 1;
			t = strchr(b, '\t');
			if (t)
				*t = '\0';
		}
		if (strcmp(kind, "path") == 0) {
			assert_string_equal(go_buildinfo_main(info)->path, a);
		} else if (b && strcmp(kind, "mod") == 0) {
			assert_string_equal(go_buildinfo_main(info)->version, b);
		} else if (b && strcmp(kind, "dep") == 0) {
			m = go_buildinfo_find_dep(info, a);
			assert_non_null(m);
			assert_string_equal(m->version, b);
			deps++;
		} else if (strcmp(kind, "build") == 0) {
			char *eq = strchr(a, '=');

			assert_non_null(eq);
			*eq = '\0';
			assert_string_equal(go_buildinfo_setting(info, a), eq + 1);
		}
	}
	fclose(f);
	assert_int_equal(go_buildinfo_dep_count(info), deps);
}

static void fixtures_report_the_go_version_and_modules_that_built_them(void **state)
{
	size_t i;

	for (i = 0; i < nfixtures; i++) {
		struct go_buildinfo *info = NULL;
		struct elf_file *f = NULL;
		const struct go_module *dep;

		assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
		assert_int_equal(go_buildinfo_read(f, &info), 0);
		assert_string_equal(go_buildinfo_go_version(info), fixtures[i].go_version);
		check_against_go_version_m(&fixtures[i], info);
		dep = go_buildinfo_find_dep(info, "autotrace.dev/fixtures/greet");
		assert_non_null(dep);
		assert_string_equal(dep->replaced_by_path, "../greet");
		assert_string_equal(go_buildinfo_main(info)->path, "autotrace.dev/fixtures/hello");
		go_buildinfo_free(info);
		elf_file_free(f);
	}
}

/* A Go 1.17-style .go.buildinfo: the header then two pointers to Go string headers. */
static void pointer_format_is_read(void **state)
{
	static const char version[] = "go1.17.13";
	static const char modinfo[] =
		"0w\xaf\x0c\x92t\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6"
		"path\texample.com/app\nmod\texample.com/app\tv1.0.0\th1:abc=\n"
		"dep\tgolang.org/x/net\tv0.1.0\th1:def=\n"
		"\xf9\x32\x43\x31\x86\x18 r\x00\x82\x42\x10\x41\x16\xd8\xf2";
	const uint64_t base = ELF_BUILDER_VADDR + ELF_BUILDER_FIRST_OFFSET;
	uint8_t sec[256] = "\xff Go buildinf:";
	struct elf_builder_section s = { ".go.buildinfo", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE,
					  sec, sizeof(sec) };
	struct go_buildinfo *info = NULL;
	struct elf_file *f = NULL;
	uint64_t w;
	uint8_t *img = NULL;
	size_t len;

	assert_true(sizeof(modinfo) - 1 < sizeof(sec) - 96);
	sec[14] = 8; /* pointer size */
	sec[15] = 0; /* little-endian, pointer format */
	w = base + 32;
	memcpy(sec + 16, &w, 8);
	w = base + 48;
	memcpy(sec + 24, &w, 8);
	w = base + 64; /* version string header */
	memcpy(sec + 32, &w, 8);
	w = sizeof(version) - 1;
	memcpy(sec + 40, &w, 8);
	w = base + 80; /* modinfo string header */
	memcpy(sec + 48, &w, 8);
	w = sizeof(modinfo) - 1;
	memcpy(sec + 56, &w, 8);
	memcpy(sec + 64, version, sizeof(version) - 1);
	memcpy(sec + 80, modinfo, sizeof(modinfo) - 1);
	assert_int_equal(elf_builder_build(&s, 1, &img, &len), 0);
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), 0);
	assert_int_equal(go_buildinfo_read(f, &info), 0);
	assert_string_equal(go_buildinfo_go_version(info), "go1.17.13");
	assert_string_equal(go_buildinfo_main(info)->path, "example.com/app");
	assert_string_equal(go_buildinfo_main(info)->version, "v1.0.0");
	assert_string_equal(go_buildinfo_find_dep(info, "golang.org/x/net")->version, "v0.1.0");
	go_buildinfo_free(info);
	info = NULL;
	elf_file_free(f);

	/* A string header pointing outside the file. */
	w = 0x7fff0000;
	memcpy(img + ELF_BUILDER_FIRST_OFFSET + 48, &w, 8);
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), 0);
	assert_int_equal(go_buildinfo_read(f, &info), -ERANGE);
	elf_file_free(f);
	/* A length over the bound. */
	memcpy(img + ELF_BUILDER_FIRST_OFFSET + 48, &(uint64_t){ base + 80 }, 8);
	memcpy(img + ELF_BUILDER_FIRST_OFFSET + 56, &(uint64_t){ 1ull << 40 }, 8);
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), 0);
	assert_int_equal(go_buildinfo_read(f, &info), -EFBIG);
	assert_null(info);
	elf_file_free(f);
	free(img);
}

static int read_inline(const uint8_t *payload, size_t n, struct go_buildinfo **ret)
{
	uint8_t sec[128] = "\xff Go buildinf:";
	struct elf_builder_section s = { ".go.buildinfo", SHT_PROGBITS, SHF_ALLOC, sec, 32 + n };
	struct elf_file *f = NULL;
	uint8_t *img = NULL;
	size_t len;
	int r;

	sec[14] = 8;
	sec[15] = 2; /* inline strings */
	memcpy(sec + 32, payload, n);
	assert_int_equal(elf_builder_build(&s, 1, &img, &len), 0);
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), 0);
	r = go_buildinfo_read(f, ret);
	elf_file_free(f);
	free(img);
	return r;
}

static void inline_format_bounds(void **state)
{
	static const uint8_t ok[] = { 9, 'g', 'o', '1', '.', '2', '3', '.', '4', '5', 0 };
	static const uint8_t long_len[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					    0x80, 0x80, 0x80, 0x01 };
	static const uint8_t past_end[] = { 50, 'g', 'o' };
	static const uint8_t empty_version[] = { 0, 0 };
	static const uint8_t nul_in_version[] = { 3, 'g', 0, 'o', 0 };
	struct go_buildinfo *info = NULL;

	assert_int_equal(read_inline(ok, sizeof(ok), &info), 0);
	assert_string_equal(go_buildinfo_go_version(info), "go1.23.45");
	assert_null(go_buildinfo_main(info)->path);
	assert_int_equal(go_buildinfo_dep_count(info), 0);
	info = go_buildinfo_free(info);
	assert_int_equal(read_inline(long_len, sizeof(long_len), &info), -EINVAL);
	assert_int_equal(read_inline(past_end, sizeof(past_end), &info), -EINVAL);
	assert_int_equal(read_inline(empty_version, sizeof(empty_version), &info), -EINVAL);
	assert_int_equal(read_inline(nul_in_version, sizeof(nul_in_version), &info), -EINVAL);
	assert_null(info);
}

static void module_text_is_parsed_like_go_does(void **state)
{
	static const char text[] = "path\tcmd/x\nmod\tcmd/x\t(devel)\t\n"
				   "dep\ta.io/b\tv1.2.3\th1:x=\n=>\ta.io/c\tv1.2.4\th1:y=\n"
				   "dep\td.io/e\tv0.0.1\nbuild\t-buildmode=exe\nbuild\tCGO_ENABLED=0\n"
				   "junk\nbuild\tnovalue\n";
	static const char orphan[] = "=>\ta.io/c\tv1\n";
	struct go_buildinfo *info = NULL;
	const struct go_module *m;

	assert_int_equal(go_buildinfo_parse("go1.22.1", 8, text, sizeof(text) - 1, &info), 0);
	assert_int_equal(go_buildinfo_dep_count(info), 2);
	m = go_buildinfo_find_dep(info, "a.io/b");
	assert_string_equal(m->version, "v1.2.3");
	assert_string_equal(m->sum, "h1:x=");
	assert_string_equal(m->replaced_by_path, "a.io/c");
	assert_string_equal(m->replaced_by_version, "v1.2.4");
	assert_null(go_buildinfo_find_dep(info, "d.io/e")->replaced_by_path);
	assert_null(go_buildinfo_find_dep(info, "a.io/c"));
	assert_string_equal(go_buildinfo_setting(info, "CGO_ENABLED"), "0");
	assert_null(go_buildinfo_setting(info, "novalue"));
	go_buildinfo_free(info);
	info = NULL;
	assert_int_equal(go_buildinfo_parse("go1.22.1", 8, orphan, sizeof(orphan) - 1, &info),
			 -EINVAL);
	assert_null(info);
}

static void module_text_over_the_bounds_is_refused(void **state)
{
	static const char line[] = "build\tk=v\n";
	size_t n = GO_BUILDINFO_MAX_SETTINGS + 1, i;
	char *text = malloc(n * (sizeof(line) - 1) + 1);
	struct go_buildinfo *info = NULL;

	assert_non_null(text);
	for (i = 0; i < n; i++)
		memcpy(text + i * (sizeof(line) - 1), line, sizeof(line) - 1);
	assert_int_equal(go_buildinfo_parse("go1.22.1", 8, text, n * (sizeof(line) - 1), &info),
			 -EFBIG);
	assert_int_equal(go_buildinfo_parse("go1.22.1", 8, text, (n - 1) * (sizeof(line) - 1),
					    &info),
			 0);
	info = go_buildinfo_free(info);
	assert_int_equal(go_buildinfo_parse("go1.22.1", 8, text, GO_BUILDINFO_MAX_MODINFO + 1,
					    &info),
			 -EFBIG);
	assert_null(info);
	free(text);
}

static void go_versions_parse(void **state)
{
	struct go_version v = { 9, 9, 9 };

	assert_int_equal(go_version_parse("go1.22.12", &v), 0);
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 22);
	assert_int_equal(v.patch, 12);
	assert_int_equal(go_version_parse("go1.21rc2", &v), 0);
	assert_int_equal(v.minor, 21);
	assert_int_equal(v.patch, 0);
	assert_int_equal(go_version_parse("go1.24.0 X:nocoverageredesign", &v), 0);
	assert_int_equal(v.minor, 24);
	assert_int_equal(go_version_parse("devel go1.25-abc", &v), -EINVAL);
	assert_int_equal(go_version_parse("go1", &v), -EINVAL);
	assert_int_equal(go_version_parse("go1.", &v), -EINVAL);
	assert_int_equal(go_version_parse("go1.22.", &v), -EINVAL);
	assert_int_equal(go_version_parse("go99999999999.1", &v), -EINVAL);
	assert_int_equal(v.minor, 24);
}

static void binary_without_buildinfo_is_enoent(void **state)
{
	static const uint8_t text[] = { 0xc3 };
	struct elf_builder_section s = { ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text, 1 };
	struct go_buildinfo *info = NULL;
	struct elf_file *f = NULL;
	uint8_t *img = NULL;
	size_t len;

	assert_int_equal(elf_builder_build(&s, 1, &img, &len), 0);
	assert_int_equal(elf_file_open_mem(img, len, NULL, &f), 0);
	assert_int_equal(go_buildinfo_read(f, &info), -ENOENT);
	elf_file_free(f);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixtures_report_the_go_version_and_modules_that_built_them),
		cmocka_unit_test(pointer_format_is_read),
		cmocka_unit_test(inline_format_bounds),
		cmocka_unit_test(module_text_is_parsed_like_go_does),
		cmocka_unit_test(module_text_over_the_bounds_is_refused),
		cmocka_unit_test(go_versions_parse),
		cmocka_unit_test(binary_without_buildinfo_is_enoent),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
