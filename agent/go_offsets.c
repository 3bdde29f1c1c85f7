/* Struct field offsets from DWARF (libdw) or the generated table; see go_offsets.h. */
#include "agent/go_offsets.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/dwarf_image.h"
#include "agent/go_buildinfo.h"
#include "lib/log/log.h"

static const struct {
	const char *module, *type, *member;
} fields[GO_FIELD_COUNT] = {
#define GO_FIELD(id, mod, t, m) [GO_FIELD_##id] = { mod, t, m },
#include "agent/go_fields.def"
#undef GO_FIELD
};

const char *go_field_module(enum go_field f)
{
	return (unsigned)f < GO_FIELD_COUNT ? fields[f].module : "?";
}

const char *go_field_type(enum go_field f)
{
	return (unsigned)f < GO_FIELD_COUNT ? fields[f].type : "?";
}

const char *go_field_member(enum go_field f)
{
	return (unsigned)f < GO_FIELD_COUNT ? fields[f].member : "?";
}

const char *go_offset_source_name(enum go_offset_source source)
{
	switch (source) {
	case GO_OFFSET_FROM_DWARF:
		return "dwarf";
	case GO_OFFSET_FROM_TABLE:
		return "table";
	default:
		return "unknown";
	}
}

struct walk {
	struct go_offsets *out;
	unsigned long dies;
	int structs_left;
	unsigned char type_done[GO_FIELD_COUNT]; /* indexed by the first field of a type */
};

/* The first field whose type is name, or GO_FIELD_COUNT. */
static enum go_field first_field_of(const char *name)
{
	int f;

	for (f = 0; f < GO_FIELD_COUNT; f++)
		if (strcmp(fields[f].type, name) == 0)
			return (enum go_field)f;
	return GO_FIELD_COUNT;
}

static int distinct_types(void)
{
	int f, n = 0;

	for (f = 0; f < GO_FIELD_COUNT; f++)
		n += first_field_of(fields[f].type) == (enum go_field)f;
	return n;
}

/* Records the members of struct die (named type) that fields[] asks for; the type's
 * other asked-for members are absent in this binary. */
static int read_struct(struct walk *w, Dwarf_Die *die, const char *type)
{
	Dwarf_Die member;
	int f, r;

	for (f = 0; f < GO_FIELD_COUNT; f++) {
		if (strcmp(fields[f].type, type) == 0) {
			w->out->off[f] = GO_OFFSET_ABSENT;
			w->out->source[f] = GO_OFFSET_FROM_DWARF;
		}
	}
	r = dwarf_child(die, &member);
	while (r == 0) {
		Dwarf_Attribute attr;
		Dwarf_Word loc;
		const char *name;

		if (++w->dies > GO_OFFSETS_MAX_DIES)
			return -EFBIG;
		name = dwarf_tag(&member) == DW_TAG_member ? dwarf_diename(&member) : NULL;
		for (f = 0; name && f < GO_FIELD_COUNT; f++) {
			if (strcmp(fields[f].type, type) || strcmp(fields[f].member, name))
				continue;
			if (!dwarf_attr(&member, DW_AT_data_member_location, &attr) ||
			    dwarf_formudata(&attr, &loc) != 0 || loc >= GO_OFFSET_ABSENT)
				return -EINVAL;
			w->out->off[f] = (uint32_t)loc;
		}
		r = dwarf_siblingof(&member, &member);
	}
	return r < 0 ? -EINVAL : 0;
}

static int visit_die(struct walk *w, Dwarf_Die *die)
{
	enum go_field first;
	const char *name;

	if (dwarf_tag(die) != DW_TAG_structure_type)
		return 0;
	name = dwarf_diename(die);
	if (!name)
		return 0;
	first = first_field_of(name);
	if (first == GO_FIELD_COUNT || w->type_done[first])
		return 0;
	w->type_done[first] = 1;
	w->structs_left--;
	return read_struct(w, die, name);
}

static int walk_unit(Dwarf_Die *cu, struct walk *w)
{
	Dwarf_Die die;
	int r = dwarf_child(cu, &die);

	while (r == 0 && w->structs_left > 0) {
		int vr;

		if (++w->dies > GO_OFFSETS_MAX_DIES)
			return -EFBIG;
		vr = visit_die(w, &die);
		if (vr < 0)
			return vr;
		r = dwarf_siblingof(&die, &die);
	}
	return r < 0 ? -EINVAL : 0;
}

/* Walks the top-level DIEs of the units. Go's linker writes every type DIE into the
 * "runtime" unit: when there is one, it is the only unit read (the others hold
 * functions, whose many children would cost most of the walk). */
static int walk_units(Dwarf *dw, struct walk *w)
{
	Dwarf_Off off = 0, next;
	int pass, has_runtime = 0;
	size_t hsize;

	for (pass = 0; pass < 2 && !(pass == 1 && has_runtime); pass++) {
		off = 0;
		while (w->structs_left > 0 &&
		       dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
			Dwarf_Die cu;
			const char *name;
			int is_runtime, r;

			if (!dwarf_offdie(dw, off + hsize, &cu))
				return -EINVAL;
			name = dwarf_diename(&cu);
			is_runtime = name && strcmp(name, "runtime") == 0;
			has_runtime |= is_runtime;
			off = next;
			if (pass == 0 && !is_runtime)
				continue;
			r = walk_unit(&cu, w);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int go_offsets_from_dwarf(struct elf_file *file, struct go_offsets *ret_offsets)
{
	struct go_offsets out = { 0 };
	struct walk w = { .out = &out };
	struct dwarf_image *img = NULL;
	uint64_t max = elf_file_max_section_size(file);
	Dwarf *dw = NULL;
	int r;

	if (max > GO_OFFSETS_MAX_DEBUG_SECTION)
		max = GO_OFFSETS_MAX_DEBUG_SECTION;
	r = dwarf_image_new(file, max, &img);
	if (r < 0)
		return r;
	dw = dwarf_begin_elf(dwarf_image_elf(img), DWARF_C_READ, NULL);
	if (!dw) {
		log_debug("offsets", "no DWARF: %s", dwarf_errmsg(-1));
		dwarf_image_free(img);
		return -EINVAL;
	}
	w.structs_left = distinct_types();
	r = walk_units(dw, &w);
	if (r < 0)
		goto cleanup;
	*ret_offsets = out;
cleanup:
	dwarf_end(dw);
	dwarf_image_free(img);
	return r;
}

static int is_std(enum go_field f)
{
	return strcmp(fields[f].module, "std") == 0;
}

/* module's generated table, NULL when it has none. */
static const struct go_offsets_table *table_of(const char *module)
{
	size_t i;

	for (i = 0; i < go_offsets_tables_len; i++)
		if (strcmp(go_offsets_tables[i]->module, module) == 0)
			return go_offsets_tables[i];
	return NULL;
}

int go_offsets_from_table(const char *go_version, struct go_offsets *ret_offsets)
{
	const struct go_offsets_table *std = table_of("std");
	struct go_offsets out = { 0 };
	struct go_version v;
	size_t i;
	int f;

	if (go_version_parse(go_version, &v) < 0)
		return -EINVAL;
	for (i = 0; std && i < std->len; i++) {
		const struct go_offsets_row *row = &std->rows[i];

		if (row->major != v.major || row->minor != v.minor)
			continue;
		for (f = 0; f < GO_FIELD_COUNT; f++) {
			if (!is_std(f))
				continue;
			out.off[f] = row->off[f];
			out.source[f] = GO_OFFSET_FROM_TABLE;
		}
		snprintf(out.table_version, sizeof(out.table_version), "%s", row->version);
		*ret_offsets = out;
		return 0;
	}
	log_debug("offsets", "no offsets table row for %s", go_version);
	return -EPROTONOSUPPORT;
}

/* "v1.72.1" -> 1, 72, for plain releases only: a pre-release or pseudo-version
 * ("v1.73.0-dev", "v0.0.0-20240101-abcdef") matches no other version. */
static int release_minor(const char *v, unsigned *ret_major, unsigned *ret_minor)
{
	unsigned major, minor, patch;
	int n = -1;

	if (sscanf(v, "v%u.%u.%u%n", &major, &minor, &patch, &n) != 3 || n < 0 || v[n] != '\0')
		return -EINVAL;
	*ret_major = major;
	*ret_minor = minor;
	return 0;
}

static int rows_match(const struct go_offsets_row *row, const char *version, int by_minor)
{
	unsigned a, b, c, d;

	if (!by_minor)
		return strcmp(row->version, version) == 0;
	return release_minor(row->version, &a, &b) == 0 && release_minor(version, &c, &d) == 0 &&
	       a == c && b == d;
}

int go_offsets_add_module(const char *module, const char *version, struct go_offsets *offsets)
{
	const struct go_offsets_table *t = table_of(module);
	int by_minor, f;
	size_t i;

	/* The exact version's row, else the row of a release with the same minor version:
	 * patch releases keep struct layouts, as the standard library's rows assume too
	 * (DWARF, when the binary has it, wins over both). */
	for (by_minor = 0; t && by_minor <= 1; by_minor++) {
		for (i = 0; i < t->len; i++) {
			const struct go_offsets_row *row = &t->rows[i];

			if (!rows_match(row, version, by_minor))
				continue;
			for (f = 0; f < GO_FIELD_COUNT; f++) {
				if (strcmp(fields[f].module, module))
					continue;
				offsets->off[f] = row->off[f];
				offsets->source[f] = GO_OFFSET_FROM_TABLE;
			}
			return 0;
		}
	}
	log_debug("offsets", "no offsets table row for %s@%s", module, version);
	return -EPROTONOSUPPORT;
}

/* Types whose layout a GOEXPERIMENT may change. */
static int is_runtime_type(const char *type)
{
	return strncmp(type, "runtime.", 8) == 0 || strncmp(type, "internal/runtime/", 17) == 0;
}

/* The version of module the binary was built with, when the table can be asked for
 * it: not for a module replaced by another path (a fork, a local directory). */
static const char *module_version(const struct go_buildinfo *info, const char *module)
{
	const struct go_module *m = go_buildinfo_find_dep(info, module);

	if (!m && go_buildinfo_main(info)->path && strcmp(go_buildinfo_main(info)->path, module) == 0)
		m = go_buildinfo_main(info);
	if (!m)
		return NULL;
	if (m->replaced_by_path)
		return strcmp(m->replaced_by_path, module) == 0 ? m->replaced_by_version : NULL;
	return m->version;
}

/* Adds the table rows of every module the binary uses (first field of each module). */
static void add_modules(const struct go_buildinfo *info, struct go_offsets *table)
{
	int f, g;

	for (f = 0; f < GO_FIELD_COUNT; f++) {
		const char *version;
		int first = 1;

		if (is_std(f))
			continue;
		for (g = 0; g < f && first; g++)
			first = strcmp(fields[g].module, fields[f].module) != 0;
		version = first ? module_version(info, fields[f].module) : NULL;
		if (version)
			(void)go_offsets_add_module(fields[f].module, version, table);
	}
}

int go_offsets_resolve(struct elf_file *file, const struct go_buildinfo *info,
		       struct go_offsets *ret_offsets)
{
	struct go_offsets dwarf = { 0 }, table = { 0 }, out = { 0 };
	const char *go_version = go_buildinfo_go_version(info);
	const char *experiment = go_buildinfo_setting(info, "GOEXPERIMENT");
	int rd, rt, f;

	rd = go_offsets_from_dwarf(file, &dwarf);
	if (rd == -ENOMEM)
		return rd;
	if (rd < 0)
		log_debug("offsets", "DWARF not used: %s", strerror(-rd));
	rt = go_offsets_from_table(go_version, &table);
	if (rd < 0 && rt < 0)
		return rt == -EINVAL ? -EPROTONOSUPPORT : rt;
	add_modules(info, &table);
	for (f = 0; f < GO_FIELD_COUNT; f++) {
		if (rd == 0 && dwarf.source[f] == GO_OFFSET_FROM_DWARF) {
			out.off[f] = dwarf.off[f];
			out.source[f] = GO_OFFSET_FROM_DWARF;
		} else if (table.source[f] == GO_OFFSET_FROM_TABLE &&
			   !(experiment && *experiment && is_runtime_type(fields[f].type))) {
			out.off[f] = table.off[f];
			out.source[f] = GO_OFFSET_FROM_TABLE;
		}
	}
	memcpy(out.table_version, table.table_version, sizeof(out.table_version));
	*ret_offsets = out;
	return 0;
}

int go_offsets_get(const struct go_offsets *offsets, enum go_field f, uint32_t *ret_offset)
{
	if ((unsigned)f >= GO_FIELD_COUNT || offsets->source[f] == GO_OFFSET_UNKNOWN)
		return -ENOENT;
	if (offsets->off[f] == GO_OFFSET_ABSENT)
		return -ENODATA;
	*ret_offset = offsets->off[f];
	return 0;
}

int go_offsets_require(const struct go_offsets *offsets, const enum go_field *want, size_t n,
		       enum go_field *ret_missing)
{
	uint32_t off;
	size_t i;

	for (i = 0; i < n; i++) {
		if (go_offsets_get(offsets, want[i], &off) < 0) {
			*ret_missing = want[i];
			return -EPROTONOSUPPORT;
		}
	}
	return 0;
}
