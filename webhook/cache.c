#include "webhook/cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/instrumentation/optin.h"
#include "lib/kube/api.h"
#include "lib/kube/resource.h"

struct webhook_cache {
	struct kube_informer *inf[WEBHOOK_CACHE_KINDS];
	/* namespace -> { name -> Instrumentation } (references shared with the informer's
	 * cache; cached objects are replaced, never changed in place). */
	json_t *by_ns;
	struct webhook_cache_opts opts;
	int ready_told;
};

const char *webhook_cache_kind_name(enum webhook_cache_kind kind)
{
	return kind == WEBHOOK_CACHE_NAMESPACES ? "namespaces" : "instrumentations";
}

/* ---- the per-namespace index of Instrumentations --------------------------------- */

static void index_put(struct webhook_cache *cache, const json_t *obj)
{
	const char *ns = kube_obj_namespace(obj), *name = kube_obj_name(obj);
	json_t *names;

	if (!ns || !name)
		return;
	names = json_object_get(cache->by_ns, ns);
	if (!names) {
		names = json_object();
		if (!names || json_object_set_new(cache->by_ns, ns, names) < 0)
			return; /* out of memory: list_instrumentations reports it below */
	}
	/* The informer keeps obj alive and unchanged; a const cast to share it. */
	json_object_set(names, name, (json_t *)obj);
}

static void index_del(struct webhook_cache *cache, const json_t *obj)
{
	const char *ns = kube_obj_namespace(obj), *name = kube_obj_name(obj);
	json_t *names = ns ? json_object_get(cache->by_ns, ns) : NULL;

	if (!names || !name)
		return;
	json_object_del(names, name);
	if (json_object_size(names) == 0)
		json_object_del(cache->by_ns, ns);
}

static void inst_add(void *ud, const json_t *obj)
{
	index_put(ud, obj);
}

static void inst_update(void *ud, const json_t *old_obj, const json_t *new_obj)
{
	index_put(ud, new_obj);
}

static void inst_delete(void *ud, const json_t *obj)
{
	index_del(ud, obj);
}

static void tell_ready(struct webhook_cache *cache)
{
	if (cache->ready_told || !webhook_cache_ready(cache))
		return;
	cache->ready_told = 1;
	if (cache->opts.on_ready)
		cache->opts.on_ready(cache->opts.ud);
}

static void on_synced(void *ud)
{
	tell_ready(ud);
}

/* ---- the lookup ------------------------------------------------------------------ */

static int namespace_annotations(void *ud, const char *ns, json_t **ret_annotations)
{
	struct webhook_cache *cache = ud;
	const json_t *packed;
	json_t *ann;

	if (!kube_informer_has_synced(cache->inf[WEBHOOK_CACHE_NAMESPACES]))
		return -EAGAIN;
	/* The cache holds, packed, the opt-in annotations of the namespaces that have some. */
	packed = kube_informer_get(cache->inf[WEBHOOK_CACHE_NAMESPACES], NULL, ns);
	if (!packed)
		return -ENOENT;
	ann = optin_namespace_unpack(packed);
	if (!ann)
		return -ENOMEM;
	*ret_annotations = ann;
	return 0;
}

/* *ret_items: a new array (new references to the cached objects). */
static int list_instrumentations(void *ud, const char *ns, json_t **ret_items)
{
	struct webhook_cache *cache = ud;
	json_t *items, *obj;
	const char *name;

	if (!kube_informer_has_synced(cache->inf[WEBHOOK_CACHE_INSTRUMENTATIONS]))
		return -EAGAIN;
	items = json_array();
	if (!items)
		return -ENOMEM;
	json_object_foreach(json_object_get(cache->by_ns, ns), name, obj) {
		if (json_array_append(items, obj) < 0) {
			json_decref(items);
			return -ENOMEM;
		}
	}
	*ret_items = items;
	return 0;
}

static int get_instrumentation(void *ud, const char *ns, const char *name,
			       json_t **ret_instrumentation)
{
	struct webhook_cache *cache = ud;
	const json_t *obj;

	if (!kube_informer_has_synced(cache->inf[WEBHOOK_CACHE_INSTRUMENTATIONS]))
		return -EAGAIN;
	obj = kube_informer_get(cache->inf[WEBHOOK_CACHE_INSTRUMENTATIONS], ns, name);
	if (!obj)
		return -ENOENT;
	*ret_instrumentation = json_incref((json_t *)obj);
	return 0;
}

void webhook_cache_lookup(struct webhook_cache *cache, struct webhook_lookup *ret_lookup)
{
	*ret_lookup = (struct webhook_lookup){
		.userdata = cache,
		.namespace_annotations = namespace_annotations,
		.list_instrumentations = list_instrumentations,
		.get_instrumentation = get_instrumentation,
	};
}

/* Only what opt-in reads is kept, and only of namespaces that carry one of the opt-in
 * annotations: a fleet's thousands of other namespaces cost nothing, and a namespace
 * that is not in the cache reads as one without annotations (as it is). */
static json_t *namespace_summary(void *ud, const json_t *ns)
{
	return optin_namespace_pack(ns);
}

/* ---- lifecycle ------------------------------------------------------------------- */

int webhook_cache_new(struct kube_client *c, struct event_base *base,
		      const struct webhook_cache_opts *opts, struct webhook_cache **ret_cache)
{
	static const long default_backoff_max[WEBHOOK_CACHE_KINDS] = { 30000, 10000 };
	static const struct kube_resource *const res[WEBHOOK_CACHE_KINDS] = {
		&KUBE_NAMESPACES, &KUBE_INSTRUMENTATIONS
	};
	struct webhook_cache *cache;
	int r = -ENOMEM;

	if (!c || !base)
		return -EINVAL;
	cache = calloc(1, sizeof(*cache));
	if (!cache)
		return -ENOMEM;
	if (opts)
		cache->opts = *opts;
	cache->by_ns = json_object();
	if (!cache->by_ns)
		goto fail;
	for (int k = 0; k < WEBHOOK_CACHE_KINDS; k++) {
		struct kube_informer_opts io = {
			.res = res[k],
			.backoff_max_ms = cache->opts.backoff_max_ms[k] > 0
						  ? cache->opts.backoff_max_ms[k]
						  : default_backoff_max[k],
			.handlers = { .on_synced = on_synced },
			.ud = cache,
		};

		if (k == WEBHOOK_CACHE_NAMESPACES)
			io.summarize = namespace_summary;
		if (k == WEBHOOK_CACHE_INSTRUMENTATIONS) {
			io.handlers.on_add = inst_add;
			io.handlers.on_update = inst_update;
			io.handlers.on_delete = inst_delete;
		}
		r = kube_informer_new(c, base, &io, &cache->inf[k]);
		if (r < 0)
			goto fail;
	}
	*ret_cache = cache;
	return 0;
fail:
	webhook_cache_free(cache);
	return r;
}

int webhook_cache_start(struct webhook_cache *cache)
{
	int r;

	for (int k = 0; k < WEBHOOK_CACHE_KINDS; k++)
		if ((r = kube_informer_start(cache->inf[k])) < 0)
			return r;
	return 0;
}

struct webhook_cache *webhook_cache_free(struct webhook_cache *cache)
{
	if (!cache)
		return NULL;
	for (int k = 0; k < WEBHOOK_CACHE_KINDS; k++)
		kube_informer_free(cache->inf[k]);
	json_decref(cache->by_ns);
	free(cache);
	return NULL;
}

int webhook_cache_ready(const struct webhook_cache *cache)
{
	for (int k = 0; k < WEBHOOK_CACHE_KINDS; k++)
		if (!kube_informer_has_synced(cache->inf[k]))
			return 0;
	return 1;
}

void webhook_cache_state(const struct webhook_cache *cache, enum webhook_cache_kind kind,
			 struct webhook_cache_state *ret_state)
{
	const struct kube_informer *inf = cache->inf[kind];

	*ret_state = (struct webhook_cache_state){
		.synced = kube_informer_has_synced(inf),
		.objects = kube_informer_count(inf),
		.stats = kube_informer_stats(inf),
	};
}
