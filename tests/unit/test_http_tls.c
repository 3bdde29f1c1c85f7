/* HTTPS with certificates made in the test, served from a directory updated the way the
 * kubelet updates a Secret volume; libcurl checks the chain against the test CA and
 * reports the served certificate's subject. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <event2/thread.h>

#include "lib/http/server.h"
#include "tests/support/http_fixture.h"
#include "tests/support/secretdir.h"
#include "tests/support/testcert.h"

struct tls_test {
	char dir[64];
	char secret[96];
	char cert[128];
	char key[128];
	char ca_file[128];
	struct testcert_ca *ca;
	struct http_fixture f;
};

static void hello(struct http_request *req, void *userdata)
{
	http_response_printf(req, "hello\n");
}

/* Publishes a serving certificate named cn (or, with mismatched, a certificate and a
 * key of two different issues) as a new version of the Secret directory. */
static void publish(struct tls_test *t, const char *cn, uint64_t serial, bool mismatched)
{
	struct testcert_issue_opts opts = { .common_name = cn, .serial = serial };
	char *cert = NULL, *key = NULL, *other_cert = NULL, *other_key = NULL;

	assert_int_equal(testcert_issue_pem(t->ca, &opts, &cert, &key), 0);
	if (mismatched) {
		assert_int_equal(testcert_issue_pem(t->ca, &opts, &other_cert, &other_key), 0);
		free(key);
		key = other_key;
		free(other_cert);
	}
	struct secretdir_file files[] = {
		{ "tls.crt", cert, strlen(cert) },
		{ "tls.key", key, strlen(key) },
	};
	assert_int_equal(secretdir_write(t->secret, files, 2), 0);
	free(cert);
	free(key);
}

static int setup(void **state)
{
	struct tls_test *t = calloc(1, sizeof(*t));
	struct http_server_opts opts = {
		.listen = "127.0.0.1:0",
		.tls_reload_interval_ms = 50,
		.timeout_ms = 1500,
	};

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_http_tls.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->secret, sizeof(t->secret), "%s/secret", t->dir);
	snprintf(t->cert, sizeof(t->cert), "%s/tls.crt", t->secret);
	snprintf(t->key, sizeof(t->key), "%s/tls.key", t->secret);
	snprintf(t->ca_file, sizeof(t->ca_file), "%s/ca.crt", t->dir);
	if (testcert_ca_new("autotrace test CA", &t->ca) < 0 ||
	    testcert_ca_write(t->ca, t->ca_file) < 0)
		return -1;
	publish(t, "serving-0-cert", 0x1000, false);
	opts.tls_cert_file = t->cert;
	opts.tls_key_file = t->key;
	if (http_fixture_init(&t->f, &opts) < 0)
		return -1;
	t->f.ca_file = t->ca_file;
	if (http_server_route(t->f.server, HTTP_METHOD_GET, "/hello", hello, NULL) < 0 ||
	    http_fixture_start(&t->f) < 0)
		return -1;
	*state = t;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct tls_test *t = *state;

	http_fixture_stop(&t->f);
	testcert_ca_free(t->ca);
	nftw(t->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

/* A request on a new connection; returns the served certificate's subject in r. */
static CURLcode fresh_request(struct tls_test *t, struct http_reply *r)
{
	CURL *curl = curl_easy_init();
	CURLcode rc;

	curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
	rc = http_fixture_request(&t->f, curl, "GET", "/hello", NULL, 0, r);
	curl_easy_cleanup(curl);
	return rc;
}

/* Waits until a new connection is served the certificate with this subject CN and
 * serial number. */
static bool wait_for_certificate(struct tls_test *t, const char *cn, uint64_t serial)
{
	struct http_reply r = { 0 };
	char hex[32];
	bool seen = false;

	snprintf(hex, sizeof(hex), "%" PRIx64, serial);
	for (int i = 0; i < 200 && !seen; i++) {
		if (fresh_request(t, &r) == CURLE_OK && strstr(r.subject, cn) &&
		    strcmp(r.serial, hex) == 0)
			seen = true;
		else
			usleep(25000);
	}
	http_reply_clear(&r);
	return seen;
}

static void https_serves_the_generated_certificate(void **state)
{
	struct tls_test *t = *state;
	struct http_reply r = { 0 };
	struct http_tls_stats stats;
	CURL *curl = curl_easy_init();

	assert_int_equal(http_fixture_request(&t->f, curl, "GET", "/hello", NULL, 0, &r),
			 CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello\n");
	assert_non_null(strstr(r.subject, "serving-0-cert"));
	assert_string_equal(r.serial, "1000");
	assert_int_equal(r.num_connects, 1);
	/* Keep-alive over TLS: no new handshake, so no certificate either. */
	assert_int_equal(http_fixture_request(&t->f, curl, "GET", "/hello", NULL, 0, &r),
			 CURLE_OK);
	assert_int_equal(r.num_connects, 0);
	assert_int_equal(r.status, 200);

	http_server_tls_stats(t->f.server, &stats);
	assert_int_equal(stats.reloads, 0);
	assert_int_equal(stats.reload_errors, 0);
	/* Issued for one day. */
	assert_true(stats.not_after > time(NULL) + 3600 &&
		    stats.not_after < time(NULL) + 2 * 86400);
	http_reply_clear(&r);
	curl_easy_cleanup(curl);
}

/* ---- rotation under load ---- */

struct load {
	struct tls_test *t;
	int stop;
	unsigned requests;
	unsigned failures;
	unsigned new_connections;
	char last_error[256];
};

/* Requests back to back until told to stop (or 60 s): most on one kept-alive
 * connection, every fourth on a new one. */
static void *load_loop(void *arg)
{
	struct load *l = arg;
	struct http_reply r = { 0 };
	CURL *kept = curl_easy_init();
	time_t deadline = time(NULL) + 60;

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE) && time(NULL) < deadline) {
		bool fresh = l->requests % 4 == 3;
		CURLcode rc = fresh ? fresh_request(l->t, &r)
				    : http_fixture_request(&l->t->f, kept, "GET", "/hello", NULL,
							   0, &r);

		l->requests++;
		l->new_connections += fresh;
		if (rc != CURLE_OK || r.status != 200) {
			l->failures++;
			snprintf(l->last_error, sizeof(l->last_error), "curl %d (%s), status %ld",
				 rc, curl_easy_strerror(rc), r.status);
		}
	}
	http_reply_clear(&r);
	curl_easy_cleanup(kept);
	return NULL;
}

static void certificates_rotate_under_load_without_failed_requests(void **state)
{
	struct tls_test *t = *state;
	struct load l = { .t = t };
	struct http_tls_stats stats;
	pthread_t thread;
	unsigned before;
	char cn[32];

	assert_int_equal(pthread_create(&thread, NULL, load_loop, &l), 0);
	for (int i = 1; i <= 5; i++) {
		before = __atomic_load_n(&l.requests, __ATOMIC_RELAXED);
		snprintf(cn, sizeof(cn), "serving-%d-cert", i);
		publish(t, cn, 0x1000 + (uint64_t)i, false);
		assert_true(wait_for_certificate(t, cn, 0x1000 + (uint64_t)i));
		/* Let the load run across the new certificate for a while. */
		for (int w = 0; w < 500 && __atomic_load_n(&l.requests, __ATOMIC_RELAXED) <
						   before + 20;
		     w++)
			usleep(10000);
	}
	__atomic_store_n(&l.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	print_message("# %u requests, %u on new connections, %u failed, across 5 rotations\n",
		      l.requests, l.new_connections, l.failures);
	if (l.failures)
		print_message("# last failure: %s\n", l.last_error);
	assert_int_equal(l.failures, 0);
	assert_true(l.requests >= 100);
	assert_true(l.new_connections >= 25);
	http_server_tls_stats(t->f.server, &stats);
	assert_int_equal(stats.reloads, 5);
	assert_int_equal(stats.reload_errors, 0);
}

static void a_mismatched_pair_keeps_the_old_certificate_and_counts_an_error(void **state)
{
	struct tls_test *t = *state;
	struct http_reply r = { 0 };
	struct http_tls_stats stats = { 0 };

	publish(t, "serving-bad-cert", 0x2000, true);
	for (int i = 0; i < 200 && stats.reload_errors == 0; i++) {
		usleep(10000);
		http_server_tls_stats(t->f.server, &stats);
	}
	assert_int_equal(stats.reload_errors, 1);
	assert_int_equal(stats.reloads, 0);
	assert_int_equal(fresh_request(t, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.subject, "serving-0-cert"));
	assert_string_equal(r.serial, "1000");
	/* The bad files are not retried on every tick. */
	usleep(300000);
	http_server_tls_stats(t->f.server, &stats);
	assert_int_equal(stats.reload_errors, 1);

	/* A good pair afterwards is picked up. */
	publish(t, "serving-good-cert", 0x3000, false);
	assert_true(wait_for_certificate(t, "serving-good-cert", 0x3000));
	http_server_tls_stats(t->f.server, &stats);
	assert_int_equal(stats.reloads, 1);
	assert_int_equal(stats.reload_errors, 1);
	http_reply_clear(&r);
}

static unsigned count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* New connections, finished or cut mid-handshake, leave no descriptor behind; a
 * plain-text client on the TLS port gets nowhere and changes nothing. */
static void connections_leave_no_descriptors_behind(void **state)
{
	struct tls_test *t = *state;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct http_reply r = { 0 };
	unsigned before, after = 0;
	char buf[256];

	addr.sin_port = htons(t->f.port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(fresh_request(t, &r), CURLE_OK);
	usleep(100000);
	before = count_open_fds();
	for (int i = 0; i < 40; i++)
		assert_int_equal(fresh_request(t, &r), CURLE_OK);
	for (int i = 0; i < 20; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
		if (i % 2) {
			static const char plain[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

			assert_int_equal(send(fd, plain, sizeof(plain) - 1, 0), sizeof(plain) - 1);
			/* No HTTP answer comes back in plain text. */
			ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

			buf[n > 0 ? n : 0] = '\0';
			assert_null(strstr(buf, "hello"));
		}
		close(fd);
	}
	for (int i = 0; i < 100; i++) {
		usleep(20000);
		after = count_open_fds();
		if (after <= before)
			break;
	}
	assert_true(after <= before);
	assert_int_equal(fresh_request(t, &r), CURLE_OK);
	assert_int_equal(r.status, 200);
	http_reply_clear(&r);
}

/* A peer that connects and never starts its handshake is closed after the timeout,
 * like one that never sends a request. */
static void a_silent_peer_is_closed_during_the_handshake(void **state)
{
	struct tls_test *t = *state;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct timespec t0, t1;
	double elapsed;
	char c;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	addr.sin_port = htons(t->f.port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(recv(fd, &c, 1, 0) <= 0); /* blocks until the server closes */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(elapsed > 1.0 && elapsed < 5.0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(https_serves_the_generated_certificate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			certificates_rotate_under_load_without_failed_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_mismatched_pair_keeps_the_old_certificate_and_counts_an_error, setup,
			teardown),
		cmocka_unit_test_setup_teardown(connections_leave_no_descriptors_behind, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_silent_peer_is_closed_during_the_handshake, setup,
						teardown),
	};

	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
