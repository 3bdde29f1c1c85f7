/* One Kubernetes watch stream on an event_base: events are framed and decoded as they
 * arrive, and the stream's end is reported once with why it ended. Reconnecting,
 * resuming and relisting are the informer's job (lib/kube/informer.h).
 * Error convention: see lib/kube/error.h. */
#ifndef AUTOTRACE_KUBE_WATCH_H
#define AUTOTRACE_KUBE_WATCH_H

#include <jansson.h>

#include "lib/kube/client.h"
#include "lib/kube/resource.h"
#include "lib/kube/watch_frame.h"

struct kube_watch;

struct kube_watch_opts {
	struct kube_ref ref;          /* resource and namespace (NULL: all) */
	const char *label_selector;
	const char *field_selector;
	const char *resource_version; /* continue after this version */
	int allow_bookmarks;
	long timeout_seconds;         /* the server ends the stream after this; 0: server default */
	size_t max_line;              /* longest event accepted; default 16 MiB */
	/* An event; `obj` is borrowed for the call. ERROR events are not delivered here:
	 * they end the stream through on_end. */
	void (*on_event)(void *ud, enum watch_event_type type, json_t *obj);
	/* The stream is over and the watch freed. rc: 0 when the server closed it
	 * normally, -ESTALE for 410 Gone (resourceVersion too old: relist), another
	 * negative errno with `err` filled otherwise. */
	void (*on_end)(void *ud, int rc, const struct kube_error *err);
	void *ud;
};

int kube_watch_start(struct kube_client *c, struct event_base *base,
		     const struct kube_watch_opts *opts, struct kube_watch **ret_watch,
		     struct kube_error *err);
/* Ends the watch with no further callback. Safe from inside on_event. Not after on_end. */
void kube_watch_stop(struct kube_watch *w);

#endif
