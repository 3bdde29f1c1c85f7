/* Keeps a server TLS context in step with its certificate and key files.
 *
 * A Kubernetes Secret volume is updated by writing a new timestamped directory and
 * swapping the "..data" symlink to it, so the files' resolved identity (device, inode,
 * size, mtime, ctime, all through the symlinks) changes at once. A libevent timer
 * compares that identity every interval; on a change it builds a new SSL_CTX from the
 * files and uses it for new connections only: connections already open keep the
 * context they started with (each SSL holds a reference to it), so no request fails
 * during the swap. A pair that does not load or whose halves do not match keeps the
 * old context and counts a reload error; the same files are not retried until they
 * change again. Files that change while being read are retried on the next tick
 * without counting an error. */
#ifndef AUTOTRACE_HTTP_TLS_RELOAD_H
#define AUTOTRACE_HTTP_TLS_RELOAD_H

#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

struct http_tls_reloader;

struct http_tls_reload_opts {
	const char *cert_file;
	const char *key_file;
	/* How often the files are checked; 0 means 1000 ms. */
	unsigned interval_ms;
};

struct http_tls_stats {
	/* Successful reloads after the first load. */
	uint64_t reloads;
	/* Changed files that could not be loaded (the old pair stayed in use). */
	uint64_t reload_errors;
	/* The serving certificate's notAfter, Unix seconds (0 when unknown). */
	int64_t not_after;
};

/* Loads the pair once (failing with http_tls_context_new's errors when it is bad) and
 * starts the timer on base. Returns a new reloader in *ret_reloader. */
int http_tls_reloader_new(struct event_base *base, const struct http_tls_reload_opts *opts,
			  struct http_tls_reloader **ret_reloader);
/* Stops the timer and drops the reloader's reference to its context; accepts NULL;
 * returns NULL. */
struct http_tls_reloader *http_tls_reloader_free(struct http_tls_reloader *reloader);

/* The context for the next connection (borrowed: SSL_new() takes its own reference). */
SSL_CTX *http_tls_reloader_ctx(struct http_tls_reloader *reloader);

/* Checks the files now, as the timer does: 1 when a new context was loaded, 0 when
 * nothing changed (or the files are mid-swap), a negative errno when the changed files
 * are bad (counted as a reload error). */
int http_tls_reloader_check(struct http_tls_reloader *reloader);

/* A consistent-enough snapshot of the counters; readable from any thread. */
void http_tls_reloader_stats(struct http_tls_reloader *reloader,
			     struct http_tls_stats *ret_stats);

/* Stops checking (the current context stays in use). */
void http_tls_reloader_stop(struct http_tls_reloader *reloader);

#endif
