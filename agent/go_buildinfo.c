/* Go build information from .go.buildinfo; see go_buildinfo.h. */
#include "agent/go_buildinfo.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log/log.h"

#define BUILDINFO_MAGIC     "\xff Go buildinf:"
#define BUILDINFO_MAGIC_LEN 14
#define BUILDINFO_HDR_LEN   32
#define FLAG_BIG_ENDIAN     0x1
#define FLAG_INLINE         0x2
#define MODINFO_SENTINEL    16

struct setting {
	const char *key, *value;
};

struct go_buildinfo {
	char *version; /* owned */
	char *text;    /* owned copy of the module text, split in place */
	struct go_module main;
	struct go_module *deps;
	size_t ndeps;
	struct setting *settings;
	size_t nsettings;
};

struct go_buildinfo *go_buildinfo_free(struct go_buildinfo *info)
{
	if (!info)
		return NULL;
	free(info->version);
	free(info->text);
	free(info->deps);
	free(info->settings);
	free(info);
	return NULL;
}

/* Splits line at tabs into at most max fields; returns how many. */
static size_t split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;

	while (n < max) {
		char *tab = strchr(line, '\t');

		fields[n++] = line;
		if (!tab)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

static void set_module(struct go_module *m, char **f, size_t n)
{
	m->path = f[1];
	m->version = n > 2 ? f[2] : "";
	m->sum = n > 3 ? f[3] : "";
}

/* One line of `go version -m` text. Unknown lines are skipped, as Go does. */
static int parse_line(struct go_buildinfo *info, char *line, struct go_module **last)
{
	char *f[4];
	size_t n = split_tabs(line, f, 4);

	if (n < 2)
		return 0;
	if (strcmp(f[0], "path") == 0) {
		if (!info->main.path)
			info->main.path = f[1];
	} else if (strcmp(f[0], "mod") == 0) {
		set_module(&info->main, f, n);
		*last = &info->main;
	} else if (strcmp(f[0], "dep") == 0) {
		if (info->ndeps >= GO_BUILDINFO_MAX_MODULES)
			return -EFBIG;
		set_module(&info->deps[info->ndeps], f, n);
		*last = &info->deps[info->ndeps++];
	} else if (strcmp(f[0], "=>") == 0) {
		if (!*last)
			return -EINVAL;
		(*last)->replaced_by_path = f[1];
		(*last)->replaced_by_version = n > 2 ? f[2] : "";
		*last = NULL;
	} else if (strcmp(f[0], "build") == 0) {
		char *eq = strchr(f[1], '=');

		if (!eq)
			return 0;
		if (info->nsettings >= GO_BUILDINFO_MAX_SETTINGS)
			return -EFBIG;
		*eq = '\0';
		info->settings[info->nsettings++] = (struct setting){ f[1], eq + 1 };
	}
	return 0;
}

int go_buildinfo_parse(const char *go_version, size_t version_len, const char *modinfo,
		       size_t modinfo_len, struct go_buildinfo **ret_info)
{
	struct go_buildinfo *info = NULL;
	struct go_module *last = NULL;
	size_t lines = 1, i;
	char *line;
	int r;

	if (version_len == 0 || version_len > GO_BUILDINFO_MAX_VERSION ||
	    memchr(go_version, '\0', version_len))
		return -EINVAL;
	if (modinfo_len > GO_BUILDINFO_MAX_MODINFO)
		return -EFBIG;
	/* The module text sits between two 16-byte sentinels in the binary. */
	if (modinfo_len >= 2 * MODINFO_SENTINEL + 1 &&
	    modinfo[modinfo_len - MODINFO_SENTINEL - 1] == '\n') {
		modinfo += MODINFO_SENTINEL;
		modinfo_len -= 2 * MODINFO_SENTINEL;
	}
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	info->version = strndup(go_version, version_len);
	info->text = malloc(modinfo_len + 1);
	if (!info->version || !info->text) {
		r = -ENOMEM;
		goto fail;
	}
	memcpy(info->text, modinfo, modinfo_len);
	info->text[modinfo_len] = '\0';
	if (strlen(info->text) != modinfo_len) {
		r = -EINVAL;
		goto fail;
	}
	for (i = 0; i < modinfo_len; i++)
		lines += info->text[i] == '\n';
	/* One entry per line at most, and never more than the bounds allow. */
	info->deps = calloc(lines < GO_BUILDINFO_MAX_MODULES ? lines : GO_BUILDINFO_MAX_MODULES,
			    sizeof(*info->deps));
	info->settings = calloc(lines < GO_BUILDINFO_MAX_SETTINGS ? lines
								  : GO_BUILDINFO_MAX_SETTINGS,
				sizeof(*info->settings));
	if (!info->deps || !info->settings) {
		r = -ENOMEM;
		goto fail;
	}
	line = info->text;
	while (line) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		r = parse_line(info, line, &last);
		if (r < 0)
			goto fail;
		line = nl ? nl + 1 : NULL;
	}
	*ret_info = info;
	return 0;
fail:
	go_buildinfo_free(info);
	return r;
}

/* An unsigned LEB128 varint at *pos, at most 10 bytes, advancing *pos. */
static int read_uvarint(const uint8_t *buf, size_t size, size_t *pos, uint64_t *ret_value)
{
	uint64_t v = 0;
	unsigned shift;

	for (shift = 0; shift < 64 && *pos < size; shift += 7) {
		uint8_t b = buf[(*pos)++];

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret_value = v;
			return 0;
		}
	}
	return -EINVAL;
}

static int read_inline_string(const struct elf_section *sec, size_t *pos, const char **ret_s,
			      size_t *ret_len)
{
	uint64_t len;
	int r = read_uvarint(sec->data, sec->size, pos, &len);

	if (r < 0)
		return r;
	if (len > sec->size - *pos)
		return -EINVAL;
	*ret_s = (const char *)sec->data + *pos;
	*ret_len = len;
	*pos += len;
	return 0;
}

/* Reads the Go string whose header (data pointer, length) is at vaddr into a new
 * buffer (ret_s, owned by the caller). */
static int read_string_at(struct elf_file *file, uint64_t hdr_vaddr, size_t max, char **ret_s,
			  size_t *ret_len)
{
	uint8_t hdr[16];
	uint64_t ptr, len;
	char *s;
	int r;

	r = elf_file_read_vaddr(file, hdr_vaddr, hdr, sizeof(hdr));
	if (r < 0)
		return r;
	memcpy(&ptr, hdr, 8);
	memcpy(&len, hdr + 8, 8);
	if (len > max)
		return -EFBIG;
	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;
	r = elf_file_read_vaddr(file, ptr, s, len);
	if (r < 0) {
		free(s);
		return r;
	}
	s[len] = '\0';
	*ret_s = s;
	*ret_len = len;
	return 0;
}

static int read_pointer_format(struct elf_file *file, const struct elf_section *sec,
			       struct go_buildinfo **ret_info)
{
	char *version = NULL, *modinfo = NULL;
	size_t vlen = 0, mlen = 0;
	uint64_t vptr, mptr;
	int r;

	/* Pointer-sized little-endian words: only 64-bit little-endian files get here. */
	if (sec->data[14] != 8 || (sec->data[15] & FLAG_BIG_ENDIAN))
		return -EINVAL;
	memcpy(&vptr, sec->data + 16, 8);
	memcpy(&mptr, sec->data + 24, 8);
	r = read_string_at(file, vptr, GO_BUILDINFO_MAX_VERSION, &version, &vlen);
	if (r < 0)
		goto cleanup;
	r = read_string_at(file, mptr, GO_BUILDINFO_MAX_MODINFO, &modinfo, &mlen);
	if (r < 0)
		goto cleanup;
	r = go_buildinfo_parse(version, vlen, modinfo, mlen, ret_info);
cleanup:
	free(version);
	free(modinfo);
	return r;
}

int go_buildinfo_read(struct elf_file *file, struct go_buildinfo **ret_info)
{
	const char *version, *modinfo;
	size_t vlen, mlen, pos = BUILDINFO_HDR_LEN;
	struct elf_section sec;
	int r;

	r = elf_file_section(file, ".go.buildinfo", &sec);
	if (r < 0)
		return r;
	if (sec.size < BUILDINFO_HDR_LEN || memcmp(sec.data, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN))
		return -EINVAL;
	if (!(sec.data[15] & FLAG_INLINE))
		return read_pointer_format(file, &sec, ret_info);
	r = read_inline_string(&sec, &pos, &version, &vlen);
	if (r < 0)
		return r;
	r = read_inline_string(&sec, &pos, &modinfo, &mlen);
	if (r < 0)
		return r;
	return go_buildinfo_parse(version, vlen, modinfo, mlen, ret_info);
}

const char *go_buildinfo_go_version(const struct go_buildinfo *info)
{
	return info->version;
}

const struct go_module *go_buildinfo_main(const struct go_buildinfo *info)
{
	return &info->main;
}

size_t go_buildinfo_dep_count(const struct go_buildinfo *info)
{
	return info->ndeps;
}

const struct go_module *go_buildinfo_dep(const struct go_buildinfo *info, size_t i)
{
	return i < info->ndeps ? &info->deps[i] : NULL;
}

const struct go_module *go_buildinfo_find_dep(const struct go_buildinfo *info,
					      const char *path)
{
	size_t i;

	for (i = 0; i < info->ndeps; i++)
		if (strcmp(info->deps[i].path, path) == 0)
			return &info->deps[i];
	return NULL;
}

const char *go_buildinfo_setting(const struct go_buildinfo *info, const char *key)
{
	size_t i;

	for (i = 0; i < info->nsettings; i++)
		if (strcmp(info->settings[i].key, key) == 0)
			return info->settings[i].value;
	return NULL;
}

static int parse_uint(const char **p, unsigned *ret_value)
{
	unsigned v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9') {
		if (v > 100000)
			return -EINVAL;
		v = v * 10 + (unsigned)(*s++ - '0');
	}
	*p = s;
	*ret_value = v;
	return 0;
}

int go_version_parse(const char *s, struct go_version *ret_version)
{
	struct go_version v = { 0 };

	if (strncmp(s, "go", 2) != 0)
		return -EINVAL;
	s += 2;
	if (parse_uint(&s, &v.major) < 0 || *s++ != '.' || parse_uint(&s, &v.minor) < 0)
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (parse_uint(&s, &v.patch) < 0)
			return -EINVAL;
	}
	*ret_version = v;
	return 0;
}
