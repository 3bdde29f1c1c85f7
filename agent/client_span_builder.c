#include "agent/client_span_builder.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/span_builder.h"
#include "bpf/http_client.h"

static const char *const redacted_keys[] = { "AWSAccessKeyId", "Signature", "sig",
					     "X-Goog-Signature" };

static int is_redacted(const char *key, size_t len)
{
	for (size_t i = 0; i < sizeof(redacted_keys) / sizeof(redacted_keys[0]); i++) {
		if (strlen(redacted_keys[i]) == len && memcmp(redacted_keys[i], key, len) == 0)
			return 1;
	}
	return 0;
}

/* Go's url.URL keeps user info in URL.User, which the probe never reads, so Host has
 * none; but the bytes come from a traced process's memory, and url.full must never
 * carry credentials: anything up to the last '@' is dropped all the same. */
static void host_without_userinfo(const char **host, size_t *len)
{
	for (size_t i = *len; i > 0; i--) {
		if ((*host)[i - 1] == '@') {
			*host += i;
			*len -= i;
			return;
		}
	}
}

struct out_buf {
	char *p;
	size_t size, len;
};

static void put(struct out_buf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && o->len + 1 < o->size; i++)
		o->p[o->len++] = s[i];
	if (o->size)
		o->p[o->len] = '\0';
}

size_t client_span_url_full(const char *scheme, size_t scheme_len, const char *host,
			    size_t host_len, const char *path, size_t path_len, const char *query,
			    size_t query_len, char *out, size_t size)
{
	struct out_buf o = { out, size, 0 };
	size_t i = 0;

	if (size)
		out[0] = '\0';
	host_without_userinfo(&host, &host_len);
	if (scheme_len) {
		put(&o, scheme, scheme_len);
		put(&o, "://", 3);
	}
	put(&o, host, host_len);
	if (path_len && path[0] != '/')
		put(&o, "/", 1);
	put(&o, path, path_len);
	if (!query_len)
		return o.len;
	put(&o, "?", 1);
	while (i < query_len) {
		const char *pair = query + i, *amp = memchr(pair, '&', query_len - i), *eq;
		size_t n = amp ? (size_t)(amp - pair) : query_len - i;

		eq = memchr(pair, '=', n);
		if (eq && is_redacted(pair, (size_t)(eq - pair))) {
			put(&o, pair, (size_t)(eq - pair) + 1);
			put(&o, "REDACTED", 8);
		} else {
			put(&o, pair, n);
		}
		i += n;
		if (amp) {
			put(&o, "&", 1);
			i++;
		}
	}
	return o.len;
}

unsigned client_span_port(const char *scheme, size_t scheme_len, unsigned port_in_host)
{
	if (port_in_host)
		return port_in_host;
	if (scheme_len == 4 && memcmp(scheme, "http", 4) == 0)
		return 80;
	if (scheme_len == 5 && memcmp(scheme, "https", 5) == 0)
		return 443;
	return 0;
}

int client_span_builder_build(const void *data, size_t size, int64_t wall_minus_mono_ns,
			      struct otlp_span *ret_span)
{
	struct hc_span_record rec;
	char url[HC_SCHEME_MAX + 3 + HC_HOST_MAX + 1 + HC_PATH_MAX + 1 + HC_QUERY_MAX + 64];
	const char *method, *host;
	size_t url_len, host_len;
	unsigned port;
	int failed;

	if (size != sizeof(rec))
		return -EINVAL;
	/* Copied out first: the ring's memory is released after the call. */
	memcpy(&rec, data, sizeof(rec));
	if (rec.method_len > HS_METHOD_MAX || rec.scheme_len > HC_SCHEME_MAX ||
	    rec.host_len > HC_HOST_MAX || rec.path_len > HC_PATH_MAX ||
	    rec.query_len > HC_QUERY_MAX || rec.method_id >= HS_METHOD_COUNT ||
	    rec.end_ns < rec.start_ns)
		return -EINVAL;
	failed = (rec.rec_flags & HC_REC_ERROR) != 0;
	otlp_span_init(ret_span);
	memcpy(ret_span->trace_id, rec.trace_id, sizeof(rec.trace_id));
	memcpy(ret_span->span_id, rec.span_id, sizeof(rec.span_id));
	if (rec.rec_flags & HC_REC_HAS_PARENT)
		memcpy(ret_span->parent_span_id, rec.parent_span_id, sizeof(rec.parent_span_id));
	ret_span->flags = rec.trace_flags;
	ret_span->kind = OTLP_SPAN_KIND_CLIENT;
	ret_span->start_unix_nano = rec.start_ns + (uint64_t)wall_minus_mono_ns;
	ret_span->end_unix_nano = rec.end_ns + (uint64_t)wall_minus_mono_ns;
	method = span_builder_method_name(rec.method_id);
	if (rec.method_id == HS_METHOD_OTHER)
		otlp_span_set_name(ret_span, "HTTP", 4);
	else
		otlp_span_set_name(ret_span, method, strlen(method));
	otlp_span_add_string(ret_span, "http.request.method", method);
	if (rec.method_id == HS_METHOD_OTHER && rec.method_len > 0)
		otlp_span_add_string_len(ret_span, "http.request.method_original", rec.method,
					 rec.method_len);
	url_len = client_span_url_full(rec.scheme, rec.scheme_len, rec.host, rec.host_len,
				       rec.path, rec.path_len, rec.query, rec.query_len, url,
				       sizeof(url));
	if (url_len)
		otlp_span_add_string_len(ret_span, "url.full", url, url_len);
	host = rec.host;
	host_len = rec.host_len;
	host_without_userinfo(&host, &host_len);
	span_builder_split_host_port(host, host_len, &host, &host_len, &port);
	if (host_len)
		otlp_span_add_string_len(ret_span, "server.address", host, host_len);
	port = client_span_port(rec.scheme, rec.scheme_len, port);
	if (port)
		otlp_span_add_int(ret_span, "server.port", port);
	if (!failed)
		otlp_span_add_int(ret_span, "http.response.status_code", rec.status);
	if (failed) {
		otlp_span_add_string(ret_span, "error.type", "_OTHER");
		otlp_span_set_status(ret_span, OTLP_STATUS_ERROR, NULL);
	} else if (rec.status >= 400) {
		char code[8];

		snprintf(code, sizeof(code), "%u", (unsigned)rec.status);
		otlp_span_add_string(ret_span, "error.type", code);
		otlp_span_set_status(ret_span, OTLP_STATUS_ERROR, NULL);
	}
	otlp_span_add_int(ret_span, "process.pid", rec.pid);
	return 0;
}
