/* Ring-buffer record -> OTLP server span: semconv attributes, name, status, times, and
 * records that cannot be right refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/span_builder.h"
#include "bpf/http_server.h"

static void set(char *dst, uint8_t *len, const char *s)
{
	*len = (uint8_t)strlen(s);
	memcpy(dst, s, *len);
}

static void make_record(struct hs_span_record *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 16; i++)
		r->trace_id[i] = (uint8_t)(i + 1);
	for (int i = 0; i < 8; i++) {
		r->span_id[i] = (uint8_t)(0xa0 + i);
		r->parent_span_id[i] = (uint8_t)(0xb0 + i);
	}
	r->start_ns = 1000;
	r->end_ns = 251000;
	r->pid = 4321;
	r->status = 200;
	r->trace_flags = 1;
	r->method_id = HS_METHOD_GET;
	set(r->method, &r->method_len, "GET");
	set(r->path, &r->path_len, "/items/7");
	set(r->host, &r->host_len, "shop.example:8080");
	set(r->remote, &r->remote_len, "10.1.2.3:51234");
}

static const char *str_attr(const struct otlp_span *s, const char *key)
{
	static char buf[OTLP_SPAN_VALUE_MAX + 1];
	const struct otlp_attr *a = otlp_span_find_attr(s, key);

	if (!a)
		return NULL;
	assert_int_equal(a->type, OTLP_VALUE_STRING);
	memcpy(buf, s->text + a->str_off, a->str_len);
	buf[a->str_len] = '\0';
	return buf;
}

static int64_t int_attr(const struct otlp_span *s, const char *key)
{
	const struct otlp_attr *a = otlp_span_find_attr(s, key);

	assert_non_null(a);
	assert_int_equal(a->type, OTLP_VALUE_INT);
	return a->v.i;
}

static void a_record_becomes_a_semconv_server_span(void **state)
{
	struct hs_span_record r;
	struct otlp_span s;

	make_record(&r);
	assert_int_equal(span_builder_build(&r, sizeof(r), 5000000, &s), 0);
	assert_int_equal(s.kind, OTLP_SPAN_KIND_SERVER);
	assert_int_equal(s.name_len, 3);
	assert_memory_equal(s.name, "GET", 3);
	assert_memory_equal(s.trace_id, r.trace_id, 16);
	assert_memory_equal(s.span_id, r.span_id, 8);
	assert_true(otlp_span_is_root(&s)); /* no HS_REC_HAS_PARENT */
	assert_int_equal(s.start_unix_nano, 5001000);
	assert_int_equal(s.end_unix_nano, 5251000);
	assert_int_equal(s.flags, 1);
	assert_int_equal(s.status_code, OTLP_STATUS_UNSET);
	assert_string_equal(str_attr(&s, "http.request.method"), "GET");
	assert_null(str_attr(&s, "http.request.method_original"));
	assert_string_equal(str_attr(&s, "url.path"), "/items/7");
	assert_int_equal(int_attr(&s, "http.response.status_code"), 200);
	assert_string_equal(str_attr(&s, "server.address"), "shop.example");
	assert_int_equal(int_attr(&s, "server.port"), 8080);
	assert_string_equal(str_attr(&s, "client.address"), "10.1.2.3");
	assert_int_equal(int_attr(&s, "client.port"), 51234);
	assert_int_equal(int_attr(&s, "process.pid"), 4321);
}

static void parents_errors_and_unknown_methods(void **state)
{
	struct hs_span_record r;
	struct otlp_span s;

	make_record(&r);
	r.rec_flags = HS_REC_HAS_PARENT;
	r.status = 503;
	r.method_id = HS_METHOD_OTHER;
	set(r.method, &r.method_len, "PROPFIND");
	assert_int_equal(span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_memory_equal(s.parent_span_id, r.parent_span_id, 8);
	assert_int_equal(s.status_code, OTLP_STATUS_ERROR);
	assert_int_equal(s.name_len, 4);
	assert_memory_equal(s.name, "HTTP", 4);
	assert_string_equal(str_attr(&s, "http.request.method"), "_OTHER");
	assert_string_equal(str_attr(&s, "http.request.method_original"), "PROPFIND");
	/* 4xx is the client's error, not the server's. */
	r.status = 404;
	assert_int_equal(span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_int_equal(s.status_code, OTLP_STATUS_UNSET);
}

static void addresses_split_as_go_writes_them(void **state)
{
	static const struct {
		const char *in, *host;
		unsigned port;
	} cases[] = {
		{ "127.0.0.1:8080", "127.0.0.1", 8080 },
		{ "[::1]:443", "::1", 443 },
		{ "[fe80::1%eth0]:80", "fe80::1%eth0", 80 },
		{ "example.com", "example.com", 0 },
		{ "example.com:", "example.com", 0 },
		{ "example.com:99999", "example.com", 0 },
		{ "example.com:80x", "example.com", 0 },
		{ "::1", "::1", 0 },
		{ "[::1]", "::1", 0 },
		{ "[::1", "[::1", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *host;
		size_t len;
		unsigned port;

		span_builder_split_host_port(cases[i].in, strlen(cases[i].in), &host, &len, &port);
		assert_int_equal(len, strlen(cases[i].host));
		assert_memory_equal(host, cases[i].host, len);
		assert_int_equal(port, cases[i].port);
	}
}

/* The start probe may send the request line's target as the client wrote it: url.path
 * is then what Go puts in http.Request.URL.Path, without the query, escapes decoded. */
static void a_raw_target_gives_the_path_go_sees(void **state)
{
	static const struct {
		const char *target, *path;
	} cases[] = {
		{ "/items/7", "/items/7" },
		{ "/slow?ms=150", "/slow" },
		{ "/a%20b/c%2Fd?q=%3F&x=1", "/a b/c/d" },
		{ "/caf%C3%A9?", "/caf\xc3\xa9" },
		{ "/a+b%2b", "/a+b+" },
		{ "/p?x?y", "/p" },
		/* Cut short by the record's bound mid-escape: kept as sent. */
		{ "/long%2", "/long%2" },
		{ "/long%", "/long%" },
	};
	struct hs_span_record r;
	struct otlp_span s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_record(&r);
		r.rec_flags = HS_REC_RAW_TARGET;
		set(r.path, &r.path_len, cases[i].target);
		assert_int_equal(span_builder_build(&r, sizeof(r), 0, &s), 0);
		assert_string_equal(str_attr(&s, "url.path"), cases[i].path);
		assert_null(str_attr(&s, "url.query"));
		assert_string_equal(str_attr(&s, "server.address"), "shop.example");
		assert_int_equal(int_attr(&s, "server.port"), 8080);
	}
	/* Without the flag, the path is Go's already: a '%' in it is a '%'. */
	make_record(&r);
	set(r.path, &r.path_len, "/100%25?");
	assert_int_equal(span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_string_equal(str_attr(&s, "url.path"), "/100%25?");
	/* A target that is only a query has no path. */
	make_record(&r);
	r.rec_flags = HS_REC_RAW_TARGET;
	set(r.path, &r.path_len, "?x");
	assert_int_equal(span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_null(str_attr(&s, "url.path"));
}

static void impossible_records_are_refused(void **state)
{
	struct hs_span_record r;
	struct otlp_span s;

	make_record(&r);
	assert_int_equal(span_builder_build(&r, sizeof(r) - 1, 0, &s), -EINVAL);
	assert_int_equal(span_builder_build(&r, sizeof(r) + 8, 0, &s), -EINVAL);
	r.path_len = HS_PATH_MAX + 1;
	assert_int_equal(span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	make_record(&r);
	r.method_id = HS_METHOD_COUNT;
	assert_int_equal(span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	make_record(&r);
	r.end_ns = r.start_ns - 1;
	assert_int_equal(span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	/* Bytes from a traced process that are not UTF-8 still make a valid span. */
	make_record(&r);
	r.path[1] = (char)0xff;
	assert_int_equal(span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_non_null(str_attr(&s, "url.path"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_record_becomes_a_semconv_server_span),
		cmocka_unit_test(parents_errors_and_unknown_methods),
		cmocka_unit_test(addresses_split_as_go_writes_them),
		cmocka_unit_test(a_raw_target_gives_the_path_go_sees),
		cmocka_unit_test(impossible_records_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
