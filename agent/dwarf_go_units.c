/* The runtime units of a compressed Go .debug_info; see dwarf_go_units.h. */
#include "agent/dwarf_go_units.h"

#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/log/log.h"

#define HEAD_LEN    256       /* a unit's first bytes: header, first DIE, its name */
#define SCRATCH_LEN (64 << 10) /* where the units before the runtime ones go */
#define RUNTIME     "runtime"

/* Inflates exactly n bytes into dst. */
static int inflate_exact(z_stream *zs, uint8_t *dst, size_t n)
{
	zs->next_out = dst;
	zs->avail_out = (uInt)n;
	while (zs->avail_out > 0) {
		int zr = inflate(zs, Z_NO_FLUSH);

		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK)
			return -EINVAL;
	}
	return zs->avail_out == 0 ? 0 : -EINVAL;
}

static int uleb(const uint8_t *p, size_t n, size_t *pos, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned shift;

	for (shift = 0; shift < 64 && *pos < n; shift += 7) {
		uint8_t b = p[(*pos)++];

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EINVAL;
}

/* The first attribute (and form) of abbreviation code in the table at off. */
static int first_attribute(const uint8_t *abbrev, size_t len, uint64_t off, uint64_t code,
			   uint64_t *ret_attr, uint64_t *ret_form)
{
	size_t pos = off;
	uint64_t c, tag, attr, form, skip;

	if (off >= len)
		return -ENOTSUP;
	for (;;) {
		if (uleb(abbrev, len, &pos, &c) < 0 || c == 0)
			return -ENOTSUP;
		if (uleb(abbrev, len, &pos, &tag) < 0 || pos >= len)
			return -ENOTSUP;
		pos++; /* has children */
		if (c == code) {
			if (uleb(abbrev, len, &pos, ret_attr) < 0 ||
			    uleb(abbrev, len, &pos, ret_form) < 0)
				return -ENOTSUP;
			return 0;
		}
		do {
			if (uleb(abbrev, len, &pos, &attr) < 0 || uleb(abbrev, len, &pos, &form) < 0)
				return -ENOTSUP;
			if (form == DW_FORM_implicit_const && uleb(abbrev, len, &pos, &skip) < 0)
				return -ENOTSUP;
		} while (attr || form);
	}
}

/* Whether the unit whose first bytes are head[0..n) is named "runtime". */
static int is_runtime_unit(const uint8_t *head, size_t n, const uint8_t *abbrev, size_t alen,
			   int *ret_is_runtime)
{
	uint64_t code, attr, form, abbrev_off;
	size_t die;
	uint16_t version;
	uint32_t off32;
	int r;

	if (n < 12)
		return -ENOTSUP;
	memcpy(&version, head + 4, 2);
	if (version == 5) {
		if (head[6] != DW_UT_compile)
			return -ENOTSUP;
		memcpy(&off32, head + 8, 4);
		die = 12;
	} else if (version >= 2 && version <= 4) {
		memcpy(&off32, head + 6, 4);
		die = 11;
	} else {
		return -ENOTSUP;
	}
	abbrev_off = off32;
	if (uleb(head, n, &die, &code) < 0)
		return -ENOTSUP;
	r = first_attribute(abbrev, alen, abbrev_off, code, &attr, &form);
	if (r < 0)
		return r;
	if (attr != DW_AT_name || form != DW_FORM_string)
		return -ENOTSUP;
	/* The name is inline: "runtime" and its NUL, or something else. */
	*ret_is_runtime = n - die >= sizeof(RUNTIME) && memcmp(head + die, RUNTIME, sizeof(RUNTIME)) == 0;
	return 0;
}

/* Grows *out to hold need bytes, within max. */
static int reserve(uint8_t **out, size_t *cap, uint64_t need, uint64_t max)
{
	size_t want;
	uint8_t *p;

	if (need > max)
		return -EFBIG;
	if (need <= *cap)
		return 0;
	want = *cap ? *cap : (1u << 20);
	while (want < need)
		want = want > max / 2 ? (size_t)max : want * 2;
	p = realloc(*out, want);
	if (!p)
		return -ENOMEM;
	*out = p;
	*cap = want;
	return 0;
}

int dwarf_go_runtime_units(const uint8_t *zdata, size_t zlen, uint64_t total,
			   const uint8_t *abbrev, size_t abbrev_len, uint64_t max,
			   uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t *out = NULL, *scratch = NULL;
	size_t len = 0, cap = 0;
	z_stream zs = { 0 };
	uint64_t pos = 0;
	int r, seen = 0;

	if (zlen > UINT32_MAX || total > max)
		return -EFBIG;
	scratch = malloc(SCRATCH_LEN);
	if (!scratch || inflateInit(&zs) != Z_OK) {
		free(scratch);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)zdata;
	zs.avail_in = (uInt)zlen;
	while (pos < total) {
		uint8_t head[HEAD_LEN];
		uint32_t unit_len;
		uint64_t unit, rest;
		size_t n;
		int runtime;

		r = -EINVAL;
		if (total - pos < 4 || inflate_exact(&zs, head, 4) < 0)
			goto cleanup;
		memcpy(&unit_len, head, 4);
		r = -ENOTSUP; /* 64-bit DWARF, which Go does not write */
		if (unit_len >= 0xfffffff0u)
			goto cleanup;
		unit = 4 + (uint64_t)unit_len;
		r = -EINVAL;
		if (unit > total - pos)
			goto cleanup;
		n = unit < HEAD_LEN ? (size_t)unit : HEAD_LEN;
		if (inflate_exact(&zs, head + 4, n - 4) < 0)
			goto cleanup;
		r = is_runtime_unit(head, n, abbrev, abbrev_len, &runtime);
		if (r < 0)
			goto cleanup;
		rest = unit - n;
		if (runtime) {
			seen = 1;
			r = reserve(&out, &cap, len + unit, max);
			if (r < 0)
				goto cleanup;
			memcpy(out + len, head, n);
			r = -EINVAL;
			if (inflate_exact(&zs, out + len + n, (size_t)rest) < 0)
				goto cleanup;
			len += (size_t)unit;
		} else {
			while (rest > 0) {
				size_t k = rest < SCRATCH_LEN ? (size_t)rest : SCRATCH_LEN;

				r = -EINVAL;
				if (inflate_exact(&zs, scratch, k) < 0)
					goto cleanup;
				rest -= k;
			}
		}
		pos += unit;
	}
	r = -ENOTSUP;
	if (!seen)
		goto cleanup;
	log_debug("dwarf", "runtime units: %zu of %llu bytes", len, (unsigned long long)total);
	*ret_buf = out;
	*ret_len = len;
	out = NULL;
	r = 0;
cleanup:
	inflateEnd(&zs);
	free(scratch);
	free(out);
	return r;
}
