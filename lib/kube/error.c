#include "lib/kube/error.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void kube_error_clear(struct kube_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

/* The reason Kubernetes gives each code when a body carries none (apimachinery
 * pkg/api/errors: reasonForCode). */
static const char *reason_for_code(long code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 406: return "NotAcceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "RequestEntityTooLarge";
	case 415: return "UnsupportedMediaType";
	case 422: return "Invalid";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 503: return "ServiceUnavailable";
	case 504: return "Timeout";
	default: return "Unknown";
	}
}

int kube_errno_for_http(long code, const char *reason)
{
	if (code == 404)
		return -ENOENT;
	if (code == 409)
		return reason && strcmp(reason, "AlreadyExists") == 0 ? -EEXIST : -EBUSY;
	if (code == 410)
		return -ESTALE;
	if (code == 401 || code == 403)
		return -EACCES;
	if (code == 400 || code == 422)
		return -EINVAL;
	if (code == 429 || code >= 500)
		return -EAGAIN;
	return -EIO;
}

int kube_error_from_http(struct kube_error *err, long code, const char *body, size_t len)
{
	char reason[64] = "";
	char message[512] = "";
	json_t *status = NULL;

	if (body && len > 0)
		status = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(status) &&
	    json_is_string(json_object_get(status, "kind")) &&
	    strcmp(json_string_value(json_object_get(status, "kind")), "Status") == 0) {
		const char *r = json_string_value(json_object_get(status, "reason"));
		const char *m = json_string_value(json_object_get(status, "message"));
		if (r)
			snprintf(reason, sizeof(reason), "%s", r);
		if (m)
			snprintf(message, sizeof(message), "%s", m);
	} else if (body && len > 0) {
		/* Not a Status: keep the start of what came back, printable only. */
		size_t n = len < sizeof(message) - 1 ? len : sizeof(message) - 1;
		for (size_t i = 0; i < n; i++)
			message[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
		message[n] = '\0';
	}
	json_decref(status);
	if (reason[0] == '\0')
		snprintf(reason, sizeof(reason), "%s", reason_for_code(code));

	if (err) {
		err->kind = KUBE_ERR_API;
		err->http_code = code;
		memcpy(err->reason, reason, sizeof(err->reason));
		memcpy(err->message, message, sizeof(err->message));
	}
	return kube_errno_for_http(code, reason);
}

int kube_error_set(struct kube_error *err, enum kube_error_kind kind, int neg_errno,
		   const char *fmt, ...)
{
	va_list ap;

	if (err) {
		memset(err, 0, sizeof(*err));
		err->kind = kind;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return neg_errno;
}

const char *kube_error_kind_name(enum kube_error_kind kind)
{
	switch (kind) {
	case KUBE_ERR_NONE: return "none";
	case KUBE_ERR_API: return "api";
	case KUBE_ERR_TIMEOUT: return "timeout";
	case KUBE_ERR_TLS: return "tls";
	case KUBE_ERR_CONNECT: return "connect";
	case KUBE_ERR_TRANSPORT: return "transport";
	case KUBE_ERR_DECODE: return "decode";
	case KUBE_ERR_LOCAL: return "local";
	}
	return "unknown";
}

const char *kube_error_format(const struct kube_error *err, char *buf, size_t len)
{
	if (!err || err->kind == KUBE_ERR_NONE)
		snprintf(buf, len, "no error");
	else if (err->kind == KUBE_ERR_API)
		snprintf(buf, len, "HTTP %ld %s: %s", err->http_code, err->reason, err->message);
	else
		snprintf(buf, len, "%s: %s", kube_error_kind_name(err->kind), err->message);
	return buf;
}
