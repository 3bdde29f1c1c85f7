#include "lib/kube/watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kube/api.h"

#define DEFAULT_MAX_LINE (16u << 20)
#define ERROR_BODY_MAX 65536

struct kube_watch {
	struct curl_loop *loop;
	CURL *easy;
	struct curl_slist *headers;
	struct watch_framer framer;
	struct kube_watch_opts opts;
	int in_callback;   /* inside the write callback: removal must wait for done */
	int stopped;       /* kube_watch_stop was called */
	int end_rc;        /* why we aborted the stream ourselves, 0 if we did not */
	struct kube_error end_err;
	char *error_body;  /* a non-2xx answer's body, kept for its Status */
	size_t error_len;
	long http_code;
};

static void watch_free(struct kube_watch *w)
{
	kube_client_easy_free(w->easy, w->headers);
	watch_framer_release(&w->framer);
	free(w->error_body);
	free(w);
}

/* Status of an ERROR event → errno; 410 (Expired/Gone) becomes -ESTALE. */
static int end_with_status(struct kube_watch *w, json_t *status)
{
	json_int_t code = json_integer_value(json_object_get(status, "code"));
	char *text = json_dumps(status, JSON_COMPACT);
	int rc = kube_error_from_http(&w->end_err, code ? (long)code : 500, text,
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
		return kube_error_set(&w->end_err, KUBE_ERR_DECODE, -EBADMSG,
				      "watch event is not a Kubernetes event (%zu bytes)", len);
	int rc = 0;
	if (type == WATCH_ERROR)
		rc = end_with_status(w, obj);
	else
		w->opts.on_event(w->opts.ud, type, obj);
	json_decref(obj);
	return w->stopped ? -ECANCELED : rc;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct kube_watch *w = ud;
	size_t n = size * nmemb;
	int rc;

	if (w->stopped)
		return 0;
	if (!w->http_code)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->http_code);
	if (w->http_code < 200 || w->http_code > 299) {
		/* Keep the start of an error answer for its Status. */
		size_t room = ERROR_BODY_MAX - w->error_len;
		size_t take = n < room ? n : room;
		char *p = realloc(w->error_body, w->error_len + take + 1);
		if (!p)
			return 0;
		w->error_body = p;
		memcpy(p + w->error_len, ptr, take);
		w->error_len += take;
		p[w->error_len] = '\0';
		return n;
	}
	w->in_callback = 1;
	rc = watch_framer_feed(&w->framer, ptr, n, on_line, w);
	w->in_callback = 0;
	if (rc == 0)
		return n;
	if (rc == -EMSGSIZE)
		kube_error_set(&w->end_err, KUBE_ERR_DECODE, rc, "watch event over %zu bytes",
			       w->opts.max_line);
	else if (rc == -ENOMEM)
		kube_error_set(&w->end_err, KUBE_ERR_LOCAL, rc, "out of memory");
	w->end_rc = rc;
	return 0; /* aborts the transfer; done follows */
}

static void on_done(void *ud, CURL *easy, CURLcode code)
{
	struct kube_watch *w = ud;
	struct kube_error err = { 0 };
	int rc;

	if (w->stopped) {
		watch_free(w);
		return;
	}
	if (w->end_rc) {
		rc = w->end_rc;
		err = w->end_err;
	} else if (code != CURLE_OK) {
		rc = kube_error_from_curl(&err, code, NULL);
	} else if (w->http_code && (w->http_code < 200 || w->http_code > 299)) {
		rc = kube_error_from_http(&err, w->http_code, w->error_body, w->error_len);
	} else {
		rc = 0;
	}
	w->opts.on_end(w->opts.ud, rc, rc ? &err : NULL);
	watch_free(w);
}

int kube_watch_start(struct kube_client *c, struct curl_loop *loop,
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
	w->loop = loop;
	w->opts = *opts;
	if (!w->opts.max_line)
		w->opts.max_line = DEFAULT_MAX_LINE;
	watch_framer_init(&w->framer, w->opts.max_line);
	/* The selectors and version are in the path now; the copies must not dangle. */
	w->opts.label_selector = w->opts.field_selector = w->opts.resource_version = NULL;
	w->opts.ref.ns = NULL;

	struct kube_request req = { .path = path, .timeout_ms = -1 };
	rc = kube_client_easy_new(c, &req, on_data, w, &w->easy, &w->headers, err);
	if (rc < 0)
		goto fail;
	rc = curl_loop_add(loop, w->easy, on_done, w);
	if (rc < 0) {
		kube_error_set(err, KUBE_ERR_LOCAL, rc, "cannot start the watch transfer");
		goto fail;
	}
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
	w->stopped = 1;
	if (w->in_callback)
		return; /* on_data returns 0, the transfer aborts, on_done frees */
	curl_loop_remove(w->loop, w->easy);
	watch_free(w);
}
