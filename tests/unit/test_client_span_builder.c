/* Client ring-buffer record -> OTLP CLIENT span (agent/client_span_builder.c): url.full
 * never carries credentials and never the values of signature-like query keys, however
 * its parts come; server.port falls back to the scheme's; failures and 4xx/5xx are
 * errors; records that cannot be right are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/client_span_builder.h"
#include "bpf/http_client.h"

#define S(x) x, strlen(x)

static void set(char *dst, uint8_t *len, const char *s)
{
	*len = (uint8_t)strlen(s);
	memcpy(dst, s, *len);
}

static void make_record(struct hc_span_record *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 16; i++)
		r->trace_id[i] = (uint8_t)(i + 1);
	for (int i = 0; i < 8; i++) {
		r->span_id[i] = (uint8_t)(0xa0 + i);
		r->parent_span_id[i] = (uint8_t)(0xb0 + i);
	}
	r->start_ns = 1000;
	r->end_ns = 51000;
	r->pid = 777;
	r->status = 200;
	r->trace_flags = 1;
	r->rec_flags = HC_REC_HAS_PARENT;
	r->method_id = HS_METHOD_GET;
	set(r->method, &r->method_len, "GET");
	set(r->scheme, &r->scheme_len, "http");
	set(r->host, &r->host_len, "back.shop:8081");
	set(r->path, &r->path_len, "/items/7");
	set(r->query, &r->query_len, "page=2");
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

	if (!a)
		return -1;
	assert_int_equal(a->type, OTLP_VALUE_INT);
	return a->v.i;
}

/* url.full of the parts, as a string (static). */
static const char *url(const char *scheme, const char *host, const char *path, const char *query)
{
	static char out[512];
	size_t n = client_span_url_full(S(scheme), S(host), S(path), S(query), out, sizeof(out));

	assert_int_equal(n, strlen(out));
	return out;
}

static void the_parts_make_the_url(void **state)
{
	assert_string_equal(url("http", "b:8081", "/back", ""), "http://b:8081/back");
	assert_string_equal(url("https", "api.example", "/v1/x", "a=1&b=2"),
			    "https://api.example/v1/x?a=1&b=2");
	/* A path without its slash (an opaque-looking one) still gets one after the host. */
	assert_string_equal(url("http", "h", "p", ""), "http://h/p");
	assert_string_equal(url("http", "h", "", ""), "http://h");
	assert_string_equal(url("", "h", "/p", ""), "h/p");
}

static void credentials_are_never_in_the_url(void **state)
{
	/* Go keeps them in URL.User, never in Host; bytes from a process's memory are
	 * trusted no further. */
	assert_string_equal(url("https", "alice:s3cret@db.internal:5432", "/q", ""),
			    "https://db.internal:5432/q");
	assert_string_equal(url("http", "a@b@host", "/", ""), "http://host/");
	assert_null(strstr(url("http", "token@h", "/x", "u=1"), "token"));
	/* A host of nothing but user info is an empty host. */
	assert_string_equal(url("http", "user:pw@", "/x", ""), "http:///x");
}

static void signature_values_are_redacted(void **state)
{
	assert_string_equal(url("https", "s3.example", "/obj",
				"X-Amz-Date=1&AWSAccessKeyId=AKIA123&Signature=abc%2Fdef&Expires=9"),
			    "https://s3.example/obj?X-Amz-Date=1&AWSAccessKeyId=REDACTED&"
			    "Signature=REDACTED&Expires=9");
	assert_string_equal(url("https", "h", "/", "sig=zzz"), "https://h/?sig=REDACTED");
	assert_string_equal(url("https", "h", "/", "X-Goog-Signature=0a0b&x=1"),
			    "https://h/?X-Goog-Signature=REDACTED&x=1");
	/* An empty value is redacted too; keys only like them (the match is exact and
	 * case-sensitive, as semconv lists them) are left as they are. */
	assert_string_equal(url("https", "h", "/", "sig=&signature=1&sigx=2&Sig=3"),
			    "https://h/?sig=REDACTED&signature=1&sigx=2&Sig=3");
	/* A key with no value has nothing to hide; a lone '&' keeps its place. */
	assert_string_equal(url("https", "h", "/", "Signature&&a=1&"),
			    "https://h/?Signature&&a=1&");
	/* Everything after the key's '=' is the value, '=' included. */
	assert_string_equal(url("https", "h", "/", "Signature=a=b==&z=1"),
			    "https://h/?Signature=REDACTED&z=1");
}

static void a_short_buffer_truncates_and_terminates(void **state)
{
	char out[12];
	size_t n;

	memset(out, 'x', sizeof(out));
	n = client_span_url_full(S("https"), S("example.com"), S("/long"), S(""), out, sizeof(out));
	assert_int_equal(n, sizeof(out) - 1);
	assert_string_equal(out, "https://exa");
	/* A truncated redaction never shows the value's first bytes. */
	memset(out, 'x', sizeof(out));
	n = client_span_url_full(S(""), S("h"), S("/"), S("sig=SECRETVALUE"), out, sizeof(out));
	assert_int_equal(n, strlen(out));
	assert_null(strstr(out, "SEC"));
	assert_int_equal(client_span_url_full(S("http"), S("h"), S("/"), S(""), out, 0), 0);
	assert_int_equal(client_span_url_full(S("http"), S("h"), S("/"), S(""), out, 1), 0);
	assert_string_equal(out, "");
}

static void the_port_falls_back_to_the_schemes(void **state)
{
	assert_int_equal(client_span_port(S("http"), 0), 80);
	assert_int_equal(client_span_port(S("https"), 0), 443);
	assert_int_equal(client_span_port(S("https"), 8443), 8443);
	assert_int_equal(client_span_port(S("ftp"), 0), 0);
	assert_int_equal(client_span_port(S("httpx"), 0), 0);
	assert_int_equal(client_span_port(S(""), 0), 0);
}

static void a_record_becomes_a_semconv_client_span(void **state)
{
	struct hc_span_record r;
	struct otlp_span s;

	make_record(&r);
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 5000000, &s), 0);
	assert_int_equal(s.kind, OTLP_SPAN_KIND_CLIENT);
	assert_int_equal(s.name_len, 3);
	assert_memory_equal(s.name, "GET", 3);
	assert_memory_equal(s.trace_id, r.trace_id, 16);
	assert_memory_equal(s.span_id, r.span_id, 8);
	assert_memory_equal(s.parent_span_id, r.parent_span_id, 8);
	assert_int_equal(s.start_unix_nano, 5001000);
	assert_int_equal(s.end_unix_nano, 5051000);
	assert_int_equal(s.status_code, OTLP_STATUS_UNSET);
	assert_string_equal(str_attr(&s, "http.request.method"), "GET");
	assert_string_equal(str_attr(&s, "url.full"), "http://back.shop:8081/items/7?page=2");
	assert_string_equal(str_attr(&s, "server.address"), "back.shop");
	assert_int_equal(int_attr(&s, "server.port"), 8081);
	assert_int_equal(int_attr(&s, "http.response.status_code"), 200);
	assert_null(str_attr(&s, "error.type"));
	assert_int_equal(int_attr(&s, "process.pid"), 777);
}

static void a_record_without_parent_is_a_root(void **state)
{
	struct hc_span_record r;
	struct otlp_span s;

	make_record(&r);
	r.rec_flags = 0;
	set(r.scheme, &r.scheme_len, "https");
	set(r.host, &r.host_len, "api.example");
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_true(otlp_span_is_root(&s));
	assert_int_equal(int_attr(&s, "server.port"), 443);
}

static void user_info_reaches_neither_url_nor_address(void **state)
{
	struct hc_span_record r;
	struct otlp_span s;

	make_record(&r);
	set(r.host, &r.host_len, "bob:hunter2@10.0.0.9:9000");
	set(r.query, &r.query_len, "Signature=deadbeef");
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_string_equal(str_attr(&s, "url.full"), "http://10.0.0.9:9000/items/7?Signature=REDACTED");
	assert_string_equal(str_attr(&s, "server.address"), "10.0.0.9");
	assert_int_equal(int_attr(&s, "server.port"), 9000);
	for (uint32_t i = 0; i < s.text_used; i++) {
		assert_false(i + 7 <= s.text_used && memcmp(s.text + i, "hunter2", 7) == 0);
		assert_false(i + 8 <= s.text_used && memcmp(s.text + i, "deadbeef", 8) == 0);
	}
}

static void failures_and_error_statuses_are_errors(void **state)
{
	struct hc_span_record r;
	struct otlp_span s;

	make_record(&r);
	r.status = 404;
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_string_equal(str_attr(&s, "error.type"), "404");
	assert_int_equal(s.status_code, OTLP_STATUS_ERROR);

	make_record(&r);
	r.status = 0;
	r.rec_flags |= HC_REC_ERROR;
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_string_equal(str_attr(&s, "error.type"), "_OTHER");
	assert_int_equal(int_attr(&s, "http.response.status_code"), -1);
	assert_int_equal(s.status_code, OTLP_STATUS_ERROR);
}

static void an_odd_method_keeps_its_original(void **state)
{
	struct hc_span_record r;
	struct otlp_span s;

	make_record(&r);
	r.method_id = HS_METHOD_OTHER;
	set(r.method, &r.method_len, "PURGE");
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_int_equal(s.name_len, 4);
	assert_memory_equal(s.name, "HTTP", 4);
	assert_string_equal(str_attr(&s, "http.request.method"), "_OTHER");
	assert_string_equal(str_attr(&s, "http.request.method_original"), "PURGE");
}

static void records_that_cannot_be_right_are_refused(void **state)
{
	struct hc_span_record r;
	struct otlp_span s;

	make_record(&r);
	assert_int_equal(client_span_builder_build(&r, sizeof(r) - 1, 0, &s), -EINVAL);
	assert_int_equal(client_span_builder_build(&r, sizeof(r) + 1, 0, &s), -EINVAL);
	r.host_len = HC_HOST_MAX + 1;
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	make_record(&r);
	r.query_len = HC_QUERY_MAX + 1;
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	make_record(&r);
	r.path_len = HC_PATH_MAX + 1;
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	make_record(&r);
	r.scheme_len = HC_SCHEME_MAX + 1;
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	make_record(&r);
	r.method_id = HS_METHOD_COUNT;
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	make_record(&r);
	r.end_ns = r.start_ns - 1;
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
}

static void bytes_that_are_not_utf8_become_valid_text(void **state)
{
	struct hc_span_record r;
	struct otlp_span s;
	const char *u;

	make_record(&r);
	set(r.path, &r.path_len, "/\xff\xfe\xc3");
	assert_int_equal(client_span_builder_build(&r, sizeof(r), 0, &s), 0);
	u = str_attr(&s, "url.full");
	assert_non_null(u);
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		assert_false(*p == 0xff || *p == 0xfe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_parts_make_the_url),
		cmocka_unit_test(credentials_are_never_in_the_url),
		cmocka_unit_test(signature_values_are_redacted),
		cmocka_unit_test(a_short_buffer_truncates_and_terminates),
		cmocka_unit_test(the_port_falls_back_to_the_schemes),
		cmocka_unit_test(a_record_becomes_a_semconv_client_span),
		cmocka_unit_test(a_record_without_parent_is_a_root),
		cmocka_unit_test(user_info_reaches_neither_url_nor_address),
		cmocka_unit_test(failures_and_error_statuses_are_errors),
		cmocka_unit_test(an_odd_method_keeps_its_original),
		cmocka_unit_test(records_that_cannot_be_right_are_refused),
		cmocka_unit_test(bytes_that_are_not_utf8_become_valid_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
