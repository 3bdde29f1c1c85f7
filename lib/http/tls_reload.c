#include "lib/http/tls_reload.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/fs/file_identity.h"
#include "lib/http/tls_context.h"
#include "lib/log/log.h"

#define DEFAULT_INTERVAL_MS 1000

struct pair_identity {
	struct file_identity cert;
	struct file_identity key;
};

struct http_tls_reloader {
	char *cert_file;
	char *key_file;
	struct event *timer;
	SSL_CTX *ctx;
	/* The identity last tried, whether it loaded or not. */
	struct pair_identity tried;
	_Atomic uint64_t reloads;
	_Atomic uint64_t reload_errors;
	_Atomic int64_t not_after;
};

static void pair_identity_read(const struct http_tls_reloader *reloader,
			       struct pair_identity *ret_id)
{
	file_identity_read(reloader->cert_file, &ret_id->cert);
	file_identity_read(reloader->key_file, &ret_id->key);
}

static bool pair_identity_equal(const struct pair_identity *a, const struct pair_identity *b)
{
	return file_identity_equal(&a->cert, &b->cert) && file_identity_equal(&a->key, &b->key);
}

static void install_ctx(struct http_tls_reloader *reloader, SSL_CTX *ctx)
{
	SSL_CTX_free(reloader->ctx);
	reloader->ctx = ctx;
	atomic_store(&reloader->not_after, http_tls_context_not_after(ctx));
}

int http_tls_reloader_check(struct http_tls_reloader *reloader)
{
	struct pair_identity before, after;
	SSL_CTX *ctx = NULL;
	int r;

	pair_identity_read(reloader, &before);
	if (pair_identity_equal(&before, &reloader->tried))
		return 0;
	r = http_tls_context_new(reloader->cert_file, reloader->key_file, &ctx);
	pair_identity_read(reloader, &after);
	if (!pair_identity_equal(&before, &after)) {
		/* Swapped while being read: what was loaded may mix two pairs. */
		SSL_CTX_free(ctx);
		return 0;
	}
	reloader->tried = before;
	if (r < 0) {
		atomic_fetch_add(&reloader->reload_errors, 1);
		log_debug("http", "TLS reload of %s failed: %s", reloader->cert_file, strerror(-r));
		return r;
	}
	install_ctx(reloader, ctx);
	atomic_fetch_add(&reloader->reloads, 1);
	log_debug("http", "TLS certificate %s reloaded", reloader->cert_file);
	return 1;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	http_tls_reloader_check(arg);
}

int http_tls_reloader_new(struct event_base *base, const struct http_tls_reload_opts *opts,
			  struct http_tls_reloader **ret_reloader)
{
	unsigned interval_ms = opts->interval_ms ? opts->interval_ms : DEFAULT_INTERVAL_MS;
	struct timeval tv = { .tv_sec = interval_ms / 1000,
			      .tv_usec = (interval_ms % 1000) * 1000 };
	struct http_tls_reloader *reloader;
	SSL_CTX *ctx = NULL;
	int r;

	if (!base || !opts->cert_file || !opts->key_file)
		return -EINVAL;
	reloader = calloc(1, sizeof(*reloader));
	if (!reloader)
		return -ENOMEM;
	reloader->cert_file = strdup(opts->cert_file);
	reloader->key_file = strdup(opts->key_file);
	if (!reloader->cert_file || !reloader->key_file) {
		r = -ENOMEM;
		goto fail;
	}
	pair_identity_read(reloader, &reloader->tried);
	r = http_tls_context_new(reloader->cert_file, reloader->key_file, &ctx);
	if (r < 0)
		goto fail;
	install_ctx(reloader, ctx);
	reloader->timer = event_new(base, -1, EV_PERSIST, on_timer, reloader);
	if (!reloader->timer || event_add(reloader->timer, &tv) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	*ret_reloader = reloader;
	return 0;
fail:
	http_tls_reloader_free(reloader);
	return r;
}

void http_tls_reloader_stop(struct http_tls_reloader *reloader)
{
	if (reloader && reloader->timer)
		event_del(reloader->timer);
}

struct http_tls_reloader *http_tls_reloader_free(struct http_tls_reloader *reloader)
{
	if (!reloader)
		return NULL;
	if (reloader->timer)
		event_free(reloader->timer);
	SSL_CTX_free(reloader->ctx);
	free(reloader->cert_file);
	free(reloader->key_file);
	free(reloader);
	return NULL;
}

SSL_CTX *http_tls_reloader_ctx(struct http_tls_reloader *reloader)
{
	return reloader->ctx;
}

void http_tls_reloader_stats(struct http_tls_reloader *reloader,
			     struct http_tls_stats *ret_stats)
{
	ret_stats->reloads = atomic_load(&reloader->reloads);
	ret_stats->reload_errors = atomic_load(&reloader->reload_errors);
	ret_stats->not_after = atomic_load(&reloader->not_after);
}
