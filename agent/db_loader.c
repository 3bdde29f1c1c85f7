/* Skeleton lifecycle for bpf/db_client.bpf.c: open -> rodata -> reuse the shared maps
 * -> load; then one attachment (the starts, and the ends at entries or RETs) a process. */
#include "agent/db_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bpf_percpu.h"
#include "agent/uprobe_link.h"
#include "bpf/http_server.h"
#include "db_client.skel.h"

/* queryDC's and execDC's starts and RETs, the entry ends, two points per statement path. */
#define MAX_DB_PROBES (2 * (1 + DB_PROBES_MAX_RETS) + 1 + DB_PROBES_MAX_RELEASE + 2 * 2)

struct db_loader {
	struct db_client_bpf *skel;
	int multi;
	int ncpus;
};

struct db_attachment {
	size_t n;
	struct uprobe_link links[MAX_DB_PROBES];
};

/* Returns a new loader; owns its skeleton. */
int db_loader_new(const struct db_loader_shared *shared, struct db_loader **ret)
{
	struct db_loader *dl = calloc(1, sizeof(*dl));
	struct bpf_program *prog;
	int r;

	if (!dl)
		return -ENOMEM;
	dl->multi = shared->multi;
	dl->ncpus = libbpf_num_possible_cpus();
	if (dl->ncpus <= 0) {
		r = dl->ncpus ? dl->ncpus : -EINVAL;
		goto fail;
	}
	dl->skel = db_client_bpf__open();
	if (!dl->skel) {
		r = -errno ? -errno : -ENOMEM;
		goto fail;
	}
	dl->skel->rodata->inflight_mask = shared->inflight_mask;
	dl->skel->rodata->ringbuf_wakeup_bytes = shared->wakeup_bytes;
	r = bpf_map__reuse_fd(dl->skel->maps.spans, shared->spans_fd);
	if (!r)
		r = bpf_map__reuse_fd(dl->skel->maps.inflight, shared->inflight_fd);
	if (!r)
		r = bpf_map__reuse_fd(dl->skel->maps.inflight_sampled, shared->inflight_sampled_fd);
	if (!r)
		r = bpf_map__reuse_fd(dl->skel->maps.sampler, shared->sampler_fd);
	if (!r)
		r = bpf_map__reuse_fd(dl->skel->maps.ctx_slots, shared->ctx_slots_fd);
	if (r)
		goto fail;
	if (dl->multi) {
		bpf_object__for_each_program(prog, dl->skel->obj)
			bpf_program__set_expected_attach_type(
				prog, (enum bpf_attach_type)UPROBE_LINK_MULTI_ATTACH_TYPE);
	}
	r = db_client_bpf__load(dl->skel);
	if (r)
		goto fail;
	*ret = dl;
	return 0;
fail:
	db_loader_free(dl);
	return r < 0 ? r : -EINVAL;
}

struct db_loader *db_loader_free(struct db_loader *dl)
{
	if (!dl)
		return NULL;
	db_client_bpf__destroy(dl->skel);
	free(dl);
	return NULL;
}

int db_loader_set_binary(struct db_loader *dl, uint32_t slot, const struct db_binary *bin)
{
	if (slot >= HS_MAX_BINARIES)
		return -EINVAL;
	if (bpf_map__update_elem(dl->skel->maps.db_binaries, &slot, sizeof(slot), bin,
				 sizeof(*bin), BPF_ANY))
		return -errno;
	return 0;
}

static int attach_one(const struct db_loader *dl, struct bpf_program *prog,
		      const struct db_attach_spec *spec, uint64_t offset, struct db_attachment *a)
{
	/* The server probes' cookie: pid, sampler slot, offsets slot. */
	uint64_t cookie = HS_COOKIE(spec->pid, spec->sampler_slot, spec->offsets_slot);
	int r;

	if (a->n >= MAX_DB_PROBES)
		return -ENOSPC;
	r = uprobe_link_attach(prog, dl->multi, spec->binary_path, offset, cookie, spec->pid,
			       &a->links[a->n]);
	if (r)
		return r;
	a->n++;
	return 0;
}

static int attach_fn(const struct db_loader *dl, const struct db_probe_fn *fn,
		     struct bpf_program *start, struct bpf_program *end,
		     const struct db_attach_spec *spec, struct db_attachment *a)
{
	int r;

	if (!fn->present)
		return 0;
	/* The ends first: a start never waits for an end that is not there yet. */
	for (size_t i = 0; !spec->plan->release_ends && i < fn->n_rets; i++) {
		r = attach_one(dl, end, spec, fn->rets[i].file_offset, a);
		if (r)
			return r;
	}
	return attach_one(dl, start, spec, fn->start.file_offset, a);
}

/* A statement path's start, then its enter: a start finds the enter's entry. */
static int attach_stmt_fn(const struct db_loader *dl, const struct db_stmt_fn *fn,
			  struct bpf_program *start, const struct db_attach_spec *spec,
			  struct db_attachment *a)
{
	int r;

	if (!fn->present)
		return 0;
	r = attach_one(dl, start, spec, fn->start.file_offset, a);
	if (!r)
		r = attach_one(dl, dl->skel->progs.db_stmt_enter, spec, fn->enter.file_offset, a);
	return r;
}

/* Returns a new attachment: every probe or none. */
int db_loader_attach(struct db_loader *dl, const struct db_attach_spec *spec,
		     struct db_attachment **ret)
{
	struct db_attachment *a;
	int r;

	if (spec->pid <= 0 || !spec->binary_path || !spec->plan ||
	    spec->offsets_slot >= HS_MAX_BINARIES || spec->sampler_slot >= HS_MAX_SAMPLERS)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = 0;
	if (spec->plan->release_ends) {
		const struct db_probe_plan *p = spec->plan;

		if (p->query.present || p->stmt_query.present)
			r = attach_one(dl, dl->skel->progs.db_rows_ready, spec,
				       p->rows_ready.file_offset, a);
		for (size_t i = 0; !r && i < p->n_released; i++)
			r = attach_one(dl, dl->skel->progs.db_released, spec,
				       p->released[i].file_offset, a);
	}
	if (!r)
		r = attach_fn(dl, &spec->plan->query, dl->skel->progs.db_query_start,
		      dl->skel->progs.db_query_end, spec, a);
	if (!r)
		r = attach_fn(dl, &spec->plan->exec, dl->skel->progs.db_exec_start,
			      dl->skel->progs.db_exec_end, spec, a);
	/* Statements only with the entry ends (db_probes_plan leaves them out else). */
	if (!r && spec->plan->release_ends)
		r = attach_stmt_fn(dl, &spec->plan->stmt_query, dl->skel->progs.db_stmt_query_start,
				   spec, a);
	if (!r && spec->plan->release_ends)
		r = attach_stmt_fn(dl, &spec->plan->stmt_exec, dl->skel->progs.db_stmt_exec_start,
				   spec, a);
	if (r) {
		db_attachment_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

struct db_attachment *db_attachment_free(struct db_attachment *a)
{
	if (!a)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		uprobe_link_detach(&a->links[i]);
	free(a);
	return NULL;
}

size_t db_attachment_probes(const struct db_attachment *a)
{
	return a ? a->n : 0;
}

int db_loader_read_stats(const struct db_loader *dl, uint64_t *ret)
{
	return bpf_percpu_counters(dl->skel->maps.db_stats, dl->ncpus, DB_STAT_COUNT, ret);
}

struct red_walk {
	db_red_fn fn;
	void *ud;
};

static void red_one(void *ud, const void *key, const void *value)
{
	const struct red_walk *w = ud;

	w->fn(w->ud, key, value);
}

int db_loader_red_foreach(const struct db_loader *dl, db_red_fn fn, void *ud)
{
	struct red_walk w = { fn, ud };

	return bpf_percpu_hash_foreach(dl->skel->maps.db_red, dl->ncpus,
				       sizeof(struct db_red_key), sizeof(struct db_red_value), red_one,
				       &w);
}
