/* The webhook's view of the cluster: a list+watch cache of Namespaces and one of
 * Instrumentations (lib/kube/informer.h), and the webhook_lookup of webhook/decide.h
 * answered from them, so that admitting a pod never waits for the API server.
 *
 * Until a cache has listed once (an Instrumentation cache also when the CRD is not
 * installed yet: its informer keeps retrying), its lookups fail with -EAGAIN, and the
 * webhook admits opted-in pods unchanged with a warning instead of guessing.
 * Instrumentations are indexed by namespace, so "true" costs one small list per pod
 * however many Instrumentations the cluster holds.
 *
 * Errors: 0 or a negative errno. Threads: everything runs on the event_base's thread,
 * lookups included (the admission handler runs there). */
#ifndef AUTOTRACE_WEBHOOK_CACHE_H
#define AUTOTRACE_WEBHOOK_CACHE_H

#include <stddef.h>

#include "lib/kube/client.h"
#include "lib/kube/informer.h"
#include "webhook/decide.h"

enum webhook_cache_kind {
	WEBHOOK_CACHE_NAMESPACES,
	WEBHOOK_CACHE_INSTRUMENTATIONS,
	WEBHOOK_CACHE_KINDS
};

struct webhook_cache_opts {
	/* Longest wait between two list attempts; 0: 30000 for namespaces, 10000 for
	 * Instrumentations (a CRD installed after the webhook is picked up soon). */
	long backoff_max_ms[WEBHOOK_CACHE_KINDS];
	/* Called once when both caches have listed (the webhook is ready); may be NULL. */
	void (*on_ready)(void *ud);
	void *ud;
};

struct webhook_cache_state {
	int synced;
	size_t objects;
	struct kube_informer_stats stats;
};

struct webhook_cache;

/* A new cache reading through c on base (both borrowed, must outlive it); opts may be
 * NULL. Nothing is requested before webhook_cache_start(). */
int webhook_cache_new(struct kube_client *c, struct event_base *base,
		      const struct webhook_cache_opts *opts, struct webhook_cache **ret_cache);
int webhook_cache_start(struct webhook_cache *cache);
/* Stops both informers; accepts NULL; returns NULL. */
struct webhook_cache *webhook_cache_free(struct webhook_cache *cache);

/* The lookup for webhook_admit(); it borrows cache, which must outlive its use. */
void webhook_cache_lookup(struct webhook_cache *cache, struct webhook_lookup *ret_lookup);

/* Both caches have listed once. */
int webhook_cache_ready(const struct webhook_cache *cache);
void webhook_cache_state(const struct webhook_cache *cache, enum webhook_cache_kind kind,
			 struct webhook_cache_state *ret_state);
/* "namespaces", "instrumentations": the resource label of the cache metrics. */
const char *webhook_cache_kind_name(enum webhook_cache_kind kind);

#endif
