/* A work queue of string keys ("namespace/name") for reconcile loops, on an
 * event_base, with client-go's semantics: a key queued several times is processed
 * once; a key added while it is being processed is processed again afterwards (never
 * twice at once); a failed key comes back after a per-key exponential backoff; a key
 * can be delayed. The queue calls `process` for one key per loop turn, so other
 * events (HTTP, watches) interleave. */
#ifndef AUTOTRACE_KUBE_WORKQUEUE_H
#define AUTOTRACE_KUBE_WORKQUEUE_H

#include <event2/event.h>
#include <stddef.h>

struct workqueue;

/* 0: done with the key (its failure count is forgotten); negative: retry it later
 * with backoff. */
typedef int (*workqueue_process_fn)(void *ud, const char *key);

struct workqueue_opts {
	long base_delay_ms;  /* first retry; default 5 */
	long max_delay_ms;   /* retry cap; default 60000 */
	size_t max_keys;     /* bound on distinct keys held; default 100000 */
};

int workqueue_new(struct event_base *base, const struct workqueue_opts *opts,
		  workqueue_process_fn process, void *ud, struct workqueue **ret_q);
struct workqueue *workqueue_free(struct workqueue *q);

/* Queues `key` (copied). -ENOSPC past max_keys (counted in stats.dropped). */
int workqueue_add(struct workqueue *q, const char *key);
/* Queues `key` after `delay_ms`; an earlier pending time for the key wins. */
int workqueue_add_after(struct workqueue *q, const char *key, long delay_ms);
/* Queues `key` after its backoff, which doubles at each call until forgotten. */
int workqueue_add_rate_limited(struct workqueue *q, const char *key);
void workqueue_forget(struct workqueue *q, const char *key);
/* The failures counted for `key` since it was last forgotten. */
unsigned workqueue_failures(const struct workqueue *q, const char *key);

struct workqueue_stats {
	size_t depth;          /* keys ready to process */
	size_t waiting;        /* keys delayed */
	unsigned long adds;
	unsigned long processed;
	unsigned long retries;
	unsigned long dropped;
};
struct workqueue_stats workqueue_stats(const struct workqueue *q);

#endif
