/* Span strings come from traced processes' memory: whatever bytes a probe copies, both
 * encoders must produce a well-formed request. The input is split at NUL bytes into a
 * span name, a status message and attribute keys/values; the JSON body must parse and
 * the protobuf body must be exactly its computed size and walk cleanly. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/otlp/encode_json.h"
#include "lib/otlp/encode_proto.h"
#include "lib/otlp/protowire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every length-delimited field that parses as a message is walked too. */
static void walk(const uint8_t *p, size_t n, int depth)
{
	struct pb_reader r = pb_reader_init(p, n);
	struct pb_field f;
	int k;

	while ((k = pb_next_field(&r, &f)) > 0)
		if (f.wire_type == PB_WT_LEN && depth < 6 && f.number != 5)
			walk(f.data, f.len, depth + 1);
	if (k < 0 && depth < 3)
		abort(); /* the request and its resource/scope levels must be well-formed */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otlp_resource res;
	struct otlp_span span;
	struct otlp_buf pb = { 0 }, js = { 0 };
	const char *p = (const char *)data, *end = p + size;
	char field[8][2048];
	size_t lens[8] = { 0 };
	int nf = 0;
	json_t *root;

	while (p <= end && nf < 8) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		size_t len = z ? (size_t)(z - p) : (size_t)(end - p);

		if (len >= sizeof(field[0]))
			len = sizeof(field[0]) - 1;
		memcpy(field[nf], p, len);
		field[nf][len] = '\0';
		lens[nf++] = len;
		if (!z)
			break;
		p = z + 1;
	}

	otlp_resource_init(&res);
	otlp_resource_add_string(&res, "service.name", nf > 0 ? field[0] : "");
	otlp_span_init(&span);
	memset(span.trace_id, 0xAB, sizeof(span.trace_id));
	memset(span.span_id, 0xCD, sizeof(span.span_id));
	span.parent_span_id[0] = size & 1;
	span.kind = (uint8_t)(size % 6);
	span.flags = (uint32_t)size;
	if (nf > 0)
		otlp_span_set_name(&span, field[0], lens[0]);
	if (nf > 1)
		otlp_span_set_status(&span, OTLP_STATUS_ERROR, field[1]);
	for (int i = 2; i + 1 < nf; i += 2) {
		otlp_span_add_string_len(&span, field[i], field[i + 1], lens[i + 1]);
		otlp_span_add_int(&span, field[i + 1], (int64_t)lens[i] * -7919);
		otlp_span_add_double(&span, field[i], (double)lens[i + 1] / 3.0);
	}

	if (otlp_encode_proto(&res, nf > 2 ? field[2] : NULL, &span, 1, &pb) < 0)
		abort();
	if (pb.len != otlp_encode_proto_size(&res, nf > 2 ? field[2] : NULL, &span, 1))
		abort();
	walk(pb.data, pb.len, 0);

	if (otlp_encode_json(&res, nf > 2 ? field[2] : NULL, &span, 1, &js) < 0)
		abort();
	root = json_loadb((const char *)js.data, js.len, JSON_ALLOW_NUL, NULL);
	if (!root)
		abort(); /* not valid JSON */
	json_decref(root);
	otlp_buf_free(&pb);
	otlp_buf_free(&js);
	return 0;
}
