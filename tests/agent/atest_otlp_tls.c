/* The exporter over HTTPS to the real OTLP receiver: it verifies the collector against
 * the configured CA (and refuses one it cannot verify), presents a client certificate
 * when the collector asks for one, and picks up a fixed TLS config live. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/otlp/exporter.h"
#include "tests/support/otlp_receiver.h"
#include "tests/support/testcert.h"

struct fixture {
	char dir[64];
	char ca[96], cert[96], key[96], client_cert[96], client_key[96];
	char other_ca[96];
	struct otlp_receiver *rx;
	struct otlp_exporter *ex;
};

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct testcert_ca *ca = NULL, *other = NULL;
	struct testcert_issue_opts server = { .common_name = "localhost" };
	struct testcert_issue_opts client = { .common_name = "autotrace-agent" };
	int err = -1;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/atest-otlp-tls-XXXXXX");
	if (!mkdtemp(f->dir))
		goto done;
	snprintf(f->ca, sizeof(f->ca), "%s/ca.pem", f->dir);
	snprintf(f->other_ca, sizeof(f->other_ca), "%s/other-ca.pem", f->dir);
	snprintf(f->cert, sizeof(f->cert), "%s/server.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/server-key.pem", f->dir);
	snprintf(f->client_cert, sizeof(f->client_cert), "%s/client.pem", f->dir);
	snprintf(f->client_key, sizeof(f->client_key), "%s/client-key.pem", f->dir);
	if (testcert_ca_new("collector-ca", &ca) < 0 || testcert_ca_write(ca, f->ca) < 0 ||
	    testcert_issue(ca, &server, f->cert, f->key) < 0 ||
	    testcert_issue(ca, &client, f->client_cert, f->client_key) < 0 ||
	    testcert_ca_new("someone-else", &other) < 0 || testcert_ca_write(other, f->other_ca) < 0)
		goto done;
	err = 0;
	*state = f;
done:
	testcert_ca_free(ca);
	testcert_ca_free(other);
	if (err < 0)
		free(f);
	return err;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	const char *files[] = { f->ca, f->other_ca, f->cert, f->key, f->client_cert, f->client_key };

	otlp_exporter_free(f->ex);
	otlp_receiver_free(f->rx);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct otlp_exporter_options options(void)
{
	return (struct otlp_exporter_options){
		.max_batch = 64,
		.max_delay_ms = 20,
		.backoff = { .initial_ms = 50, .max_ms = 100, .multiplier = 2, .jitter = 0.1 },
		.max_elapsed_ms = 20000,
	};
}

static void send_spans(struct otlp_exporter *ex, uint8_t tag, int n)
{
	struct otlp_span s;

	for (int i = 0; i < n; i++) {
		otlp_span_init(&s);
		s.trace_id[0] = tag;
		s.span_id[0] = tag;
		s.span_id[7] = (uint8_t)i;
		otlp_span_set_name(&s, "tls", 3);
		assert_int_equal(otlp_exporter_enqueue(ex, &s), 0);
	}
}

static size_t received(struct otlp_receiver *rx)
{
	json_t *spans;
	size_t n;

	assert_int_equal(otlp_receiver_spans(rx, &spans), 0);
	n = json_array_size(spans);
	json_decref(spans);
	return n;
}

static void the_collector_is_verified_against_the_configured_ca(void **state)
{
	struct fixture *f = *state;
	struct otlp_receiver_options ro = { .tls_cert = f->cert, .tls_key = f->key };
	struct otlp_exporter_options opts = options();
	struct otlp_exporter_config cfg = { .ca_file = f->ca };
	struct otlp_exporter_stats st;
	json_t *spans;

	assert_int_equal(otlp_receiver_start_opts(&ro, &f->rx), 0);
	assert_memory_equal(otlp_receiver_endpoint(f->rx), "https://", 8);
	cfg.endpoint = otlp_receiver_endpoint(f->rx);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	send_spans(f->ex, 1, 100);
	assert_int_equal(otlp_exporter_flush(f->ex, 10000), 0);
	assert_int_equal(otlp_receiver_wait_spans(f->rx, 100, 5000, &spans), 0);
	json_decref(spans);
	otlp_exporter_get_stats(f->ex, &st);
	assert_int_equal(st.spans_exported, 100);
	assert_int_equal(st.requests[OTLP_REQUEST_RETRYABLE_ERROR], 0);
}

/* A collector whose certificate the configured CA did not sign gets nothing; once the
 * right CA is configured, live, the waiting batch goes through. */
static void an_unverifiable_collector_gets_nothing_until_the_ca_is_fixed(void **state)
{
	struct fixture *f = *state;
	struct otlp_receiver_options ro = { .tls_cert = f->cert, .tls_key = f->key };
	struct otlp_exporter_options opts = options();
	struct otlp_exporter_config cfg = { .ca_file = f->other_ca };
	struct otlp_exporter_stats st;
	json_t *spans;

	assert_int_equal(otlp_receiver_start_opts(&ro, &f->rx), 0);
	cfg.endpoint = otlp_receiver_endpoint(f->rx);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	send_spans(f->ex, 2, 10);
	sleep_ms(800);
	otlp_exporter_get_stats(f->ex, &st);
	assert_true(st.requests[OTLP_REQUEST_RETRYABLE_ERROR] >= 2);
	assert_int_equal(st.spans_exported, 0);
	assert_int_equal(received(f->rx), 0);

	cfg.ca_file = f->ca;
	assert_int_equal(otlp_exporter_set_config(f->ex, &cfg), 0);
	assert_int_equal(otlp_exporter_flush(f->ex, 10000), 0);
	assert_int_equal(otlp_receiver_wait_spans(f->rx, 10, 5000, &spans), 0);
	assert_int_equal(json_array_size(spans), 10);
	json_decref(spans);
}

/* A collector that requires client certificates accepts the agent's, and refuses the
 * agent without one. */
static void a_client_certificate_is_presented_when_configured(void **state)
{
	struct fixture *f = *state;
	struct otlp_receiver_options ro = { .tls_cert = f->cert, .tls_key = f->key,
					    .client_ca = f->ca };
	struct otlp_exporter_options opts = options();
	struct otlp_exporter_config cfg = { .ca_file = f->ca };
	struct otlp_exporter_stats st;
	json_t *spans;

	assert_int_equal(otlp_receiver_start_opts(&ro, &f->rx), 0);
	cfg.endpoint = otlp_receiver_endpoint(f->rx);
	assert_int_equal(otlp_exporter_new(&opts, &cfg, &f->ex), 0);
	send_spans(f->ex, 3, 10);
	sleep_ms(800);
	otlp_exporter_get_stats(f->ex, &st);
	assert_true(st.requests[OTLP_REQUEST_RETRYABLE_ERROR] >= 1);
	assert_int_equal(received(f->rx), 0);

	cfg.cert_file = f->client_cert;
	cfg.key_file = f->client_key;
	assert_int_equal(otlp_exporter_set_config(f->ex, &cfg), 0);
	assert_int_equal(otlp_exporter_flush(f->ex, 10000), 0);
	assert_int_equal(otlp_receiver_wait_spans(f->rx, 10, 5000, &spans), 0);
	assert_int_equal(json_array_size(spans), 10);
	json_decref(spans);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_collector_is_verified_against_the_configured_ca,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			an_unverifiable_collector_gets_nothing_until_the_ca_is_fixed, setup, teardown),
		cmocka_unit_test_setup_teardown(a_client_certificate_is_presented_when_configured,
						setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
