/* The resources beside the config's own, one per id, for spans that name one
 * (otlp_span.resource_id): a node agent's pods share their Instrumentation's exporter,
 * each under its own k8s.* resource. Each entry is reference-counted, so the worker
 * encodes a batch with the ones it took while the agent replaces or removes them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "lib/otlp/exporter_internal.h"

struct shared_resource {
	int refs; /* atomic */
	uint32_t id;
	struct otlp_resource res;
};

static void shared_unref(struct shared_resource *r)
{
	if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(r);
}

/* Index of id in ex->resources, or -1. Under mu. */
static ssize_t find(const struct otlp_exporter *ex, uint32_t id)
{
	for (size_t i = 0; i < ex->n_resources; i++)
		if (ex->resources[i]->id == id)
			return (ssize_t)i;
	return -1;
}

int otlp_exporter_put_resource(struct otlp_exporter *ex, uint32_t id, const struct otlp_resource *res)
{
	struct shared_resource *r, *old = NULL;
	ssize_t at;
	int err = 0;

	if (id == 0 || !res)
		return -EINVAL;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->refs = 1;
	r->id = id;
	memcpy(&r->res, res, sizeof(*res));
	pthread_mutex_lock(&ex->mu);
	at = find(ex, id);
	if (at >= 0) {
		old = ex->resources[at];
		ex->resources[at] = r;
	} else if (ex->n_resources == OTLP_EXPORTER_MAX_RESOURCES) {
		err = -ENOSPC;
	} else {
		if (ex->n_resources == ex->cap_resources) {
			size_t cap = ex->cap_resources ? ex->cap_resources * 2 : 16;
			struct shared_resource **grown =
				reallocarray(ex->resources, cap, sizeof(*grown));

			if (!grown)
				err = -ENOMEM;
			else {
				ex->resources = grown;
				ex->cap_resources = cap;
			}
		}
		if (!err)
			ex->resources[ex->n_resources++] = r;
	}
	pthread_mutex_unlock(&ex->mu);
	if (err)
		free(r);
	shared_unref(old);
	return err;
}

int otlp_exporter_remove_resource(struct otlp_exporter *ex, uint32_t id)
{
	struct shared_resource *old = NULL;
	ssize_t at;

	pthread_mutex_lock(&ex->mu);
	at = find(ex, id);
	if (at >= 0) {
		old = ex->resources[at];
		ex->resources[at] = ex->resources[--ex->n_resources];
	}
	pthread_mutex_unlock(&ex->mu);
	shared_unref(old);
	return at >= 0 ? 0 : -ENOENT;
}

void exporter_resources_free(struct otlp_exporter *ex)
{
	for (size_t i = 0; i < ex->n_resources; i++)
		shared_unref(ex->resources[i]);
	free(ex->resources);
	ex->resources = NULL;
	ex->n_resources = ex->cap_resources = 0;
}

/* The groups of batch[0..n): the config's resource first, then the resources the
 * spans name, each taken with a reference (released by exporter_groups_release). */
int exporter_groups_take(struct otlp_exporter *ex, const struct export_config *cfg, size_t n,
			 struct exporter_groups *ret)
{
	ret->n = 1;
	ret->items[0] = (struct otlp_resource_group){ .id = 0, .res = cfg->resource };
	pthread_mutex_lock(&ex->mu);
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ex->batch[i].resource_id;
		size_t g;
		ssize_t at;

		if (id == 0)
			continue;
		for (g = 1; g < ret->n && ret->items[g].id != id; g++)
			;
		if (g < ret->n || ret->n == EXPORTER_MAX_GROUPS)
			continue; /* known, or no room: the exporter's own resource */
		at = find(ex, id);
		if (at < 0)
			continue; /* removed since (its pod went): the exporter's own */
		__atomic_add_fetch(&ex->resources[at]->refs, 1, __ATOMIC_RELAXED);
		ret->held[ret->n] = ex->resources[at];
		ret->items[ret->n++] = (struct otlp_resource_group){ .id = id, .res = &ex->resources[at]->res };
	}
	pthread_mutex_unlock(&ex->mu);
	return 0;
}

void exporter_groups_release(struct exporter_groups *groups)
{
	for (size_t g = 1; g < groups->n; g++)
		shared_unref(groups->held[g]);
	groups->n = 0;
}
