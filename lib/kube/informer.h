/* A list+watch cache of one resource, keyed by "namespace/name" ("name" for
 * cluster-scoped objects), with add/update/delete handlers, on an event_base.
 *
 * It lists (paged), then watches from the list's resourceVersion with bookmarks;
 * resumes the watch from the last version it saw when the stream ends or the server
 * goes away (with backoff); relists on 410 Gone and turns the difference between the
 * old cache and the new list into exactly the add/update/delete calls that bring a
 * handler up to date: nothing lost, nothing delivered twice (an object whose
 * resourceVersion did not change gets no call). */
#ifndef AUTOTRACE_KUBE_INFORMER_H
#define AUTOTRACE_KUBE_INFORMER_H

#include <jansson.h>

#include "lib/kube/client.h"
#include "lib/kube/resource.h"

struct kube_informer;

/* Objects are borrowed for the duration of the call. */
struct kube_informer_handlers {
	void (*on_add)(void *ud, const json_t *obj);
	void (*on_update)(void *ud, const json_t *old_obj, const json_t *new_obj);
	void (*on_delete)(void *ud, const json_t *obj);
	void (*on_synced)(void *ud); /* once, after the first complete list */
};

struct kube_informer_opts {
	const struct kube_resource *res;
	const char *ns;              /* NULL: every namespace */
	const char *label_selector;
	const char *field_selector;
	long page_size;              /* default 500 */
	long resync_ms;              /* 0: never; else on_update(obj, obj) for each */
	long watch_timeout_s;        /* default 300, randomised up to 2x as client-go does */
	long backoff_base_ms;        /* default 250 */
	long backoff_max_ms;         /* default 30000 */
	int keep_managed_fields;     /* default: dropped from cached objects */
	/* Optional: called on every object before it is cached or handed to a handler,
	 * to drop what the caller never reads (client-go's SetTransform); it must keep
	 * metadata.name, namespace and resourceVersion. Memory then scales with what is
	 * kept. */
	void (*transform)(void *ud, json_t *obj);
	/* Optional, for many objects of which little is read: the cache keeps, and the
	 * handlers receive, what it returns for each object (a new reference; NULL skips
	 * the object, and an object whose summary turns NULL leaves the cache as a delete)
	 * instead of the object. An event whose summary equals the cached one
	 * is not handed on (counted as a duplicate): handlers hear of what they read.
	 * transform does not run when summarize is set (the summary reads the whole
	 * object). */
	json_t *(*summarize)(void *ud, const json_t *obj);
	struct kube_informer_handlers handlers;
	void *ud;
};

struct kube_informer_stats {
	unsigned long lists;          /* complete lists, the first included */
	unsigned long relists_gone;   /* lists forced by 410 Gone */
	unsigned long watches;        /* watch streams started */
	unsigned long watch_failures; /* streams that ended with an error */
	unsigned long events;         /* watch events applied */
	unsigned long duplicates;     /* events skipped as already seen (or, with a
				       * summarize hook, as changing nothing kept) */
};

/* New informer; copies what `opts` points to. Nothing happens before start. */
int kube_informer_new(struct kube_client *c, struct event_base *base,
		      const struct kube_informer_opts *opts, struct kube_informer **ret_inf);
int kube_informer_start(struct kube_informer *inf);
/* Stops every call and timer; no handler runs afterwards. Not from inside a handler. */
struct kube_informer *kube_informer_free(struct kube_informer *inf);

int kube_informer_has_synced(const struct kube_informer *inf);
/* Borrowed object, or NULL. ns NULL for cluster-scoped resources. */
const json_t *kube_informer_get(const struct kube_informer *inf, const char *ns, const char *name);
size_t kube_informer_count(const struct kube_informer *inf);
/* Calls fn for each cached object (borrowed); fn must not change the informer. */
void kube_informer_foreach(const struct kube_informer *inf,
			   void (*fn)(void *ud, const json_t *obj), void *ud);
/* The last resourceVersion seen (borrowed), or NULL before the first list. */
const char *kube_informer_resource_version(const struct kube_informer *inf);
struct kube_informer_stats kube_informer_stats(const struct kube_informer *inf);
/* Ends the current watch stream as if the server had closed it (tests, and callers
 * that know the connection is stale); the informer resumes from its last version. */
void kube_informer_restart_watch(struct kube_informer *inf);

#endif
