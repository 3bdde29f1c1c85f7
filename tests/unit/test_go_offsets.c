/* Struct field offsets: what libdw reads from each fixture's DWARF must equal the
 * generated table's row for the fixture's Go version (the table was read with Go's
 * own debug/dwarf from a different program); a stripped fixture resolves from the
 * table; a version without a row is refused, never guessed. */
#include <errno.h>
#include <gelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/dwarf_image.h"
#include "agent/elf_file.h"
#include "agent/go_buildinfo.h"
#include "agent/go_offsets.h"
#include "tests/support/go_fixtures.h"

static struct go_fixture fixtures[GO_FIXTURES_MAX];
static size_t nfixtures;

/* What the server and client probes read: the hello fixture uses all of them. */
static const enum go_field http_fields[] = {
	GO_FIELD_REQUEST_METHOD,	 GO_FIELD_REQUEST_URL,	     GO_FIELD_REQUEST_HOST,
	GO_FIELD_REQUEST_REMOTE_ADDR,	 GO_FIELD_REQUEST_HEADER,    GO_FIELD_REQUEST_CTX,
	GO_FIELD_URL_PATH,		 GO_FIELD_URL_RAW_QUERY,     GO_FIELD_RESPONSE_REQ,
	GO_FIELD_RESPONSE_STATUS,	 GO_FIELD_CLIENT_RESPONSE_STATUS_CODE,
	GO_FIELD_RUNTIME_G_GOID,
};
#define N_HTTP_FIELDS (sizeof(http_fields) / sizeof(http_fields[0]))

/* Build info as a binary of that Go version would carry, with optional extra lines. */
static struct go_buildinfo *info_for(const char *version, const char *modinfo)
{
	struct go_buildinfo *info = NULL;

	assert_int_equal(go_buildinfo_parse(version, strlen(version), modinfo, strlen(modinfo),
					    &info),
			 0);
	return info;
}

static int resolve_as(struct elf_file *f, const char *version, struct go_offsets *o)
{
	struct go_buildinfo *info = info_for(version, "");
	int r = go_offsets_resolve(f, info, o);

	go_buildinfo_free(info);
	return r;
}

static int setup(void **state)
{
	return go_fixtures_load(fixtures, GO_FIXTURES_MAX, &nfixtures) == 0 ? 0 : -1;
}

static void dwarf_offsets_equal_the_table_for_the_same_go_version(void **state)
{
	size_t i, compared = 0;
	int f;

	for (i = 0; i < nfixtures; i++) {
		struct go_offsets dw, tab;
		struct elf_file *file = NULL;
		enum go_field missing;

		if (fixtures[i].stripped)
			continue;
		assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &file), 0);
		assert_int_equal(go_offsets_from_dwarf(file, &dw), 0);
		assert_int_equal(go_offsets_from_table(fixtures[i].go_version, &tab), 0);
		assert_int_equal(go_offsets_require(&dw, http_fields, N_HTTP_FIELDS, &missing), 0);
		for (f = 0; f < GO_FIELD_COUNT; f++) {
			if (dw.source[f] != GO_OFFSET_FROM_DWARF)
				continue;
			assert_int_equal(tab.source[f], GO_OFFSET_FROM_TABLE);
			if (dw.off[f] != tab.off[f])
				fail_msg("%s: %s.%s at %u in DWARF, %u in the table", fixtures[i].path,
					 go_field_type(f), go_field_member(f), dw.off[f], tab.off[f]);
			compared++;
		}
		elf_file_free(file);
	}
	assert_true(compared >= 3 * N_HTTP_FIELDS);
}

static void stripped_binary_resolves_from_the_table(void **state)
{
	size_t i, seen = 0;
	int f;

	for (i = 0; i < nfixtures; i++) {
		const struct go_fixture *twin;
		struct go_offsets got, want;
		struct elf_file *sf = NULL, *uf = NULL;
		enum go_field missing;

		if (!fixtures[i].stripped)
			continue;
		twin = go_fixture_unstripped_twin(fixtures, nfixtures, &fixtures[i]);
		assert_non_null(twin);
		assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &sf), 0);
		assert_int_equal(elf_file_open_path(twin->path, NULL, &uf), 0);
		assert_int_equal(go_offsets_from_dwarf(sf, &got), -ENOENT);
		assert_int_equal(resolve_as(sf, fixtures[i].go_version, &got), 0);
		assert_int_equal(resolve_as(uf, twin->go_version, &want), 0);
		assert_int_equal(go_offsets_require(&got, http_fields, N_HTTP_FIELDS, &missing), 0);
		for (f = 0; f < GO_FIELD_COUNT; f++) {
			if (strcmp(go_field_module(f), "std"))
				continue; /* the hello server uses no other module */
			assert_int_equal(got.source[f], GO_OFFSET_FROM_TABLE);
			if (want.source[f] == GO_OFFSET_FROM_DWARF)
				assert_int_equal(got.off[f], want.off[f]);
		}
		assert_true(strncmp(got.table_version, fixtures[i].go_version, 6) == 0);
		elf_file_free(sf);
		elf_file_free(uf);
		seen++;
	}
	assert_true(seen >= 2);
}

static void versions_without_a_row_are_unsupported(void **state)
{
	struct go_offsets o = { .table_version = "untouched" };
	struct elf_file *f = NULL;
	size_t i;

	assert_int_equal(go_offsets_from_table("go1.21.13", &o), -EPROTONOSUPPORT);
	assert_int_equal(go_offsets_from_table("go1.99.0", &o), -EPROTONOSUPPORT);
	assert_int_equal(go_offsets_from_table("go2.22.0", &o), -EPROTONOSUPPORT);
	assert_int_equal(go_offsets_from_table("devel", &o), -EINVAL);
	assert_string_equal(o.table_version, "untouched");
	for (i = 0; i < nfixtures && !fixtures[i].stripped; i++)
		;
	assert_true(i < nfixtures);
	assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
	assert_int_equal(resolve_as(f, "go1.99.1", &o), -EPROTONOSUPPORT);
	assert_int_equal(resolve_as(f, "not a version", &o), -EPROTONOSUPPORT);
	assert_string_equal(o.table_version, "untouched");
	elf_file_free(f);
}

static void table_covers_go_1_22_to_1_26_and_every_fixture(void **state)
{
	const struct go_offsets_table *std = NULL;
	struct go_offsets o;
	unsigned minor;
	size_t i;

	for (minor = 22; minor <= 26; minor++) {
		char v[16];

		snprintf(v, sizeof(v), "go1.%u.0", minor);
		assert_int_equal(go_offsets_from_table(v, &o), 0);
	}
	for (i = 0; i < nfixtures; i++)
		assert_int_equal(go_offsets_from_table(fixtures[i].go_version, &o), 0);
	/* Maps became Swiss tables in Go 1.24: each row has one layout or the other. */
	for (i = 0; i < go_offsets_tables_len; i++)
		if (strcmp(go_offsets_tables[i]->module, "std") == 0)
			std = go_offsets_tables[i];
	assert_non_null(std);
	for (i = 0; i < std->len; i++) {
		const struct go_offsets_row *row = &std->rows[i];
		int swiss = row->minor >= 24;

		assert_int_equal(row->off[GO_FIELD_RUNTIME_HMAP_BUCKETS] == GO_OFFSET_ABSENT, swiss);
		assert_int_equal(row->off[GO_FIELD_SWISS_MAP_DIR_PTR] == GO_OFFSET_ABSENT, !swiss);
	}
}

static void get_and_require_tell_absent_from_unknown(void **state)
{
	struct go_offsets o;
	enum go_field need[] = { GO_FIELD_REQUEST_METHOD, GO_FIELD_RUNTIME_HMAP_COUNT };
	enum go_field missing = GO_FIELD_COUNT;
	uint32_t off = 12345;

	assert_int_equal(go_offsets_from_table("go1.26.0", &o), 0);
	assert_int_equal(go_offsets_get(&o, GO_FIELD_RUNTIME_HMAP_COUNT, &off), -ENODATA);
	assert_int_equal(off, 12345);
	assert_int_equal(go_offsets_require(&o, need, 2, &missing), -EPROTONOSUPPORT);
	assert_int_equal(missing, GO_FIELD_RUNTIME_HMAP_COUNT);
	memset(&o, 0, sizeof(o));
	assert_int_equal(go_offsets_get(&o, GO_FIELD_REQUEST_METHOD, &off), -ENOENT);
	assert_int_equal(go_offsets_get(&o, GO_FIELD_COUNT, &off), -ENOENT);
	assert_string_equal(go_field_type(GO_FIELD_URL_PATH), "net/url.URL");
	assert_string_equal(go_field_member(GO_FIELD_URL_PATH), "Path");
}

static void tight_debug_section_bound_falls_back_to_the_table(void **state)
{
	struct elf_file_opts opts = { .max_section_size = 4096 };
	struct go_offsets o;
	struct elf_file *f = NULL;
	size_t i;
	int fld;

	for (i = 0; i < nfixtures && fixtures[i].stripped; i++)
		;
	assert_int_equal(elf_file_open_path(fixtures[i].path, &opts, &f), 0);
	assert_int_equal(go_offsets_from_dwarf(f, &o), -EFBIG);
	assert_int_equal(resolve_as(f, fixtures[i].go_version, &o), 0);
	for (fld = 0; fld < GO_FIELD_COUNT; fld++)
		assert_int_equal(o.source[fld], strcmp(go_field_module(fld), "std")
							? GO_OFFSET_UNKNOWN
							: GO_OFFSET_FROM_TABLE);
	elf_file_free(f);
}

static void corrupted_debug_info_gives_errors_not_crashes(void **state)
{
	struct elf_section sec;
	struct elf_file *f = NULL;
	uint8_t *buf = NULL;
	size_t len, i, k;

	for (i = 0; i < nfixtures && fixtures[i].stripped; i++)
		;
	assert_int_equal(go_fixture_read_file(fixtures[i].path, 64u << 20, &buf, &len), 0);
	assert_int_equal(elf_file_open_mem(buf, len, NULL, &f), 0);
	assert_int_equal(elf_file_section_header(f, ".debug_info", &sec), 0);
	f = elf_file_free(f);
	/* Scribble over the compressed bytes at several places: each read must end in an
	 * error or in offsets, never a crash (the sanitizers watch). */
	for (k = 0; k < 8; k++) {
		struct go_offsets o;
		uint8_t *copy = malloc(len);
		size_t at = sec.offset + (sec.size * k) / 8, j;

		assert_non_null(copy);
		memcpy(copy, buf, len);
		for (j = 0; j < 64 && at + j < sec.offset + sec.size; j++)
			copy[at + j] ^= 0x5a;
		assert_int_equal(elf_file_open_mem(copy, len, NULL, &f), 0);
		(void)go_offsets_from_dwarf(f, &o);
		f = elf_file_free(f);
		free(copy);
	}
	free(buf);
}

static void goexperiment_builds_do_not_take_runtime_layouts_from_the_table(void **state)
{
	struct go_buildinfo *info = info_for("go1.24.13", "build\tGOEXPERIMENT=noswissmap\n");
	struct go_offsets o;
	struct elf_file *f = NULL;
	uint32_t off;
	size_t i;

	for (i = 0; i < nfixtures && !fixtures[i].stripped; i++)
		;
	assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
	assert_int_equal(go_offsets_resolve(f, info, &o), 0);
	assert_int_equal(go_offsets_get(&o, GO_FIELD_SWISS_MAP_DIR_PTR, &off), -ENOENT);
	assert_int_equal(go_offsets_get(&o, GO_FIELD_RUNTIME_G_GOID, &off), -ENOENT);
	assert_int_equal(go_offsets_get(&o, GO_FIELD_REQUEST_METHOD, &off), 0);
	assert_int_equal(o.source[GO_FIELD_URL_PATH], GO_OFFSET_FROM_TABLE);
	go_buildinfo_free(info);
	elf_file_free(f);
}

static const enum go_field grpc_fields[] = {
	GO_FIELD_GRPC_STREAM_METHOD,	     GO_FIELD_GRPC_STREAM_ID,
	GO_FIELD_GRPC_SERVER_STREAM_STREAM,  GO_FIELD_GRPC_STATUS_S,
	GO_FIELD_GRPC_STATUS_ERROR_S,	     GO_FIELD_GRPC_SPB_STATUS_CODE,
	GO_FIELD_HTTP2_META_FRAME_HEADERS,   GO_FIELD_HTTP2_META_FRAME_FIELDS,
	GO_FIELD_HTTP2_HEADERS_FRAME_HEADER, GO_FIELD_HTTP2_FRAME_HEADER_STREAM_ID,
	GO_FIELD_HPACK_FIELD_NAME,	     GO_FIELD_HPACK_FIELD_VALUE,
	GO_FIELD_HPACK_FIELD_SENSITIVE,	     GO_FIELD_GRPC_STREAM_CTX,
};
#define N_GRPC_FIELDS (sizeof(grpc_fields) / sizeof(grpc_fields[0]))

/* Module fields: the gRPC fixture's DWARF agrees with the table row for the grpc
 * version its build info lists, and its stripped twin resolves them from that row. */
static void module_offsets_follow_the_module_version(void **state)
{
	struct go_fixture grpc[4];
	struct go_buildinfo *info = NULL;
	struct go_offsets dw, got;
	struct elf_file *f = NULL;
	enum go_field missing;
	size_t n, i, k;

	assert_int_equal(go_fixtures_load_from(GO_FIXTURES_GRPC_MANIFEST, grpc, 4, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(elf_file_open_path(grpc[i].path, NULL, &f), 0);
		assert_int_equal(go_buildinfo_read(f, &info), 0);
		assert_non_null(go_buildinfo_find_dep(info, "google.golang.org/grpc"));
		assert_int_equal(go_offsets_resolve(f, info, &got), 0);
		assert_int_equal(go_offsets_require(&got, grpc_fields, N_GRPC_FIELDS, &missing), 0);
		if (!grpc[i].stripped) {
			assert_int_equal(go_offsets_from_dwarf(f, &dw), 0);
			memset(&got, 0, sizeof(got));
			assert_int_equal(go_offsets_add_module(
						 "google.golang.org/grpc",
						 go_buildinfo_find_dep(info, "google.golang.org/grpc")->version,
						 &got),
					 0);
			for (k = 0; k < N_GRPC_FIELDS; k++) {
				assert_int_equal(dw.source[grpc_fields[k]], GO_OFFSET_FROM_DWARF);
				assert_int_equal(got.source[grpc_fields[k]], GO_OFFSET_FROM_TABLE);
				assert_int_equal(dw.off[grpc_fields[k]], got.off[grpc_fields[k]]);
			}
		} else {
			for (k = 0; k < N_GRPC_FIELDS; k++)
				assert_int_equal(got.source[grpc_fields[k]], GO_OFFSET_FROM_TABLE);
		}
		info = go_buildinfo_free(info);
		f = elf_file_free(f);
	}
}

static void module_versions_without_a_row_are_unknown(void **state)
{
	static const char *const modinfos[] = {
		"dep\tgoogle.golang.org/grpc\tv1.0.0\n",		      /* no row */
		"dep\tgoogle.golang.org/grpc\tv1.75.1\n=>\t../grpc\t\n", /* local copy */
		"dep\tgoogle.golang.org/grpc\tv1.75.1\n=>\texample.com/grpc\tv1.75.1\n",
		"", /* does not use grpc */
	};
	struct go_offsets o;
	struct elf_file *f = NULL;
	size_t i;
	uint32_t off;

	for (i = 0; i < nfixtures && !fixtures[i].stripped; i++)
		;
	assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
	for (i = 0; i < sizeof(modinfos) / sizeof(modinfos[0]); i++) {
		struct go_buildinfo *info = info_for("go1.26.8", modinfos[i]);

		assert_int_equal(go_offsets_resolve(f, info, &o), 0);
		assert_int_equal(go_offsets_get(&o, GO_FIELD_GRPC_STREAM_METHOD, &off), -ENOENT);
		assert_int_equal(go_offsets_get(&o, GO_FIELD_REQUEST_METHOD, &off), 0);
		go_buildinfo_free(info);
	}
	elf_file_free(f);
	memset(&o, 0, sizeof(o));
	assert_int_equal(go_offsets_add_module("google.golang.org/grpc", "v1.0.0", &o),
			 -EPROTONOSUPPORT);
	assert_int_equal(go_offsets_add_module("google.golang.org/grpc", "v1.75.1", &o), 0);
	assert_int_equal(go_offsets_get(&o, GO_FIELD_GRPC_STREAM_METHOD, &off), 0);
	{
		struct go_offsets same = { 0 };
		uint32_t off2;

		/* Another patch release of a measured minor version: the same row. */
		assert_int_equal(go_offsets_add_module("google.golang.org/grpc", "v1.75.0", &same),
				 0);
		assert_int_equal(go_offsets_get(&same, GO_FIELD_GRPC_STREAM_METHOD, &off2), 0);
		assert_int_equal(off2, off);
		/* Pre-releases and pseudo-versions match exactly or not at all. */
		assert_int_equal(go_offsets_add_module("google.golang.org/grpc", "v1.75.2-dev", &same),
				 -EPROTONOSUPPORT);
		assert_int_equal(go_offsets_add_module("google.golang.org/grpc",
						       "v0.0.0-20250101000000-abcdefabcdef", &same),
				 -EPROTONOSUPPORT);
		assert_int_equal(go_offsets_add_module("google.golang.org/grpc", "v1.99.0", &same),
				 -EPROTONOSUPPORT);
	}
	assert_int_equal(go_offsets_get(&o, GO_FIELD_REQUEST_METHOD, &off), -ENOENT);
}

/* The debug-only image libdw reads holds the binary's abbreviations byte for byte, and
 * of .debug_info the units named "runtime", where Go's linker puts the types: a part
 * of the section, copied as it is. */
static void debug_image_holds_the_same_dwarf_bytes(void **state)
{
	static const char *const names[] = { ".debug_abbrev", ".debug_info" };
	struct dwarf_image *img = NULL;
	struct elf_file *f = NULL;
	size_t i, k, shstrndx;

	for (i = 0; i < nfixtures && fixtures[i].stripped; i++)
		;
	assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
	assert_int_equal(dwarf_image_new(f, 1u << 30, &img), 0);
	assert_int_equal(elf_getshdrstrndx(dwarf_image_elf(img), &shstrndx), 0);
	for (k = 0; k < 2; k++) {
		struct elf_section want;
		Elf_Scn *scn = NULL;
		int found = 0;

		assert_int_equal(elf_file_section(f, names[k], &want), 0);
		while ((scn = elf_nextscn(dwarf_image_elf(img), scn)) != NULL) {
			GElf_Shdr sh;
			Elf_Data *d;

			assert_non_null(gelf_getshdr(scn, &sh));
			if (strcmp(elf_strptr(dwarf_image_elf(img), shstrndx, sh.sh_name), names[k]))
				continue;
			d = elf_getdata(scn, NULL);
			assert_non_null(d);
			if (k == 0) {
				assert_int_equal(d->d_size, want.size);
				assert_memory_equal(d->d_buf, want.data, want.size);
			} else {
				/* The first runtime unit, whole, somewhere in the section. */
				uint32_t unit;

				assert_true(d->d_size > 0 && d->d_size < want.size);
				memcpy(&unit, d->d_buf, 4);
				assert_true(unit + 4 <= d->d_size);
				assert_non_null(memmem(want.data, want.size, d->d_buf, unit + 4));
			}
			found = 1;
		}
		assert_true(found);
	}
	dwarf_image_free(img);
	elf_file_free(f);
	/* No DWARF in a stripped build. */
	for (i = 0; i < nfixtures && !fixtures[i].stripped; i++)
		;
	assert_int_equal(elf_file_open_path(fixtures[i].path, NULL, &f), 0);
	img = NULL;
	assert_int_equal(dwarf_image_new(f, 1u << 30, &img), -ENOENT);
	assert_null(img);
	elf_file_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dwarf_offsets_equal_the_table_for_the_same_go_version),
		cmocka_unit_test(stripped_binary_resolves_from_the_table),
		cmocka_unit_test(versions_without_a_row_are_unsupported),
		cmocka_unit_test(table_covers_go_1_22_to_1_26_and_every_fixture),
		cmocka_unit_test(get_and_require_tell_absent_from_unknown),
		cmocka_unit_test(tight_debug_section_bound_falls_back_to_the_table),
		cmocka_unit_test(corrupted_debug_info_gives_errors_not_crashes),
		cmocka_unit_test(debug_image_holds_the_same_dwarf_bytes),
		cmocka_unit_test(goexperiment_builds_do_not_take_runtime_layouts_from_the_table),
		cmocka_unit_test(module_offsets_follow_the_module_version),
		cmocka_unit_test(module_versions_without_a_row_are_unknown),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
