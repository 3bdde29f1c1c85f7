#include "lib/kube/watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kube/api.h"

#define DEFAULT_MAX_LINE (16u << 20)
#define ERROR_BODY_MAX 65536

struct kube_watch {
	struct kube_conn *conn;
	struct watch_framer framer;
	struct kube_watch_opts opts;
	int in_callback;   /* inside on_data: the framer is still running */
	int stopped;       /* kube_watch_stop was called from inside on_data */
	char *error_body;  /* a non-2xx answer's body, kept for its Status */
	size_t error_len;
	struct kube_error *feed_err; /* on_data's, while the framer runs */
};

static void watch_free(struct kube_watch *w)
{
	kube_conn_free(w->conn);
	watch_framer_release(&w->framer);
	free(w->error_body);
	free(w);
}

/* Status of an ERROR event → errno; 410 (Expired/Gone) becomes -ESTALE. */
static int end_with_status(struct kube_error *err, json_t *status)
{
	json_int_t code = json_integer_value(json_object_get(status, "code"));
	char *text = json_dumps(status, JSON_COMPACT);
	int rc = kube_error_from_http(err, code ? (long)code : 500, text,
				      text ? strlen(text) : 0);
	free(text);
	return rc;
}

static int on_line(void *ud, const char *line, size_t len)
{
	struct kube_watch *w = ud;
	enum watch_event_type type;
	json_t *obj = NULL;

	if (watch_event_decode(line, len, &type, &obj) < 0)
		return kube_error_set(w->feed_err, KUBE_ERR_DECODE, -EBADMSG,
				      "watch event is not a Kubernetes event (%zu bytes)", len);
	int rc = 0;
	if (type == WATCH_ERROR)
		rc = end_with_status(w->feed_err, obj);
	else
		w->opts.on_event(w->opts.ud, type, obj);
	json_decref(obj);
	return w->stopped ? -ECANCELED : rc;
}

static int on_data(void *ud, long code, const char *data, size_t n, struct kube_error *err)
{
	struct kube_watch *w = ud;
	int rc;

	if (code < 200 || code > 299) {
		/* Keep the start of an error answer for its Status. */
		size_t take = n < ERROR_BODY_MAX - w->error_len ? n : ERROR_BODY_MAX - w->error_len;
		char *p = realloc(w->error_body, w->error_len + take + 1);
		if (!p)
			return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
		w->error_body = p;
		memcpy(p + w->error_len, data, take);
		w->error_len += take;
		p[w->error_len] = '\0';
		return 0;
	}
	w->in_callback = 1;
	w->feed_err = err;
	rc = watch_framer_feed(&w->framer, data, n, on_line, w);
	w->in_callback = 0;
	if (w->stopped) {
		watch_free(w); /* stopped from inside on_event: no callback from now on */
		return -ECANCELED;
	}
	if (rc == -EMSGSIZE)
		kube_error_set(err, KUBE_ERR_DECODE, rc, "watch event over %zu bytes",
			       w->opts.max_line);
	else if (rc == -ENOMEM)
		kube_error_set(err, KUBE_ERR_LOCAL, rc, "out of memory");
	return rc; /* < 0 ends the stream: on_done follows with it */
}

static void on_done(void *ud, int rc, long code, const struct kube_error *err)
{
	struct kube_watch *w = ud;
	struct kube_error e = { 0 };

	if (rc == 0 && (code < 200 || code > 299))
		rc = kube_error_from_http(&e, code, w->error_body, w->error_len);
	else if (rc < 0 && err)
		e = *err;
	w->opts.on_end(w->opts.ud, rc, rc ? &e : NULL);
	watch_free(w);
}

static const struct kube_conn_ops watch_ops = {
	.on_body = on_data,
	.on_done = on_done,
};

int kube_watch_start(struct kube_client *c, struct event_base *base,
		     const struct kube_watch_opts *opts, struct kube_watch **ret_watch,
		     struct kube_error *err)
{
	struct kube_watch *w;
	char path[2048], query[2048], extra[128];
	struct kube_list_opts lo = {
		.label_selector = opts->label_selector,
		.field_selector = opts->field_selector,
		.resource_version = opts->resource_version,
	};
	int rc;

	if (!opts->on_event || !opts->on_end)
		return kube_error_set(err, KUBE_ERR_LOCAL, -EINVAL, "watch needs on_event and on_end");
	struct kube_ref coll = opts->ref;
	coll.name = NULL;
	coll.subresource = NULL;
	rc = kube_ref_path(&coll, path, sizeof(path));
	if (rc < 0)
		return kube_error_set(err, KUBE_ERR_LOCAL, rc, "bad watch reference");
	snprintf(extra, sizeof(extra), "%s%stimeoutSeconds=%ld",
		 opts->allow_bookmarks ? "allowWatchBookmarks=true" : "",
		 opts->allow_bookmarks ? "&" : "", opts->timeout_seconds > 0 ? opts->timeout_seconds : 1800);
	rc = kube_list_query(&lo, 1, extra, query, sizeof(query));
	if (rc < 0 || strlen(path) + strlen(query) >= sizeof(path))
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENAMETOOLONG, "watch query too long");
	strncat(path, query, sizeof(path) - strlen(path) - 1);

	w = calloc(1, sizeof(*w));
	if (!w)
		return kube_error_set(err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
	w->opts = *opts;
	if (!w->opts.max_line)
		w->opts.max_line = DEFAULT_MAX_LINE;
	watch_framer_init(&w->framer, w->opts.max_line);
	/* The selectors and version are in the path now; the copies must not dangle. */
	w->opts.label_selector = w->opts.field_selector = w->opts.resource_version = NULL;
	w->opts.ref.ns = NULL;

	struct kube_request req = { .path = path, .timeout_ms = -1 };
	rc = kube_client_open(c, base, &w->conn, err);
	if (rc == 0)
		rc = kube_client_send(c, w->conn, &req, &watch_ops, w, err);
	if (rc < 0)
		goto fail;
	*ret_watch = w;
	return 0;
fail:
	watch_free(w);
	return rc;
}

void kube_watch_stop(struct kube_watch *w)
{
	if (!w)
		return;
	if (w->in_callback) {
		w->stopped = 1; /* on_data frees it once the framer is done */
		return;
	}
	watch_free(w);
}
