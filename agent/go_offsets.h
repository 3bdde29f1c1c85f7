/* Byte offsets of the Go struct fields the BPF programs read (agent/go_fields.def
 * lists them), for one traced binary.
 *
 * Two sources, per field: the binary's own DWARF (read with libdw) when it has one
 * and it describes the field; else the tables of agent/go_offsets_table*.c, generated
 * by tools/offsets-gen from builds with each supported Go toolchain (standard library
 * fields, keyed by Go minor version) and against each supported version of a module
 * (that module's fields, keyed by the module version the binary's build info lists,
 * or its minor version). A binary without DWARF whose Go version has no row is unsupported:
 * go_offsets_resolve says so with -EPROTONOSUPPORT; a module version without a row
 * leaves that module's fields unknown. Nothing is guessed.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_GO_OFFSETS_H
#define AUTOTRACE_AGENT_GO_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/elf_file.h"
#include "agent/go_buildinfo.h"

enum go_field {
#define GO_FIELD(id, module, type, member) GO_FIELD_##id,
#include "agent/go_fields.def"
#undef GO_FIELD
	GO_FIELD_COUNT
};

/* In a table row: the field does not exist in that Go version (e.g. runtime.hmap from
 * Go 1.24 on, when maps became Swiss tables). */
#define GO_OFFSET_ABSENT UINT32_MAX

enum go_offset_source {
	GO_OFFSET_UNKNOWN = 0, /* no source knows this field */
	GO_OFFSET_FROM_DWARF,
	GO_OFFSET_FROM_TABLE,
};

struct go_offsets {
	uint32_t off[GO_FIELD_COUNT];
	uint8_t source[GO_FIELD_COUNT]; /* enum go_offset_source */
	char table_version[16];         /* the standard library row used, "" when none */
};

/* One generated row of a module's table. */
struct go_offsets_row {
	unsigned major, minor; /* std: the Go version the row applies to, goMAJOR.MINOR.* */
	const char *version;   /* std: the toolchain it was read from; else the module version */
	uint32_t off[GO_FIELD_COUNT]; /* the table's module's fields; the others are not set */
};
/* A module's rows, generated into agent/go_offsets_table_<name>.c; the index
 * agent/go_offsets_table.c lists the tables. */
struct go_offsets_table {
	const char *module; /* "std", or the module path whose fields the rows hold */
	const struct go_offsets_row *rows;
	size_t len;
};
extern const struct go_offsets_table *const go_offsets_tables[];
extern const size_t go_offsets_tables_len;

/* Bounds on the DWARF read: a debug section larger than this (decompressed) is not
 * read, and the walk stops after this many DIEs. */
#define GO_OFFSETS_MAX_DEBUG_SECTION (1ULL << 30)
#define GO_OFFSETS_MAX_DIES          (50u * 1000 * 1000)

/* Offsets of every field the binary's DWARF describes; the others stay
 * GO_OFFSET_UNKNOWN. -ENOENT when the file has no DWARF (e.g. built with -w). */
int go_offsets_from_dwarf(struct elf_file *file, struct go_offsets *ret_offsets);
/* Standard library offsets from the table row for go_version ("go1.22.12"); the
 * modules' fields stay unknown. -EPROTONOSUPPORT when no row covers that version;
 * -EINVAL when go_version does not parse. */
int go_offsets_from_table(const char *go_version, struct go_offsets *ret_offsets);
/* Sets the fields of module (a path from agent/go_fields.def) in *offsets from the row
 * for that module version ("v1.64.1"), or for a release of the same minor version
 * (v1.64.0 for v1.64.1; releases only, not pre-releases or pseudo-versions), leaving
 * the other fields as they are. -EPROTONOSUPPORT when there is no such row. */
int go_offsets_add_module(const char *module, const char *version, struct go_offsets *offsets);
/* DWARF for each field it has, the table row for info's Go version for the rest.
 * -EPROTONOSUPPORT when the binary has no DWARF and no table row covers its version.
 * A binary built with a GOEXPERIMENT may lay out runtime types differently from the
 * default the table was measured with (noswissmap, for one): the table's runtime.* and
 * internal/runtime fields are not used for it. Fields no source knows stay
 * GO_OFFSET_UNKNOWN: check the ones a probe needs with go_offsets_require. */
int go_offsets_resolve(struct elf_file *file, const struct go_buildinfo *info,
		       struct go_offsets *ret_offsets);

/* The offset of field f. -ENOENT when unknown, -ENODATA when the field does not exist
 * in this binary's Go version. */
int go_offsets_get(const struct go_offsets *offsets, enum go_field f, uint32_t *ret_offset);
/* 0 when every field in fields[] has an offset; else -EPROTONOSUPPORT and, in
 * ret_missing, the first that does not. */
int go_offsets_require(const struct go_offsets *offsets, const enum go_field *fields, size_t n,
		       enum go_field *ret_missing);

/* "std", "net/http.Request", "Method" for GO_FIELD_REQUEST_METHOD (static strings). */
const char *go_field_module(enum go_field f);
const char *go_field_type(enum go_field f);
const char *go_field_member(enum go_field f);
const char *go_offset_source_name(enum go_offset_source source);

#endif
