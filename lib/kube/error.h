/* Errors of the Kubernetes layer.
 *
 * Every lib/kube call that can fail returns 0 or a negative errno, and when the caller
 * passes a `struct kube_error *`, fills it with what went wrong: the transport failure
 * (timeout, TLS, refused connection) or the HTTP code with the API's `Status` reason
 * and message, which the official C client throws away. The errno is chosen so that
 * callers can branch without looking inside:
 *   -ENOENT NotFound (404)           -EEXIST AlreadyExists (409)
 *   -EBUSY  Conflict (409)           -ESTALE Gone / Expired (410)
 *   -EACCES Unauthorized/Forbidden   -EINVAL Invalid/BadRequest (400, 422)
 *   -EAGAIN TooManyRequests, 5xx     -ETIMEDOUT timeout
 *   -ECONNREFUSED refused or unreachable    -EPROTO TLS failure
 *   -EIO    any other failure        -EBADMSG a response that is not what the API sends
 */
#ifndef AUTOTRACE_KUBE_ERROR_H
#define AUTOTRACE_KUBE_ERROR_H

#include <stddef.h>

enum kube_error_kind {
	KUBE_ERR_NONE = 0,
	KUBE_ERR_API,       /* the server answered with a non-2xx status */
	KUBE_ERR_TIMEOUT,   /* no answer in time */
	KUBE_ERR_TLS,       /* handshake or verification failed */
	KUBE_ERR_CONNECT,   /* refused, unreachable, name not resolved */
	KUBE_ERR_TRANSPORT, /* any other transport failure */
	KUBE_ERR_DECODE,    /* a 2xx body we could not decode */
	KUBE_ERR_LOCAL,     /* bad arguments or out of memory, before any request */
};

struct kube_error {
	enum kube_error_kind kind;
	long http_code;      /* 0 when no HTTP answer came back */
	char reason[64];     /* Status.reason, e.g. "NotFound", "Conflict" */
	char message[512];   /* Status.message, or the transport's description */
};

void kube_error_clear(struct kube_error *err);

/* Fills `err` (may be NULL) from an HTTP answer whose body may be a Status object,
 * and returns the negative errno for it. A body that is not a Status still gives the
 * code and the reason Kubernetes uses for that code. */
int kube_error_from_http(struct kube_error *err, long http_code, const char *body, size_t len);

/* Fills `err` (may be NULL) for a transport failure; returns the negative errno. */
int kube_error_set(struct kube_error *err, enum kube_error_kind kind, int neg_errno,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The errno lib/kube returns for an HTTP code with a Status reason (may be NULL). */
int kube_errno_for_http(long http_code, const char *reason);

const char *kube_error_kind_name(enum kube_error_kind kind);

/* "HTTP 404 NotFound: configmaps \"x\" not found" or "timeout: ..." into buf. */
const char *kube_error_format(const struct kube_error *err, char *buf, size_t len);

#endif
