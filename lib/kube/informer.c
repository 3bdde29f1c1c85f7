#include "lib/kube/informer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/kube/api.h"
#include "lib/kube/backoff.h"
#include "lib/kube/watch.h"
#include "lib/log/log.h"

struct kube_informer {
	struct kube_client *client;
	struct event_base *base;
	struct kube_informer_opts opts; /* strings below are our copies */
	char *ns, *label_selector, *field_selector;

	json_t *cache;        /* key -> object */
	char *rv;             /* last resourceVersion seen */
	int synced;
	int gone;             /* the running list was forced by 410 */

	json_t *listing;      /* the list being gathered, key -> object */
	char *list_rv;
	struct kube_call *call;
	struct kube_watch *watch;
	struct event *retry_timer;
	struct event *resync_timer;
	enum { NEXT_LIST, NEXT_WATCH } next; /* what the retry timer starts */
	struct backoff backoff;
	uint64_t rng;         /* xorshift state for watch timeouts */
	struct kube_informer_stats stats;
};

static void start_list(struct kube_informer *inf, const char *continue_token);
static void start_watch(struct kube_informer *inf);

static int replace_string(char **dst, const char *src)
{
	char *copy = src ? strdup(src) : NULL;

	if (src && !copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

/* "ns/name" or "name" into buf; 0 or -EINVAL for an object without a name. */
static int object_key(const json_t *obj, char *buf, size_t len)
{
	const char *name = kube_obj_name(obj), *ns = kube_obj_namespace(obj);
	int n;

	if (!name)
		return -EINVAL;
	n = ns ? snprintf(buf, len, "%s/%s", ns, name) : snprintf(buf, len, "%s", name);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

static void schedule(struct kube_informer *inf, int what, long delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	inf->next = what;
	evtimer_add(inf->retry_timer, &tv);
}

static void retry_later(struct kube_informer *inf, int what, int rc, const struct kube_error *err)
{
	long delay = backoff_next_ms(&inf->backoff);
	char buf[768];

	log_debug("informer", "%s %s: %s; retrying in %ld ms", inf->opts.res->plural,
		  what == NEXT_LIST ? "list" : "watch", kube_error_format(err, buf, sizeof(buf)),
		  delay);
	schedule(inf, what, delay);
}

/* managedFields is often the largest part of an object and no handler of ours reads
 * it: dropping it roughly halves the cache (client-go users do the same with a
 * transform). */
static void trim(struct kube_informer *inf, json_t *obj)
{
	if (!inf->opts.keep_managed_fields)
		json_object_del(json_object_get(obj, "metadata"), "managedFields");
	if (inf->opts.transform)
		inf->opts.transform(inf->opts.ud, obj);
}

/* What the cache keeps of obj: a new reference, NULL to skip it. */
static json_t *cached_form(struct kube_informer *inf, json_t *obj)
{
	if (inf->opts.summarize)
		return inf->opts.summarize(inf->opts.ud, obj);
	trim(inf, obj);
	return json_incref(obj);
}

/* Does the cached `now` say what `before` said? The resourceVersion tells for whole
 * objects; summaries have none and are compared. */
static int same_state(const struct kube_informer *inf, const json_t *before, const json_t *now)
{
	const char *a, *b;

	if (inf->opts.summarize)
		return json_equal(before, now);
	a = kube_obj_resource_version(before);
	b = kube_obj_resource_version(now);
	return a && b && strcmp(a, b) == 0;
}

/* --- listing --------------------------------------------------------------------- */

/* The complete list replaces the cache; handlers get the difference. */
static void finish_list(struct kube_informer *inf)
{
	const struct kube_informer_handlers *h = &inf->opts.handlers;
	json_t *old = inf->cache;
	const char *key;
	json_t *obj, *tmp;

	inf->cache = inf->listing;
	inf->listing = NULL;
	free(inf->rv);
	inf->rv = inf->list_rv;
	inf->list_rv = NULL;
	inf->stats.lists++;
	if (inf->gone)
		inf->stats.relists_gone++;
	inf->gone = 0;

	json_object_foreach(inf->cache, key, obj) {
		json_t *prev = json_object_get(old, key);
		if (!prev) {
			if (h->on_add)
				h->on_add(inf->opts.ud, obj);
			continue;
		}
		if (!same_state(inf, prev, obj) && h->on_update)
			h->on_update(inf->opts.ud, prev, obj);
	}
	json_object_foreach_safe(old, tmp, key, obj) {
		if (!json_object_get(inf->cache, key) && h->on_delete)
			h->on_delete(inf->opts.ud, obj);
	}
	json_decref(old);
	if (!inf->synced) {
		inf->synced = 1;
		if (h->on_synced)
			h->on_synced(inf->opts.ud);
	}
	start_watch(inf);
}

static void on_list_page(void *ud, int rc, struct kube_response *resp, const struct kube_error *err)
{
	struct kube_informer *inf = ud;
	json_t *list = NULL, *item;
	size_t i;
	char key[600];

	inf->call = NULL;
	if (rc == -ESTALE) {
		/* The continue token expired: start the list over. */
		json_object_clear(inf->listing);
		start_list(inf, NULL);
		return;
	}
	if (rc < 0)
		goto retry;
	list = json_loadb(resp->body, resp->len, 0, NULL);
	json_t *items = json_object_get(list, "items");
	if (!json_is_array(items)) {
		struct kube_error e;
		kube_error_set(&e, KUBE_ERR_DECODE, -EBADMSG, "list answer has no items");
		json_decref(list);
		retry_later(inf, NEXT_LIST, -EBADMSG, &e);
		return;
	}
	json_array_foreach(items, i, item) {
		json_t *kept;

		if (object_key(item, key, sizeof(key)) < 0)
			continue;
		/* Kept copies are made while the page is alive, so they go into the
		 * allocator's holes rather than on top of the page's memory. */
		kept = cached_form(inf, item);
		if (kept)
			json_object_set_new(inf->listing, key, kept);
	}
	json_t *meta = json_object_get(list, "metadata");
	const char *cont = json_string_value(json_object_get(meta, "continue"));
	const char *lrv = json_string_value(json_object_get(meta, "resourceVersion"));
	if (lrv && replace_string(&inf->list_rv, lrv) < 0)
		goto nomem;
	if (cont && cont[0]) {
		char *c = strdup(cont);
		json_decref(list);
		if (!c)
			goto nomem;
		start_list(inf, c);
		free(c);
		return;
	}
	json_decref(list);
	backoff_reset(&inf->backoff);
	finish_list(inf);
	return;
nomem:
	json_decref(list);
	{
		struct kube_error e;
		kube_error_set(&e, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
		retry_later(inf, NEXT_LIST, -ENOMEM, &e);
	}
	return;
retry:
	retry_later(inf, NEXT_LIST, rc, err);
}

static void start_list(struct kube_informer *inf, const char *continue_token)
{
	struct kube_ref ref = { .res = inf->opts.res, .ns = inf->ns };
	struct kube_list_opts lo = {
		.label_selector = inf->label_selector,
		.field_selector = inf->field_selector,
		.limit = inf->opts.page_size,
		.continue_token = continue_token,
	};
	char path[4096], query[2048];
	struct kube_error err;
	int rc;

	if (!continue_token) {
		json_decref(inf->listing);
		inf->listing = json_object();
		if (!inf->listing) {
			kube_error_set(&err, KUBE_ERR_LOCAL, -ENOMEM, "out of memory");
			retry_later(inf, NEXT_LIST, -ENOMEM, &err);
			return;
		}
	}
	rc = kube_ref_path(&ref, path, sizeof(path));
	if (rc == 0)
		rc = kube_list_query(&lo, 0, NULL, query, sizeof(query));
	if (rc == 0 && strlen(path) + strlen(query) < sizeof(path))
		strncat(path, query, sizeof(path) - strlen(path) - 1);
	struct kube_request req = { .path = path };
	if (rc == 0)
		rc = kube_client_call(inf->client, inf->base, &req, on_list_page, inf, &inf->call);
	if (rc < 0) {
		kube_error_set(&err, KUBE_ERR_LOCAL, rc, "cannot start the list");
		retry_later(inf, NEXT_LIST, rc, &err);
	}
}

/* --- watching -------------------------------------------------------------------- */

static void on_watch_event(void *ud, enum watch_event_type type, json_t *obj)
{
	struct kube_informer *inf = ud;
	const struct kube_informer_handlers *h = &inf->opts.handlers;
	const char *rv = kube_obj_resource_version(obj);
	char key[600];

	if (rv)
		replace_string(&inf->rv, rv);
	if (type == WATCH_BOOKMARK || object_key(obj, key, sizeof(key)) < 0)
		return;
	json_t *kept = cached_form(inf, obj);
	json_t *old = json_object_get(inf->cache, key);
	if (!kept) {
		/* Skipped by the summary: an object that was kept has left what the cache
		 * holds, which its handlers hear as a delete of what they last had. */
		if (!old)
			return;
		type = WATCH_DELETED;
		kept = json_incref(old);
	}
	if (old && type != WATCH_DELETED && same_state(inf, old, kept)) {
		inf->stats.duplicates++;
		json_decref(kept);
		return;
	}
	inf->stats.events++;
	if (type == WATCH_DELETED) {
		if (old) {
			json_incref(old);
			json_object_del(inf->cache, key);
			if (h->on_delete)
				h->on_delete(inf->opts.ud, kept);
			json_decref(old);
		}
		json_decref(kept);
		return;
	}
	json_incref(old); /* keep the old state alive for on_update */
	json_object_set(inf->cache, key, kept);
	if (old && h->on_update)
		h->on_update(inf->opts.ud, old, kept);
	else if (!old && h->on_add)
		h->on_add(inf->opts.ud, kept);
	json_decref(old);
	json_decref(kept);
}

static void on_watch_end(void *ud, int rc, const struct kube_error *err)
{
	struct kube_informer *inf = ud;

	inf->watch = NULL;
	if (rc == 0) {
		backoff_reset(&inf->backoff);
		start_watch(inf);
		return;
	}
	inf->stats.watch_failures++;
	if (rc == -ESTALE) {
		/* Our version is older than what the server keeps: list again. */
		inf->gone = 1;
		start_list(inf, NULL);
		return;
	}
	retry_later(inf, NEXT_WATCH, rc, err);
}

static uint64_t next_random(struct kube_informer *inf)
{
	uint64_t x = inf->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return inf->rng = x;
}

static void start_watch(struct kube_informer *inf)
{
	long t = inf->opts.watch_timeout_s;
	struct kube_watch_opts wo = {
		.ref = { .res = inf->opts.res, .ns = inf->ns },
		.label_selector = inf->label_selector,
		.field_selector = inf->field_selector,
		.resource_version = inf->rv,
		.allow_bookmarks = 1,
		/* Spread reconnects as client-go does: between t and 2t. */
		.timeout_seconds = t + (long)(next_random(inf) % (uint64_t)t),
		.on_event = on_watch_event,
		.on_end = on_watch_end,
		.ud = inf,
	};
	struct kube_error err;
	int rc = kube_watch_start(inf->client, inf->base, &wo, &inf->watch, &err);

	if (rc < 0) {
		retry_later(inf, NEXT_WATCH, rc, &err);
		return;
	}
	inf->stats.watches++;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct kube_informer *inf = arg;

	if (inf->next == NEXT_LIST)
		start_list(inf, NULL);
	else
		start_watch(inf);
}

static void resync_one(void *ud, const json_t *obj)
{
	struct kube_informer *inf = ud;

	inf->opts.handlers.on_update(inf->opts.ud, obj, obj);
}

static void on_resync(evutil_socket_t fd, short what, void *arg)
{
	struct kube_informer *inf = arg;

	if (inf->synced && inf->opts.handlers.on_update)
		kube_informer_foreach(inf, resync_one, inf);
}

/* --- lifecycle ------------------------------------------------------------------- */

int kube_informer_new(struct kube_client *c, struct event_base *base,
		      const struct kube_informer_opts *opts, struct kube_informer **ret_inf)
{
	struct kube_informer *inf;

	if (!opts || !opts->res)
		return -EINVAL;
	inf = calloc(1, sizeof(*inf));
	if (!inf)
		return -ENOMEM;
	inf->client = c;
	inf->base = base;
	inf->opts = *opts;
	if (inf->opts.page_size <= 0)
		inf->opts.page_size = 500;
	if (inf->opts.watch_timeout_s <= 0)
		inf->opts.watch_timeout_s = 300;
	if (inf->opts.backoff_base_ms <= 0)
		inf->opts.backoff_base_ms = 250;
	if (inf->opts.backoff_max_ms <= 0)
		inf->opts.backoff_max_ms = 30000;
	backoff_init(&inf->backoff, inf->opts.backoff_base_ms, inf->opts.backoff_max_ms, 0.5,
		     (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)inf);
	inf->rng = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)inf << 1) ^ 0x2545f4914f6cdd1dull;
	inf->cache = json_object();
	inf->retry_timer = evtimer_new(base, on_retry, inf);
	if (opts->resync_ms > 0)
		inf->resync_timer = event_new(base, -1, EV_PERSIST, on_resync, inf);
	if (!inf->cache || !inf->retry_timer || (opts->resync_ms > 0 && !inf->resync_timer) ||
	    replace_string(&inf->ns, opts->ns) < 0 ||
	    replace_string(&inf->label_selector, opts->label_selector) < 0 ||
	    replace_string(&inf->field_selector, opts->field_selector) < 0) {
		kube_informer_free(inf);
		return -ENOMEM;
	}
	inf->opts.ns = inf->opts.label_selector = inf->opts.field_selector = NULL;
	*ret_inf = inf;
	return 0;
}

int kube_informer_start(struct kube_informer *inf)
{
	if (inf->resync_timer) {
		struct timeval tv = { inf->opts.resync_ms / 1000, (inf->opts.resync_ms % 1000) * 1000 };
		event_add(inf->resync_timer, &tv);
	}
	start_list(inf, NULL);
	return 0;
}

struct kube_informer *kube_informer_free(struct kube_informer *inf)
{
	if (!inf)
		return NULL;
	kube_call_cancel(inf->call);
	kube_watch_stop(inf->watch);
	if (inf->retry_timer)
		event_free(inf->retry_timer);
	if (inf->resync_timer)
		event_free(inf->resync_timer);
	json_decref(inf->cache);
	json_decref(inf->listing);
	free(inf->rv);
	free(inf->list_rv);
	free(inf->ns);
	free(inf->label_selector);
	free(inf->field_selector);
	free(inf);
	return NULL;
}

void kube_informer_restart_watch(struct kube_informer *inf)
{
	if (!inf->watch)
		return;
	kube_watch_stop(inf->watch);
	inf->watch = NULL;
	schedule(inf, NEXT_WATCH, 0);
}

int kube_informer_has_synced(const struct kube_informer *inf)
{
	return inf->synced;
}

const json_t *kube_informer_get(const struct kube_informer *inf, const char *ns, const char *name)
{
	char key[600];
	int n = ns ? snprintf(key, sizeof(key), "%s/%s", ns, name) : snprintf(key, sizeof(key), "%s", name);

	if (n < 0 || (size_t)n >= sizeof(key))
		return NULL;
	return json_object_get(inf->cache, key);
}

size_t kube_informer_count(const struct kube_informer *inf)
{
	return json_object_size(inf->cache);
}

void kube_informer_foreach(const struct kube_informer *inf, void (*fn)(void *ud, const json_t *obj),
			   void *ud)
{
	const char *key;
	json_t *obj;

	json_object_foreach(inf->cache, key, obj)
		fn(ud, obj);
}

const char *kube_informer_resource_version(const struct kube_informer *inf)
{
	return inf->rv;
}

struct kube_informer_stats kube_informer_stats(const struct kube_informer *inf)
{
	return inf->stats;
}
