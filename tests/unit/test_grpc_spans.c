/* The gRPC side of the agent that needs no kernel: the full-method splitter, a ring
 * record of bpf/grpc.bpf.c -> an OTLP span under the RPC semantic conventions, and the
 * RPC RED families in the Prometheus text format, which `promtool check metrics`'s
 * checks ($METRICS_LINT: tools/metrics-lint) accept. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/grpc_span_builder.h"
#include "agent/rpc_red_metrics.h"
#include "bpf/grpc.h"

static void split(const char *full, int want_rc, const char *service, const char *method)
{
	const char *s, *m;
	size_t sl, ml;

	assert_int_equal(grpc_method_split(full, strlen(full), &s, &sl, &m, &ml), want_rc);
	assert_int_equal(sl, strlen(service));
	assert_memory_equal(s, service, sl);
	assert_int_equal(ml, strlen(method));
	assert_memory_equal(m, method, ml);
}

static void full_methods_split_into_service_and_method(void **state)
{
	split("/grpc.health.v1.Health/Check", 0, "grpc.health.v1.Health", "Check");
	split("/Svc/M", 0, "Svc", "M");
	split("/a/b/c", 0, "a/b", "c"); /* the method is after the last '/' */
	split("grpc.health.v1.Health/Check", -EINVAL, "grpc.health.v1.Health/Check", "");
	split("/Svc", -EINVAL, "Svc", "");
	split("/Svc/", -EINVAL, "Svc/", "");
	split("//M", -EINVAL, "/M", "");
	split("/", -EINVAL, "", "");
	split("", -EINVAL, "", "");
}

static struct gr_span_record record(const char *method, uint16_t code, uint8_t flags)
{
	struct gr_span_record r;

	memset(&r, 0, sizeof(r));
	memset(r.trace_id, 0xab, sizeof(r.trace_id));
	memset(r.span_id, 0xcd, sizeof(r.span_id));
	memset(r.parent_span_id, 0xef, sizeof(r.parent_span_id));
	r.start_ns = 1000;
	r.end_ns = 5000;
	r.pid = 42;
	r.code = code;
	r.trace_flags = 1;
	r.rec_flags = flags;
	r.method_len = (uint8_t)strlen(method);
	memcpy(r.method, method, r.method_len);
	return r;
}

static const char *attr_string(const struct otlp_span *s, const char *key)
{
	static char out[256];
	struct otlp_attrs_view v = otlp_span_attrs(s);

	for (size_t i = 0; i < v.count; i++) {
		const struct otlp_attr *a = &v.items[i];

		if (a->key_len == strlen(key) && memcmp(v.text + a->key_off, key, a->key_len) == 0 &&
		    a->type == OTLP_VALUE_STRING) {
			snprintf(out, sizeof(out), "%.*s", (int)a->str_len, v.text + a->str_off);
			return out;
		}
	}
	return NULL;
}

static long long attr_int(const struct otlp_span *s, const char *key)
{
	struct otlp_attrs_view v = otlp_span_attrs(s);

	for (size_t i = 0; i < v.count; i++) {
		const struct otlp_attr *a = &v.items[i];

		if (a->key_len == strlen(key) && memcmp(v.text + a->key_off, key, a->key_len) == 0 &&
		    a->type == OTLP_VALUE_INT)
			return a->v.i;
	}
	return -1;
}

static void a_server_record_becomes_a_server_span(void **state)
{
	static struct otlp_span s;
	struct gr_span_record r = record("/grpc.health.v1.Health/Check", 5, GR_REC_HAS_PARENT);
	uint8_t parent[8];

	assert_int_equal(grpc_span_builder_build(&r, sizeof(r), 100, &s), 0);
	assert_int_equal(s.kind, OTLP_SPAN_KIND_SERVER);
	assert_int_equal(s.name_len, strlen("grpc.health.v1.Health/Check"));
	assert_memory_equal(s.name, "grpc.health.v1.Health/Check", s.name_len);
	assert_string_equal(attr_string(&s, "rpc.system"), "grpc");
	assert_string_equal(attr_string(&s, "rpc.service"), "grpc.health.v1.Health");
	assert_string_equal(attr_string(&s, "rpc.method"), "Check");
	assert_int_equal(attr_int(&s, "rpc.grpc.status_code"), 5);
	assert_int_equal(attr_int(&s, "process.pid"), 42);
	/* NOT_FOUND is an answer, not a server failure. */
	assert_int_not_equal(s.status_code, OTLP_STATUS_ERROR);
	memset(parent, 0xef, sizeof(parent));
	assert_memory_equal(s.parent_span_id, parent, 8);
	assert_int_equal(s.start_unix_nano, 1100);
	assert_int_equal(s.end_unix_nano, 5100);
}

static void a_client_record_is_an_error_for_any_code_but_ok(void **state)
{
	static struct otlp_span s;
	struct gr_span_record r = record("/Svc/M", 5, GR_REC_CLIENT);
	uint8_t zero[8] = { 0 };

	assert_int_equal(grpc_span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_int_equal(s.kind, OTLP_SPAN_KIND_CLIENT);
	assert_int_equal(s.status_code, OTLP_STATUS_ERROR);
	assert_string_equal(attr_string(&s, "error.type"), "NOT_FOUND");
	assert_memory_equal(s.parent_span_id, zero, 8); /* no HAS_PARENT: a root */
	r = record("/Svc/M", 0, GR_REC_CLIENT);
	assert_int_equal(grpc_span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_int_not_equal(s.status_code, OTLP_STATUS_ERROR);
	/* Server: Unimplemented is a failure. */
	r = record("/Svc/M", 12, 0);
	assert_int_equal(grpc_span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_int_equal(s.status_code, OTLP_STATUS_ERROR);
}

static void bad_records_are_refused(void **state)
{
	static struct otlp_span s;
	struct gr_span_record r = record("/Svc/M", 0, 0);

	assert_int_equal(grpc_span_builder_build(&r, sizeof(r) - 1, 0, &s), -EINVAL);
	r.code = GR_CODE_MAX + 1;
	assert_int_equal(grpc_span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	r = record("/Svc/M", 0, 0);
	r.method_len = GR_METHOD_MAX + 1;
	assert_int_equal(grpc_span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	r = record("/Svc/M", 0, 0);
	r.end_ns = r.start_ns - 1;
	assert_int_equal(grpc_span_builder_build(&r, sizeof(r), 0, &s), -EINVAL);
	/* An empty method still makes a span, named for the system. */
	r = record("", 0, 0);
	assert_int_equal(grpc_span_builder_build(&r, sizeof(r), 0, &s), 0);
	assert_memory_equal(s.name, "grpc", 4);
}

static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1 };

static void the_red_families_carry_the_semconv_labels(void **state)
{
	uint64_t b1[6] = { 1, 2, 0, 0, 0, 1 }, b2[6] = { 0, 0, 0, 0, 0, 1 };
	struct rpc_red_series s[3] = {
		{ 0, "/grpc.health.v1.Health/Check", 28, 0, b1, 4, 0.5 },
		{ 1, "/grpc.health.v1.Health/Check", 28, 5, b2, 1, 0.25 },
		{ 0, "/odd\"svc\n/M{x}", 14, 2, b2, 1, 0.25 },
	};
	struct prom_text t = { 0 };

	assert_int_equal(rpc_red_metrics_format(s, 3, bounds, 5, &t), 0);
	assert_non_null(strstr(t.data, "# TYPE rpc_server_duration_seconds histogram\n"));
	assert_non_null(strstr(t.data, "# TYPE rpc_client_duration_seconds histogram\n"));
	assert_non_null(strstr(t.data, "rpc_server_duration_seconds_bucket{rpc_system=\"grpc\","
				       "rpc_service=\"grpc.health.v1.Health\",rpc_method=\"Check\","
				       "rpc_grpc_status_code=\"0\",le=\"0.01\"} 3\n"));
	assert_non_null(strstr(t.data, "rpc_client_duration_seconds_count{rpc_system=\"grpc\","
				       "rpc_service=\"grpc.health.v1.Health\",rpc_method=\"Check\","
				       "rpc_grpc_status_code=\"5\"} 1\n"));
	/* Bytes from a traced process never break the exposition. */
	assert_non_null(strstr(t.data, "rpc_service=\"odd_svc_\",rpc_method=\"M_x_\""));
	free(t.data);
}

static void metrics_lint_accepts_them(void **state)
{
	const char *checker = getenv("METRICS_LINT");
	uint64_t b[6] = { 1, 1, 1, 1, 1, 1 };
	struct rpc_red_series s[2] = {
		{ 0, "/grpc.health.v1.Health/Check", 28, 0, b, 6, 0.3 },
		{ 1, "/grpc.health.v1.Health/Watch", 28, 14, b, 6, 0.3 },
	};
	char path[] = "/tmp/rpc-red-XXXXXX", cmd[512];
	struct prom_text t = { 0 };
	int fd;

	if (!checker || access(checker, X_OK) != 0)
		skip();
	assert_int_equal(rpc_red_metrics_format(s, 2, bounds, 5, &t), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, t.data, t.len), (ssize_t)t.len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s check metrics < %s", checker, path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	free(t.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_methods_split_into_service_and_method),
		cmocka_unit_test(a_server_record_becomes_a_server_span),
		cmocka_unit_test(a_client_record_is_an_error_for_any_code_but_ok),
		cmocka_unit_test(bad_records_are_refused),
		cmocka_unit_test(the_red_families_carry_the_semconv_labels),
		cmocka_unit_test(metrics_lint_accepts_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
