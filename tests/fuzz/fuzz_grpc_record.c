/* Bytes that reach the gRPC side of the agent from places it does not control:
 *  - a gRPC ring-buffer record (bpf/grpc.bpf.c), whose method name was read from a
 *    traced process's memory, becomes a span or is refused; the span's strings lie
 *    within its arena (agent/grpc_span_builder.c);
 *  - the full-method splitter: service and method lie within the name, the method has
 *    no '/', and a split that succeeds gives back the name;
 *  - the RED families (agent/rpc_red_metrics.c): whatever the name, every label value
 *    stays inside its quotes and every line is one series.
 * Inputs of a record's size are also taken as one record; longer ones give one from
 * their first bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/grpc_span_builder.h"
#include "agent/rpc_red_metrics.h"
#include "bpf/grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_span(const struct otlp_span *s)
{
	struct otlp_attrs_view v = otlp_span_attrs(s);

	if (s->name_len > OTLP_SPAN_NAME_MAX || s->text_used > OTLP_SPAN_TEXT_MAX ||
	    v.count > OTLP_SPAN_MAX_ATTRS)
		abort();
	for (size_t i = 0; i < v.count; i++) {
		const struct otlp_attr *a = &v.items[i];

		if ((size_t)a->key_off + a->key_len > s->text_used)
			abort();
		if (a->type == OTLP_VALUE_STRING && (size_t)a->str_off + a->str_len > s->text_used)
			abort();
	}
}

static void check_split(const char *full, size_t len)
{
	const char *s, *m;
	size_t sl, ml;
	int r = grpc_method_split(full, len, &s, &sl, &m, &ml);

	if (s < full || s + sl > full + len || m < full || m + ml > full + len)
		abort();
	if (memchr(m, '/', ml))
		abort();
	if (r == 0 && (len < 4 || full[0] != '/' || sl == 0 || ml == 0 || 1 + sl + 1 + ml != len ||
		       s != full + 1 || s[sl] != '/' || m != s + sl + 1))
		abort();
}

/* Each line of the exposition is a comment or `name{...} value` whose label values
 * hold no quote, backslash or line feed. */
static void check_exposition(const char *full, size_t len)
{
	uint64_t b[6] = { 1, 0, 0, 0, 0, 0 };
	static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1 };
	struct rpc_red_series s = { (int)(len & 1), full, len, (unsigned)(len % 17), b, 1, 0.5 };
	struct prom_text t = { 0 };

	if (rpc_red_metrics_format(&s, 1, bounds, 5, &t))
		abort();
	for (const char *line = t.data; line && *line;) {
		const char *end = strchr(line, '\n'), *p;
		int quotes = 0;

		if (!end)
			abort(); /* every line ends */
		for (p = line; p < end; p++) {
			if (*p == '\\')
				abort();
			quotes += *p == '"';
		}
		if (quotes % 2)
			abort();
		line = end + 1;
	}
	free(t.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct otlp_span span;
	struct gr_span_record rec;
	size_t n = size < GR_METHOD_MAX ? size : GR_METHOD_MAX;

	if (grpc_span_builder_build(data, size, (int64_t)size * 1000, &span) == 0)
		check_span(&span);
	if (size >= sizeof(rec)) {
		memcpy(&rec, data, sizeof(rec));
		if (grpc_span_builder_build(&rec, sizeof(rec), 0, &span) == 0)
			check_span(&span);
	}
	check_split((const char *)data, size);
	check_exposition((const char *)data, n);
	return 0;
}
