/* One attempt to send a batch: encoding it (protobuf or JSON, optionally gzip), one
 * POST, and what the answer means in OTLP terms (done, partly rejected, retry). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/log/log.h"
#include "lib/otlp/encode_json.h"
#include "lib/otlp/encode_proto.h"
#include "lib/otlp/exporter_internal.h"
#include "lib/otlp/gzip.h"
#include "lib/otlp/response.h"
#include "lib/otlp/retry.h"

int exporter_encode_batch(struct otlp_exporter *ex, const struct export_config *cfg, size_t n)
{
	int err;

	struct exporter_groups groups;

	ex->body.len = 0;
	exporter_groups_take(ex, cfg, n, &groups);
	if (cfg->protocol == OTLP_PROTOCOL_HTTP_JSON)
		err = otlp_encode_json_groups(groups.items, groups.n, ex->scope_version, ex->batch, n,
					      &ex->body);
	else
		err = otlp_encode_proto_groups(groups.items, groups.n, ex->scope_version, ex->batch,
					       n, &ex->body);
	exporter_groups_release(&groups);
	if (err < 0 || !cfg->gzip)
		return err;
	return otlp_gzip(ex->body.data, ex->body.len, &ex->gz);
}

static void accept_response(struct otlp_exporter *ex, const struct export_config *cfg,
			    const struct otlp_http_response *resp, size_t n)
{
	struct otlp_response parsed;
	uint64_t rejected = 0;

	if (!resp->body_truncated &&
	    otlp_response_parse(resp->body, resp->body_len, cfg->protocol, OTLP_RESPONSE_EXPORT,
				&parsed) == 0 &&
	    parsed.rejected_spans > 0) {
		rejected = (uint64_t)parsed.rejected_spans < n ? (uint64_t)parsed.rejected_spans : n;
		log_debug("otlp", "collector rejected %llu of %zu spans: %s",
			  (unsigned long long)rejected, n, parsed.message);
	}
	counter_add(&ex->c.exported, n - rejected);
	counter_add(&ex->c.dropped[OTLP_DROP_REJECTED], rejected);
	counter_add(&ex->c.requests[rejected ? OTLP_REQUEST_PARTIAL_SUCCESS : OTLP_REQUEST_SUCCESS], 1);
}

/* What the health report and the log say of a failed request; "" after a success. */
static void set_last_error(struct otlp_exporter *ex, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_last_error(struct otlp_exporter *ex, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&ex->mu);
	va_start(ap, fmt);
	vsnprintf(ex->last_error, sizeof(ex->last_error), fmt, ap);
	va_end(ap);
	ex->last_error_time = (int64_t)time(NULL);
	pthread_mutex_unlock(&ex->mu);
}

/* The transport's error without the time it took ("Failed to connect to h port p
 * after 3 ms: ..."): the health report is rewritten when the text changes, and a
 * collector down the same way must read the same at every retry. */
static void transport_error_text(const char *err, char *buf, size_t size)
{
	const char *after = strstr(err, " after ");
	size_t n = 0;

	if (after) {
		const char *p = after + 7;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p > after + 7 && strncmp(p, " ms", 3) == 0) {
			n = (size_t)(after - err);
			snprintf(buf, size, "%.*s%s", (int)n, err, p + 3);
			return;
		}
	}
	snprintf(buf, size, "%s", err);
}

static void log_refusal(struct otlp_exporter *ex, const struct export_config *cfg,
			const struct otlp_http_response *resp)
{
	struct otlp_response parsed;
	char msg[OTLP_RESPONSE_MESSAGE_MAX];

	if (otlp_response_parse(resp->body, resp->body_len, cfg->protocol, OTLP_RESPONSE_STATUS,
				&parsed) == 0 && parsed.message[0])
		snprintf(msg, sizeof(msg), "%s", parsed.message);
	else
		otlp_response_copy_message(msg, (const char *)resp->body, resp->body_len);
	set_last_error(ex, "HTTP %ld%s%.150s", resp->status, msg[0] ? ": " : "", msg);
	log_debug("otlp", "POST %s: HTTP %ld: %s", cfg->url, resp->status, msg);
}

enum attempt_outcome exporter_attempt(struct otlp_exporter *ex, const struct export_config *cfg,
				      size_t n, uint64_t *ret_retry_after_ms, bool *ret_has_retry_after)
{
	struct otlp_http_response resp;
	struct otlp_http_request req = {
		.url = cfg->url,
		.content_type = otlp_protocol_content_type(cfg->protocol),
		.gzip = cfg->gzip,
		.headers = (const char *const *)cfg->header_lines,
		.n_headers = cfg->n_headers,
		.body = cfg->gzip ? ex->gz.data : ex->body.data,
		.len = cfg->gzip ? ex->gz.len : ex->body.len,
		.timeout_ms = cfg->timeout_ms,
		.ca_file = cfg->ca_file,
		.cert_file = cfg->cert_file,
		.key_file = cfg->key_file,
		.insecure_skip_verify = cfg->insecure_skip_verify,
		.abort_at_ns = &ex->stop_deadline_ns,
	};
	uint64_t t0 = now_ns();
	int err;

	err = otlp_http_post(ex->http, &req, &resp);
	exporter_record_latency(ex, now_ns() - t0);
	*ret_has_retry_after = false;
	if (err < 0) {
		char why[sizeof(resp.error)];

		transport_error_text(resp.error, why, sizeof(why));
		set_last_error(ex, "%.190s", why[0] ? why : "no response");
		log_debug("otlp", "POST %s: %s", cfg->url, resp.error);
		counter_add(&ex->c.requests[OTLP_REQUEST_RETRYABLE_ERROR], 1);
		return ATTEMPT_RETRY;
	}
	if (resp.status >= 200 && resp.status < 300) {
		set_last_error(ex, "%s", "");
		accept_response(ex, cfg, &resp, n);
		return ATTEMPT_DONE;
	}
	log_refusal(ex, cfg, &resp);
	if (otlp_http_status_retryable(resp.status)) {
		counter_add(&ex->c.requests[OTLP_REQUEST_RETRYABLE_ERROR], 1);
		if (resp.has_retry_after &&
		    otlp_retry_after_parse(resp.retry_after, time(NULL), ret_retry_after_ms) == 0)
			*ret_has_retry_after = true;
		return ATTEMPT_RETRY;
	}
	counter_add(&ex->c.requests[OTLP_REQUEST_PERMANENT_ERROR], 1);
	counter_add(&ex->c.dropped[OTLP_DROP_REJECTED], n);
	return ATTEMPT_DONE;
}
