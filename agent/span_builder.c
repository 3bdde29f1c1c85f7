#include "agent/span_builder.h"

#include <errno.h>
#include <string.h>

#include "bpf/http_server.h"
#include "lib/text/hex.h"

static const char *const method_names[HS_METHOD_COUNT] = {
	[HS_METHOD_OTHER] = "_OTHER",   [HS_METHOD_GET] = "GET",
	[HS_METHOD_HEAD] = "HEAD",      [HS_METHOD_POST] = "POST",
	[HS_METHOD_PUT] = "PUT",        [HS_METHOD_DELETE] = "DELETE",
	[HS_METHOD_CONNECT] = "CONNECT", [HS_METHOD_OPTIONS] = "OPTIONS",
	[HS_METHOD_TRACE] = "TRACE",    [HS_METHOD_PATCH] = "PATCH",
};

const char *span_builder_method_name(unsigned method_id)
{
	return method_names[method_id < HS_METHOD_COUNT ? method_id : HS_METHOD_OTHER];
}

void span_builder_split_host_port(const char *s, size_t len, const char **ret_host,
				  size_t *ret_host_len, unsigned *ret_port)
{
	const char *host = s, *colon = NULL;
	size_t host_len = len;
	unsigned port = 0;

	if (len > 0 && s[0] == '[') {
		const char *end = memchr(s, ']', len);

		if (end) {
			host = s + 1;
			host_len = (size_t)(end - s) - 1;
			if ((size_t)(end - s) + 1 < len && end[1] == ':')
				colon = end + 1;
		}
	} else {
		const char *c = memchr(s, ':', len);

		/* One colon: host:port. More: an IPv6 address without brackets. */
		if (c && !memchr(c + 1, ':', len - (size_t)(c - s) - 1)) {
			colon = c;
			host_len = (size_t)(c - s);
		}
	}
	if (colon) {
		size_t n = len - (size_t)(colon - s) - 1;

		for (size_t i = 0; i < n && i < 6; i++) {
			if (colon[1 + i] < '0' || colon[1 + i] > '9') {
				port = 0;
				break;
			}
			port = port * 10 + (unsigned)(colon[1 + i] - '0');
		}
		if (n == 0 || n > 5 || port > 65535)
			port = 0;
	}
	*ret_host = host;
	*ret_host_len = host_len;
	*ret_port = port;
}

/* http.Request.URL.Path from the request line's raw target: the part before the first
 * '?', %XX escapes decoded as net/url decodes a path ('+' stays '+'). Go refuses a
 * request with a bad escape, so one here was cut short by the record's bound: it is
 * kept as it is. Writes at most len bytes to out; returns how many. */
static size_t path_of_target(const char *target, size_t len, char *out)
{
	const char *q = memchr(target, '?', len);
	size_t n = 0;

	if (q)
		len = (size_t)(q - target);
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (target[i] == '%' && i + 2 < len && (hi = hex_digit(target[i + 1])) >= 0 &&
		    (lo = hex_digit(target[i + 2])) >= 0) {
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[n++] = target[i];
		}
	}
	return n;
}

static void add_address(struct otlp_span *span, const char *addr_key, const char *port_key,
			const char *s, size_t len)
{
	const char *host;
	size_t host_len;
	unsigned port;

	if (len == 0)
		return;
	span_builder_split_host_port(s, len, &host, &host_len, &port);
	if (host_len > 0)
		otlp_span_add_string_len(span, addr_key, host, host_len);
	if (port)
		otlp_span_add_int(span, port_key, port);
}

int span_builder_build(const void *data, size_t size, int64_t wall_minus_mono_ns,
		       struct otlp_span *ret_span)
{
	struct hs_span_record rec;
	const char *method;

	if (size != sizeof(rec))
		return -EINVAL;
	/* The ring buffer's memory may be overwritten once the record is released, and may
	 * not be aligned for the struct: copy it out first. */
	memcpy(&rec, data, sizeof(rec));
	if (rec.method_len > HS_METHOD_MAX || rec.path_len > HS_PATH_MAX ||
	    rec.host_len > HS_HOST_MAX || rec.remote_len > HS_REMOTE_MAX ||
	    rec.method_id >= HS_METHOD_COUNT || rec.end_ns < rec.start_ns)
		return -EINVAL;

	otlp_span_init(ret_span);
	memcpy(ret_span->trace_id, rec.trace_id, sizeof(rec.trace_id));
	memcpy(ret_span->span_id, rec.span_id, sizeof(rec.span_id));
	if (rec.rec_flags & HS_REC_HAS_PARENT)
		memcpy(ret_span->parent_span_id, rec.parent_span_id, sizeof(rec.parent_span_id));
	ret_span->flags = rec.trace_flags;
	ret_span->kind = OTLP_SPAN_KIND_SERVER;
	ret_span->start_unix_nano = rec.start_ns + (uint64_t)wall_minus_mono_ns;
	ret_span->end_unix_nano = rec.end_ns + (uint64_t)wall_minus_mono_ns;

	method = method_names[rec.method_id];
	/* The span name is the method; "HTTP" for one outside the known set (semconv). */
	if (rec.method_id == HS_METHOD_OTHER)
		otlp_span_set_name(ret_span, "HTTP", 4);
	else
		otlp_span_set_name(ret_span, method, strlen(method));
	otlp_span_add_string(ret_span, "http.request.method", method);
	if (rec.method_id == HS_METHOD_OTHER && rec.method_len > 0)
		otlp_span_add_string_len(ret_span, "http.request.method_original", rec.method,
					 rec.method_len);
	if (rec.rec_flags & HS_REC_RAW_TARGET) {
		char path[HS_PATH_MAX];
		size_t n = path_of_target(rec.path, rec.path_len, path);

		if (n > 0)
			otlp_span_add_string_len(ret_span, "url.path", path, n);
	} else if (rec.path_len > 0) {
		otlp_span_add_string_len(ret_span, "url.path", rec.path, rec.path_len);
	}
	otlp_span_add_int(ret_span, "http.response.status_code", rec.status);
	add_address(ret_span, "server.address", "server.port", rec.host, rec.host_len);
	add_address(ret_span, "client.address", "client.port", rec.remote, rec.remote_len);
	otlp_span_add_int(ret_span, "process.pid", rec.pid);
	if (rec.status >= 500)
		otlp_span_set_status(ret_span, OTLP_STATUS_ERROR, NULL);
	return 0;
}
