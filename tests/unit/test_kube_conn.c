/* lib/kube/conn and the client's retry, against a scripted TLS peer on loopback: a
 * thread that answers each request with the bytes and pauses a test gives it, so the
 * cases the API server rarely shows can be forced: a body in many chunks, a connection
 * closed while it sat idle, a malformed answer, a handshake that never ends, a stall.
 * Under ASan, so the frees from inside callbacks are checked too. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/kube/api.h"
#include "lib/kube/conn.h"
#include "lib/kube/tls.h"
#include "tests/support/testcert.h"

#define MAX_PIECES 8
#define MAX_ANSWERS 4

/* What the peer sends for one request: pieces with a pause before each. */
struct answer {
	const char *piece[MAX_PIECES];
	int pause_ms[MAX_PIECES];
	int close_after; /* close the connection once sent */
};

struct peer {
	int listen_fd;
	unsigned short port;
	pthread_t thread;
	SSL_CTX *ctx;
	int no_handshake;                /* accept TCP, never speak TLS */
	struct answer answers[MAX_ANSWERS];
	int n_answers;
	int accepted;                    /* connections */
	int requests;                    /* requests read */
	char dir[64];
	struct kube_config *cfg;         /* pointing at the peer, trusting its CA */
};

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Reads one request (headers, then Content-Length bytes). 0 at EOF or error. */
static int read_request(SSL *ssl)
{
	char buf[8192];
	size_t used = 0;
	char *end;

	while (!(end = memmem(buf, used, "\r\n\r\n", 4))) {
		int n = SSL_read(ssl, buf + used, (int)(sizeof(buf) - used));
		if (n <= 0 || (used += (size_t)n) == sizeof(buf))
			return 0;
	}
	char *cl = strcasestr(buf, "Content-Length:");
	long want = cl && cl < end ? strtol(cl + 15, NULL, 10) : 0;
	long have = (long)(used - (size_t)(end + 4 - buf));
	while (have < want) {
		int n = SSL_read(ssl, buf, sizeof(buf));
		if (n <= 0)
			return 0;
		have += n;
	}
	return 1;
}

static void *serve(void *arg)
{
	struct peer *p = arg;

	for (;;) {
		int fd = accept(p->listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		__atomic_add_fetch(&p->accepted, 1, __ATOMIC_SEQ_CST);
		if (p->no_handshake) {
			sleep_ms(1500);
			close(fd);
			continue;
		}
		SSL *ssl = SSL_new(p->ctx);
		SSL_set_fd(ssl, fd);
		int open = SSL_accept(ssl) == 1;
		while (open && read_request(ssl)) {
			int k = __atomic_fetch_add(&p->requests, 1, __ATOMIC_SEQ_CST);
			const struct answer *a = &p->answers[k < p->n_answers ? k : p->n_answers - 1];

			for (int i = 0; i < MAX_PIECES && a->piece[i]; i++) {
				if (a->pause_ms[i])
					sleep_ms(a->pause_ms[i]);
				SSL_write(ssl, a->piece[i], (int)strlen(a->piece[i]));
			}
			if (a->close_after)
				open = 0;
		}
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(fd);
	}
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 65536);
	size_t n = f && buf ? fread(buf, 1, 65535, f) : 0;

	if (f)
		fclose(f);
	*ret_len = n;
	return buf;
}

static int peer_setup(void **state)
{
	struct peer *p = calloc(1, sizeof(*p));
	struct testcert_ca *ca = NULL;
	char ca_path[128], crt[128], key[128];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	assert_non_null(p);
	snprintf(p->dir, sizeof(p->dir), "/tmp/test-kube-conn-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(ca_path, sizeof(ca_path), "%s/ca.crt", p->dir);
	snprintf(crt, sizeof(crt), "%s/tls.crt", p->dir);
	snprintf(key, sizeof(key), "%s/tls.key", p->dir);
	assert_int_equal(testcert_ca_new("kube-conn-test", &ca), 0);
	assert_int_equal(testcert_ca_write(ca, ca_path), 0);
	assert_int_equal(testcert_issue(ca, NULL, crt, key), 0);
	testcert_ca_free(ca);

	p->ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate_chain_file(p->ctx, crt), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(p->ctx, key, SSL_FILETYPE_PEM), 1);
	p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p->listen_fd, 8), 0);
	getsockname(p->listen_fd, (struct sockaddr *)&a, &al);
	p->port = ntohs(a.sin_port);

	p->cfg = calloc(1, sizeof(*p->cfg));
	assert_non_null(p->cfg);
	assert_true(asprintf(&p->cfg->server, "https://127.0.0.1:%u", p->port) > 0);
	p->cfg->ca_pem = (unsigned char *)slurp(ca_path, &p->cfg->ca_pem_len);
	p->cfg->namespace = strdup("default");
	*state = p;
	return 0;
}

static void peer_start(struct peer *p)
{
	assert_int_equal(pthread_create(&p->thread, NULL, serve, p), 0);
}

static int peer_teardown(void **state)
{
	struct peer *p = *state;

	shutdown(p->listen_fd, SHUT_RDWR); /* accept() returns: the thread ends */
	close(p->listen_fd);
	if (p->thread)
		pthread_join(p->thread, NULL);
	SSL_CTX_free(p->ctx);
	kube_config_free(p->cfg);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", p->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", p->dir);
	free(p);
	return 0;
}

/* ---- the client side ---- */

struct seen {
	char body[4096];
	size_t len;
	int pieces;
	int done, rc;
	long code;
	struct kube_error err;
	int refuse_after;            /* on_body returns -ECANCELED from this piece on */
	struct kube_conn **free_on;  /* kube_conn_free(*free_on) from on_body / on_done */
	int free_in_body;
};

static int on_body(void *ud, long code, const char *data, size_t len, struct kube_error *err)
{
	struct seen *s = ud;

	s->pieces++;
	if (s->len + len < sizeof(s->body)) {
		memcpy(s->body + s->len, data, len);
		s->len += len;
	}
	if (s->free_in_body) {
		kube_conn_free(*s->free_on);
		*s->free_on = NULL;
		return 0;
	}
	if (s->refuse_after && s->pieces >= s->refuse_after)
		return kube_error_set(err, KUBE_ERR_DECODE, -ECANCELED, "refused by the test");
	return 0;
}

static void on_done(void *ud, int rc, long code, const struct kube_error *err)
{
	struct seen *s = ud;

	s->done++;
	s->rc = rc;
	s->code = code;
	if (err)
		s->err = *err;
	if (s->free_on) {
		kube_conn_free(*s->free_on);
		*s->free_on = NULL;
	}
}

static const struct kube_conn_ops ops = { .on_body = on_body, .on_done = on_done };

struct rig {
	struct event_base *base;
	struct kube_tls *tls;
	struct kube_conn *conn;
};

static void rig_open(struct rig *r, struct peer *p)
{
	r->base = event_base_new();
	assert_non_null(r->base);
	assert_int_equal(kube_tls_new(p->cfg, &r->tls, NULL), 0);
	assert_int_equal(kube_conn_new(r->base, r->tls, "127.0.0.1", p->port, &r->conn, NULL), 0);
}

static void rig_close(struct rig *r)
{
	kube_conn_free(r->conn);
	/* Let a deferred free run before the base goes. */
	event_base_loop(r->base, EVLOOP_NONBLOCK);
	event_base_free(r->base);
	kube_tls_free(r->tls);
}

static void send_get(struct rig *r, struct seen *s, long timeout_ms)
{
	static const char *const headers[] = { "Host", "127.0.0.1", NULL };
	struct kube_conn_request req = { .method = EVHTTP_REQ_GET, .path = "/x", .headers = headers,
					 .timeout_ms = timeout_ms, .connect_timeout_ms = 1000,
					 .max_body = 1 << 20 };

	assert_int_equal(kube_conn_send(r->conn, &req, &ops, s, NULL), 0);
}

/* Runs the loop until s is done or `ms` have passed; 1 when done. */
static int run_until_done(struct rig *r, struct seen *s, int ms)
{
	struct timeval tv = { 0, 10000 };

	for (int waited = 0; !s->done && waited < ms; waited += 10) {
		event_base_loopexit(r->base, &tv);
		event_base_dispatch(r->base);
	}
	return s->done;
}

static void a_chunked_body_arrives_whole_and_the_connection_is_kept(void **state)
{
	struct peer *p = *state;
	p->answers[0] = (struct answer){
		.piece = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			   "5\r\nhello\r\n", "1\r\n \r\n", "5\r\nworld\r\n", "0\r\n\r\n" },
		.pause_ms = { 0, 20, 20, 20, 20 },
	};
	p->answers[1] = (struct answer){
		.piece = { "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n", "{}" },
	};
	p->n_answers = 2;
	peer_start(p);
	struct rig r;
	rig_open(&r, p);

	struct seen s = { 0 };
	send_get(&r, &s, 5000);
	assert_true(run_until_done(&r, &s, 5000));
	assert_int_equal(s.rc, 0);
	assert_int_equal(s.code, 200);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.len, 11);
	assert_memory_equal(s.body, "hello world", 11);
	assert_true(kube_conn_reusable(r.conn));

	/* The second answer comes on the same connection; a 404 is an answer, not a failure. */
	struct seen s2 = { 0 };
	send_get(&r, &s2, 5000);
	assert_true(run_until_done(&r, &s2, 5000));
	assert_int_equal(s2.rc, 0);
	assert_int_equal(s2.code, 404);
	assert_true(kube_conn_was_reused(r.conn));
	assert_int_equal(__atomic_load_n(&p->accepted, __ATOMIC_SEQ_CST), 1);
	rig_close(&r);
}

static void a_refusal_in_on_body_ends_the_exchange_once(void **state)
{
	struct peer *p = *state;
	p->answers[0] = (struct answer){
		.piece = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3\r\none\r\n",
			   "3\r\ntwo\r\n", "5\r\nthree\r\n", "0\r\n\r\n" },
		.pause_ms = { 0, 10, 10, 10, 10 },
	};
	p->n_answers = 1;
	peer_start(p);
	struct rig r;
	rig_open(&r, p);

	struct seen s = { .refuse_after = 2 };
	send_get(&r, &s, 5000);
	assert_true(run_until_done(&r, &s, 5000));
	run_until_done(&r, &(struct seen){ 0 }, 200); /* nothing more may arrive */
	assert_int_equal(s.done, 1);
	assert_int_equal(s.rc, -ECANCELED);
	assert_int_equal(s.err.kind, KUBE_ERR_DECODE);
	assert_int_equal(s.pieces, 2);
	assert_false(kube_conn_reusable(r.conn));
	rig_close(&r);
}

static void freeing_the_connection_from_inside_its_callbacks_is_safe(void **state)
{
	struct peer *p = *state;
	p->answers[0] = (struct answer){
		.piece = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3\r\none\r\n",
			   "3\r\ntwo\r\n", "0\r\n\r\n" },
		.pause_ms = { 0, 10, 10, 10 },
	};
	p->n_answers = 1;
	peer_start(p);
	struct rig r;

	/* From on_body: no on_done afterwards. */
	rig_open(&r, p);
	struct seen s = { .free_on = &r.conn, .free_in_body = 1 };
	send_get(&r, &s, 5000);
	run_until_done(&r, &s, 500);
	assert_int_equal(s.pieces, 1);
	assert_int_equal(s.done, 0);
	assert_null(r.conn);
	rig_close(&r);

	/* From on_done. */
	rig_open(&r, p);
	struct seen s2 = { .free_on = &r.conn };
	send_get(&r, &s2, 5000);
	assert_true(run_until_done(&r, &s2, 5000));
	assert_int_equal(s2.rc, 0);
	assert_null(r.conn);
	rig_close(&r);
}

static void malformed_answers_and_stalls_are_errors(void **state)
{
	struct peer *p = *state;
	p->answers[0] = (struct answer){ .piece = { "SPDY/9 200 OK\r\nfoo\r\n\r\n" } };
	p->answers[1] = (struct answer){ .piece = { "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
						    "partial" } };
	p->n_answers = 2;
	peer_start(p);
	struct rig r;

	rig_open(&r, p);
	struct seen s = { 0 };
	send_get(&r, &s, 5000);
	assert_true(run_until_done(&r, &s, 5000));
	assert_true(s.rc == -EIO || s.rc == -EBADMSG);
	assert_int_equal(s.err.kind, KUBE_ERR_TRANSPORT);
	rig_close(&r);

	/* Headers, part of the body, then nothing: the deadline ends it. */
	rig_open(&r, p);
	struct seen s2 = { 0 };
	send_get(&r, &s2, 300);
	assert_true(run_until_done(&r, &s2, 5000));
	assert_int_equal(s2.rc, -ETIMEDOUT);
	assert_int_equal(s2.err.kind, KUBE_ERR_TIMEOUT);
	rig_close(&r);
}

static void a_handshake_that_never_ends_times_out_a_stream(void **state)
{
	struct peer *p = *state;
	p->no_handshake = 1;
	peer_start(p);
	struct rig r;
	rig_open(&r, p);

	struct seen s = { 0 };
	send_get(&r, &s, -1); /* a stream: only the connect timeout (1 s) bounds it */
	assert_true(run_until_done(&r, &s, 5000));
	assert_int_equal(s.rc, -ETIMEDOUT);
	rig_close(&r);
}

static void an_idle_connection_closed_by_the_server_is_replaced(void **state)
{
	struct peer *p = *state;
	p->answers[0] = (struct answer){
		.piece = { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" },
		.close_after = 1, /* as a server does with an idle connection, without saying so */
	};
	p->n_answers = 1;
	peer_start(p);
	struct kube_client *c = NULL;
	struct kube_response resp = { 0 };
	struct kube_error err;

	assert_int_equal(kube_client_new(p->cfg, NULL, &c, NULL), 0);
	p->cfg = NULL; /* the client took it */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(kube_client_do(c, &(struct kube_request){ .path = "/x" }, &resp, &err), 0);
		assert_string_equal(resp.body, "{}");
		kube_response_release(&resp);
		sleep_ms(50); /* the close lands while the connection is idle */
	}
	assert_int_equal(__atomic_load_n(&p->accepted, __ATOMIC_SEQ_CST), 3);
	kube_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_chunked_body_arrives_whole_and_the_connection_is_kept,
						peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(a_refusal_in_on_body_ends_the_exchange_once, peer_setup,
						peer_teardown),
		cmocka_unit_test_setup_teardown(freeing_the_connection_from_inside_its_callbacks_is_safe,
						peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(malformed_answers_and_stalls_are_errors, peer_setup,
						peer_teardown),
		cmocka_unit_test_setup_teardown(a_handshake_that_never_ends_times_out_a_stream,
						peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(an_idle_connection_closed_by_the_server_is_replaced,
						peer_setup, peer_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
