/* The webhook's certificates (operator/cert_gen.h): a CA and a serving certificate it
 * signs, which OpenSSL verifies for the Service's names and the IPs asked for, valid for
 * the time asked. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "operator/cert_gen.h"

static X509 *load(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

/* 1 when `cert` chains to `ca` and is good for host (a name or an IP). */
static int verifies(const char *ca_pem, const char *cert_pem, const char *host, int is_ip)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *ca = load(ca_pem), *cert = load(cert_pem);
	int ok;

	X509_STORE_add_cert(store, ca);
	X509_STORE_CTX_init(ctx, store, cert, NULL);
	if (is_ip)
		X509_VERIFY_PARAM_set1_ip_asc(X509_STORE_CTX_get0_param(ctx), host);
	else
		X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(ca);
	X509_free(cert);
	return ok;
}

static void the_serving_certificate_verifies_for_the_service(void **state)
{
	const char *dns[] = { "autotrace-webhook.autotrace.svc", "autotrace-webhook", NULL };
	const char *ips[] = { "127.0.0.1", NULL };
	struct cert_pem ca = { 0 }, other = { 0 }, srv = { 0 };
	struct cert_serving_opts o = { .common_name = "autotrace-webhook.autotrace.svc",
				       .dns_names = dns, .ips = ips, .validity_s = 3600 };
	time_t end;

	assert_int_equal(cert_gen_ca("test CA", 7200, &ca), 0);
	assert_int_equal(cert_gen_ca("another CA", 7200, &other), 0);
	assert_int_equal(cert_gen_serving(&ca, &o, &srv), 0);
	assert_true(verifies(ca.cert, srv.cert, "autotrace-webhook.autotrace.svc", 0));
	assert_true(verifies(ca.cert, srv.cert, "127.0.0.1", 1));
	assert_false(verifies(ca.cert, srv.cert, "evil.example", 0));
	assert_false(verifies(other.cert, srv.cert, "autotrace-webhook.autotrace.svc", 0));
	assert_int_equal(cert_not_after(srv.cert, &end), 0);
	assert_true(end > time(NULL) + 3500 && end <= time(NULL) + 3600);
	assert_non_null(strstr(srv.key, "PRIVATE KEY"));
	cert_pem_clear(&ca);
	cert_pem_clear(&other);
	cert_pem_clear(&srv);
	cert_pem_clear(&srv);
}

static void a_serving_certificate_needs_a_name_and_a_good_ca(void **state)
{
	const char *none[] = { NULL };
	struct cert_pem ca = { 0 }, srv = { 0 }, bad = { .cert = "x", .key = "y" };
	struct cert_serving_opts o = { .common_name = "x", .dns_names = none, .validity_s = 60 };
	const char *dns[] = { "a", NULL };

	assert_int_equal(cert_gen_ca("test CA", 60, &ca), 0);
	assert_int_equal(cert_gen_serving(&ca, &o, &srv), -EINVAL);
	o.dns_names = dns;
	assert_int_equal(cert_gen_serving(&bad, &o, &srv), -EINVAL);
	assert_int_equal(cert_not_after("not a certificate", &(time_t){ 0 }), -EINVAL);
	cert_pem_clear(&ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_serving_certificate_verifies_for_the_service),
		cmocka_unit_test(a_serving_certificate_needs_a_name_and_a_good_ca),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
