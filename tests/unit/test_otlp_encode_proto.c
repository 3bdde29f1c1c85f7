#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/otlp/encode_proto.h"
#include "lib/otlp/protowire.h"

static void fill_ids(struct otlp_span *s)
{
	for (int i = 0; i < OTLP_TRACE_ID_SIZE; i++)
		s->trace_id[i] = (uint8_t)(0x01 + i);
	for (int i = 0; i < OTLP_SPAN_ID_SIZE; i++)
		s->span_id[i] = (uint8_t)(0x11 + i);
}

static void varints_are_little_endian_base_128(void **state)
{
	uint8_t buf[10], *end;
	static const uint8_t minus_one[10] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
					       0xFF, 0xFF, 0xFF, 0xFF, 0x01 };

	end = pb_put_varint(buf, 300);
	assert_int_equal(end - buf, 2);
	assert_int_equal(buf[0], 0xAC);
	assert_int_equal(buf[1], 0x02);
	assert_int_equal(pb_varint_size(300), 2);
	end = pb_put_varint(buf, (uint64_t)(int64_t)-1);
	assert_int_equal(end - buf, 10);
	assert_memory_equal(buf, minus_one, 10);
	assert_int_equal(pb_varint_size(UINT64_MAX), 10);
	/* field 16, wire type 5: (16 << 3) | 5 = 133 = 0x85 0x01 */
	end = pb_put_tag(buf, 16, PB_WT_I32);
	assert_int_equal(end - buf, 2);
	assert_int_equal(buf[0], 0x85);
	assert_int_equal(buf[1], 0x01);
}

/* One server span "a", start 1, end 2, attribute k="v", empty resource, no scope version:
 * the bytes below are worked out by hand from the OTLP field numbers. */
static void one_small_span_encodes_byte_for_byte(void **state)
{
	static const uint8_t want[] = {
		0x0A, 0x50,             /* ExportTraceServiceRequest.resource_spans, 80 bytes */
		0x0A, 0x00,             /*  ResourceSpans.resource, empty */
		0x12, 0x4C,             /*  ResourceSpans.scope_spans, 76 bytes */
		0x0A, 0x0B,             /*   ScopeSpans.scope, 11 bytes */
		0x0A, 0x09, 'a', 'u', 't', 'o', 't', 'r', 'a', 'c', 'e', /* name */
		0x12, 0x3D,             /*   ScopeSpans.spans, 61 bytes */
		0x0A, 0x10,             /*    trace_id */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10,
		0x12, 0x08,             /*    span_id */
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
		0x2A, 0x01, 'a',        /*    name */
		0x30, 0x02,             /*    kind SERVER */
		0x39, 1, 0, 0, 0, 0, 0, 0, 0, /* start_time_unix_nano, fixed64 */
		0x41, 2, 0, 0, 0, 0, 0, 0, 0, /* end_time_unix_nano */
		0x4A, 0x08,             /*    attributes: KeyValue, 8 bytes */
		0x0A, 0x01, 'k',        /*     key */
		0x12, 0x03,             /*     value: AnyValue */
		0x0A, 0x01, 'v',        /*      string_value */
	};
	struct otlp_resource res;
	struct otlp_span s;
	struct otlp_buf out = { 0 };

	otlp_resource_init(&res);
	otlp_span_init(&s);
	fill_ids(&s);
	otlp_span_set_name(&s, "a", 1);
	s.kind = OTLP_SPAN_KIND_SERVER;
	s.start_unix_nano = 1;
	s.end_unix_nano = 2;
	otlp_span_add_string(&s, "k", "v");

	assert_int_equal(otlp_encode_proto(&res, NULL, &s, 1, &out), 0);
	assert_int_equal(out.len, sizeof(want));
	assert_memory_equal(out.data, want, sizeof(want));
	assert_int_equal(otlp_encode_proto_size(&res, NULL, &s, 1), sizeof(want));
	otlp_buf_free(&out);
}

/* Scalars of each type, as AnyValue bytes inside the one KeyValue. */
static void scalar_attribute_values_encode_by_type(void **state)
{
	struct {
		int type;
		const uint8_t want[12];
		size_t len;
	} cases[] = {
		{ OTLP_VALUE_INT, { 0x18, 0x96, 0x01 }, 3 },     /* int_value 150 */
		{ OTLP_VALUE_BOOL, { 0x10, 0x01 }, 2 },          /* bool_value true */
		{ OTLP_VALUE_DOUBLE,                             /* double_value 1.0 */
		  { 0x21, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F }, 9 },
	};
	struct otlp_resource res;

	otlp_resource_init(&res);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct otlp_span s;
		struct otlp_buf out = { 0 };
		const uint8_t *kv;

		otlp_span_init(&s);
		fill_ids(&s);
		if (cases[c].type == OTLP_VALUE_INT)
			otlp_span_add_int(&s, "k", 150);
		else if (cases[c].type == OTLP_VALUE_BOOL)
			otlp_span_add_bool(&s, "k", true);
		else
			otlp_span_add_double(&s, "k", 1.0);
		assert_int_equal(otlp_encode_proto(&res, NULL, &s, 1, &out), 0);
		/* The span ends with: 4A len 0A 01 'k' 12 len <AnyValue>. */
		kv = out.data + out.len - cases[c].len;
		assert_memory_equal(kv, cases[c].want, cases[c].len);
		assert_int_equal(kv[-1], cases[c].len);
		assert_int_equal(kv[-2], 0x12);
		otlp_buf_free(&out);
	}
}

/* ---- round trip through the wire reader ---- */

struct decoded_span {
	uint8_t trace_id[16], span_id[8], parent[8];
	size_t parent_len;
	char name[64];
	uint64_t kind, start, end, flags, status_code, dropped;
	char status_msg[32];
	int n_attrs;
	char attr_keys[8][32];
	uint64_t attr_wire[8]; /* varint or fixed64 bits */
	char attr_str[8][32];
};

static void copy_str(char *dst, size_t cap, const struct pb_field *f)
{
	assert_true(f->len < cap);
	memcpy(dst, f->data, f->len);
	dst[f->len] = '\0';
}

static void decode_kv(const struct pb_field *kvf, struct decoded_span *d)
{
	struct pb_reader r = pb_reader_init(kvf->data, kvf->len);
	struct pb_field f, g;
	int i = d->n_attrs++;

	while (pb_next_field(&r, &f) > 0) {
		if (f.number == 1) {
			copy_str(d->attr_keys[i], sizeof(d->attr_keys[i]), &f);
		} else if (f.number == 2) {
			struct pb_reader v = pb_reader_init(f.data, f.len);

			assert_int_equal(pb_next_field(&v, &g), 1);
			if (g.number == 1)
				copy_str(d->attr_str[i], sizeof(d->attr_str[i]), &g);
			else
				d->attr_wire[i] = g.value;
			assert_int_equal(pb_next_field(&v, &g), 0);
		}
	}
}

static void decode_span(const struct pb_field *sf, struct decoded_span *d)
{
	struct pb_reader r = pb_reader_init(sf->data, sf->len);
	struct pb_field f;
	int k;

	memset(d, 0, sizeof(*d));
	while ((k = pb_next_field(&r, &f)) > 0) {
		switch (f.number) {
		case 1: assert_int_equal(f.len, 16); memcpy(d->trace_id, f.data, 16); break;
		case 2: assert_int_equal(f.len, 8); memcpy(d->span_id, f.data, 8); break;
		case 4: d->parent_len = f.len; memcpy(d->parent, f.data, 8); break;
		case 5: copy_str(d->name, sizeof(d->name), &f); break;
		case 6: d->kind = f.value; break;
		case 7: assert_int_equal(f.wire_type, PB_WT_I64); d->start = f.value; break;
		case 8: assert_int_equal(f.wire_type, PB_WT_I64); d->end = f.value; break;
		case 9: decode_kv(&f, d); break;
		case 10: d->dropped = f.value; break;
		case 15: {
			struct pb_reader s = pb_reader_init(f.data, f.len);
			struct pb_field g;

			while (pb_next_field(&s, &g) > 0) {
				if (g.number == 2)
					copy_str(d->status_msg, sizeof(d->status_msg), &g);
				if (g.number == 3)
					d->status_code = g.value;
			}
			break;
		}
		case 16: assert_int_equal(f.wire_type, PB_WT_I32); d->flags = f.value; break;
		default: fail_msg("unexpected span field %u", f.number);
		}
	}
	assert_int_equal(k, 0);
}

/* Walks request -> resource_spans -> scope_spans and collects spans and the rest. */
static int decode_request(const struct otlp_buf *b, struct decoded_span *spans, int max,
			  char *scope_version, char res_keys[][32], int *n_res)
{
	struct pb_reader r = pb_reader_init(b->data, b->len), rs, ss, x;
	struct pb_field f, g, h, k;
	int n = 0;

	*n_res = 0;
	while (pb_next_field(&r, &f) > 0) {
		assert_int_equal(f.number, 1);
		rs = pb_reader_init(f.data, f.len);
		while (pb_next_field(&rs, &g) > 0) {
			if (g.number == 1) { /* Resource */
				x = pb_reader_init(g.data, g.len);
				while (pb_next_field(&x, &h) > 0) {
					struct pb_reader kv = pb_reader_init(h.data, h.len);

					assert_int_equal(h.number, 1);
					assert_int_equal(pb_next_field(&kv, &k), 1);
					copy_str(res_keys[(*n_res)++], 32, &k);
				}
				continue;
			}
			assert_int_equal(g.number, 2);
			ss = pb_reader_init(g.data, g.len);
			while (pb_next_field(&ss, &h) > 0) {
				if (h.number == 1) { /* scope */
					x = pb_reader_init(h.data, h.len);
					while (pb_next_field(&x, &k) > 0)
						if (k.number == 2)
							copy_str(scope_version, 32, &k);
				} else {
					assert_int_equal(h.number, 2);
					assert_true(n < max);
					decode_span(&h, &spans[n++]);
				}
			}
		}
	}
	return n;
}

static void a_rich_batch_decodes_back_to_what_was_set(void **state)
{
	struct otlp_resource res;
	struct otlp_span s[3];
	struct otlp_buf out = { 0 };
	struct decoded_span d[3];
	char version[32] = "", res_keys[4][32];
	int n_res;
	uint64_t bits;
	double half = 0.5;

	otlp_resource_init(&res);
	otlp_resource_add_string(&res, "service.name", "checkout");
	otlp_resource_add_string(&res, "k8s.pod.name", "checkout-7d9f");
	for (int i = 0; i < 3; i++) {
		otlp_span_init(&s[i]);
		fill_ids(&s[i]);
		s[i].span_id[7] = (uint8_t)i;
		s[i].start_unix_nano = 1700000000000000000ULL + (uint64_t)i;
		s[i].end_unix_nano = 1700000000123456789ULL + (uint64_t)i;
	}
	otlp_span_set_name(&s[0], "GET /users/{id}", strlen("GET /users/{id}"));
	s[0].kind = OTLP_SPAN_KIND_SERVER;
	s[0].flags = 0x01;
	otlp_span_add_string(&s[0], "http.request.method", "GET");
	otlp_span_add_int(&s[0], "http.response.status_code", -7);
	otlp_span_add_double(&s[0], "ratio", half);
	otlp_span_add_bool(&s[0], "ok", false);
	memcpy(s[1].parent_span_id, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	s[1].kind = OTLP_SPAN_KIND_CLIENT;
	otlp_span_set_status(&s[1], OTLP_STATUS_ERROR, "connection reset");
	s[1].dropped_attrs = 3;

	assert_int_equal(otlp_encode_proto(&res, "0.3.1", s, 3, &out), 0);
	assert_int_equal(out.len, otlp_encode_proto_size(&res, "0.3.1", s, 3));
	assert_int_equal(decode_request(&out, d, 3, version, res_keys, &n_res), 3);

	assert_string_equal(version, "0.3.1");
	assert_int_equal(n_res, 2);
	assert_string_equal(res_keys[0], "service.name");
	assert_string_equal(res_keys[1], "k8s.pod.name");

	assert_memory_equal(d[0].trace_id, s[0].trace_id, 16);
	assert_memory_equal(d[2].span_id, s[2].span_id, 8);
	assert_string_equal(d[0].name, "GET /users/{id}");
	assert_int_equal(d[0].kind, 2);
	assert_int_equal(d[0].flags, 1);
	assert_int_equal(d[0].parent_len, 0); /* root: no parent field */
	assert_int_equal(d[0].start, 1700000000000000000ULL);
	assert_int_equal(d[2].end, 1700000000123456791ULL);
	assert_int_equal(d[0].n_attrs, 4);
	assert_string_equal(d[0].attr_keys[0], "http.request.method");
	assert_string_equal(d[0].attr_str[0], "GET");
	assert_int_equal((int64_t)d[0].attr_wire[1], -7);
	memcpy(&bits, &half, 8);
	assert_int_equal(d[0].attr_wire[2], bits);
	assert_int_equal(d[0].attr_wire[3], 0); /* false is still written: it is set */

	assert_int_equal(d[1].parent_len, 8);
	assert_memory_equal(d[1].parent, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(d[1].kind, 3);
	assert_int_equal(d[1].status_code, 2);
	assert_string_equal(d[1].status_msg, "connection reset");
	assert_int_equal(d[1].dropped, 3);
	assert_string_equal(d[1].name, "");
	otlp_buf_free(&out);
}

static void encoding_appends_to_what_the_buffer_holds(void **state)
{
	struct otlp_resource res;
	struct otlp_span s;
	struct otlp_buf out = { 0 };
	size_t one;

	otlp_resource_init(&res);
	otlp_span_init(&s);
	fill_ids(&s);
	assert_int_equal(otlp_encode_proto(&res, NULL, &s, 1, &out), 0);
	one = out.len;
	assert_int_equal(otlp_encode_proto(&res, NULL, &s, 1, &out), 0);
	assert_int_equal(out.len, 2 * one);
	assert_memory_equal(out.data, out.data + one, one);
	otlp_buf_free(&out);
}

static void the_wire_reader_refuses_malformed_input(void **state)
{
	static const uint8_t truncated_len[] = { 0x0A, 0x05, 'a' };
	static const uint8_t field_zero[] = { 0x00, 0x01 };
	static const uint8_t group[] = { 0x0B };
	static const uint8_t long_varint[] = { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
					       0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };
	static const uint8_t short_fixed[] = { 0x09, 0x01, 0x02 };
	const struct {
		const uint8_t *p;
		size_t n;
	} bad[] = {
		{ truncated_len, sizeof(truncated_len) }, { field_zero, sizeof(field_zero) },
		{ group, sizeof(group) },                 { long_varint, sizeof(long_varint) },
		{ short_fixed, sizeof(short_fixed) },
	};
	struct pb_field f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pb_reader r = pb_reader_init(bad[i].p, bad[i].n);

		assert_int_equal(pb_next_field(&r, &f), -EBADMSG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(varints_are_little_endian_base_128),
		cmocka_unit_test(one_small_span_encodes_byte_for_byte),
		cmocka_unit_test(scalar_attribute_values_encode_by_type),
		cmocka_unit_test(a_rich_batch_decodes_back_to_what_was_set),
		cmocka_unit_test(encoding_appends_to_what_the_buffer_holds),
		cmocka_unit_test(the_wire_reader_refuses_malformed_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
