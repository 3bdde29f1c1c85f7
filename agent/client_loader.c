/* Skeleton lifecycle for bpf/http_client.bpf.c: open -> rodata -> reuse the shared maps
 * -> pick programs -> load; then one attachment (up to four uprobe links) a process. */
#include "agent/client_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/bpf_percpu.h"
#include "agent/uprobe_link.h"
#include "http_client.skel.h"

#define MAX_CLIENT_PROBES 5

struct client_loader {
	struct http_client_bpf *skel;
	struct propagation *prop;
	int multi;
	int ncpus;
};

struct client_attachment {
	size_t n;
	struct uprobe_link links[MAX_CLIENT_PROBES];
};

static int reuse(struct bpf_map *map, int fd)
{
	return bpf_map__reuse_fd(map, fd);
}

/* Returns a new loader; owns its skeleton and the propagation. */
int client_loader_new(const struct client_loader_shared *shared,
		      const struct client_loader_opts *opts, struct client_loader **ret)
{
	struct client_loader *cl = calloc(1, sizeof(*cl));
	int r;

	if (!cl)
		return -ENOMEM;
	cl->multi = shared->multi;
	cl->ncpus = libbpf_num_possible_cpus();
	if (!(opts && opts->no_propagation)) {
		r = propagation_new(opts ? opts->cgroup2_root : NULL, opts ? opts->proc_root : NULL,
				    &cl->prop);
		if (r)
			goto fail;
	}
	cl->skel = http_client_bpf__open();
	if (!cl->skel) {
		r = -errno ? -errno : -ENOMEM;
		goto fail;
	}
	cl->skel->rodata->inflight_mask = shared->inflight_mask;
	cl->skel->rodata->ringbuf_wakeup_bytes = shared->wakeup_bytes;
	cl->skel->rodata->propagate = propagation_active(cl->prop);
	r = reuse(cl->skel->maps.spans, shared->spans_fd);
	if (!r)
		r = reuse(cl->skel->maps.inflight, shared->inflight_fd);
	if (!r)
		r = reuse(cl->skel->maps.inflight_sampled, shared->inflight_sampled_fd);
	if (!r)
		r = reuse(cl->skel->maps.sampler, shared->sampler_fd);
	if (!r)
		r = reuse(cl->skel->maps.ctx_slots, shared->ctx_slots_fd);
	if (!r && propagation_active(cl->prop)) {
		r = reuse(cl->skel->maps.conn_tp, propagation_conn_tp_fd(cl->prop));
		if (!r)
			r = reuse(cl->skel->maps.traced_tgids, propagation_traced_tgids_fd(cl->prop));
	}
	if (r)
		goto fail;
	/* Without propagation the conn probe is never attached: not verified either. */
	bpf_program__set_autoload(cl->skel->progs.client_conn, propagation_active(cl->prop));
	if (cl->multi) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, cl->skel->obj)
			bpf_program__set_expected_attach_type(
				prog, (enum bpf_attach_type)UPROBE_LINK_MULTI_ATTACH_TYPE);
	}
	r = http_client_bpf__load(cl->skel);
	if (r)
		goto fail;
	*ret = cl;
	return 0;
fail:
	client_loader_free(cl);
	return r < 0 ? r : -EINVAL;
}

struct client_loader *client_loader_free(struct client_loader *cl)
{
	if (!cl)
		return NULL;
	http_client_bpf__destroy(cl->skel);
	propagation_free(cl->prop);
	free(cl);
	return NULL;
}

const struct propagation *client_loader_propagation(const struct client_loader *cl)
{
	return cl->prop;
}

int client_loader_set_offsets(struct client_loader *cl, uint32_t slot, const struct hc_offsets *off)
{
	if (slot >= HS_MAX_BINARIES)
		return -EINVAL;
	if (bpf_map__update_elem(cl->skel->maps.client_offsets, &slot, sizeof(slot), off,
				 sizeof(*off), BPF_ANY))
		return -errno;
	return 0;
}

static int attach_one(const struct client_loader *cl, struct bpf_program *prog,
		      const struct client_attach_spec *spec, uint64_t offset,
		      struct client_attachment *a)
{
	/* The pid as we see it, the sampler slot and the offsets slot, as
	 * bpf/uprobe_context.h reads them: the server probes' cookie. */
	uint64_t cookie = HS_COOKIE(spec->pid, spec->sampler_slot, spec->offsets_slot);
	int r;

	if (a->n >= MAX_CLIENT_PROBES)
		return -ENOSPC;
	r = uprobe_link_attach(prog, cl->multi, spec->binary_path, offset, cookie, spec->pid,
			       &a->links[a->n]);
	if (r)
		return r;
	a->n++;
	return 0;
}

/* Returns a new attachment: every probe or none. */
int client_loader_attach(struct client_loader *cl, const struct client_attach_spec *spec,
			 struct client_attachment **ret)
{
	const struct client_probe_plan *plan = spec->plan;
	struct client_attachment *a;
	int r;

	if (spec->pid <= 0 || !spec->binary_path || !plan ||
	    spec->offsets_slot >= HS_MAX_BINARIES || spec->sampler_slot >= HS_MAX_SAMPLERS)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = attach_one(cl, cl->skel->progs.client_start, spec, plan->start.file_offset, a);
	if (!r)
		r = attach_one(cl, cl->skel->progs.client_end, spec, plan->end.file_offset, a);
	if (!r && plan->has_alt_end)
		r = attach_one(cl, cl->skel->progs.client_end_h2, spec, plan->alt_end.file_offset,
			       a);
	if (!r && plan->has_failed)
		r = attach_one(cl, cl->skel->progs.client_failed, spec, plan->failed.file_offset,
			       a);
	if (!r && propagation_active(cl->prop))
		r = attach_one(cl, cl->skel->progs.client_conn, spec, plan->conn.file_offset, a);
	if (r) {
		client_attachment_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

struct client_attachment *client_attachment_free(struct client_attachment *a)
{
	if (!a)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		uprobe_link_detach(&a->links[i]);
	free(a);
	return NULL;
}

size_t client_attachment_probes(const struct client_attachment *a)
{
	return a ? a->n : 0;
}

int client_loader_read_stats(const struct client_loader *cl, uint64_t *ret)
{
	return bpf_percpu_counters(cl->skel->maps.client_stats, cl->ncpus, HC_STAT_COUNT, ret);
}

struct red_walk {
	client_red_fn fn;
	void *ud;
};

static void red_one(void *ud, const void *key, const void *value)
{
	const struct red_walk *w = ud;

	w->fn(w->ud, key, value);
}

int client_loader_red_foreach(const struct client_loader *cl, client_red_fn fn, void *ud)
{
	struct red_walk w = { fn, ud };

	return bpf_percpu_hash_foreach(cl->skel->maps.client_red, cl->ncpus,
				       sizeof(struct hc_red_key), sizeof(struct hs_red_value), red_one,
				       &w);
}

int client_loader_calls_fd(const struct client_loader *cl)
{
	return bpf_map__fd(cl->skel->maps.calls);
}

int client_loader_run_stats(const struct client_loader *cl, uint64_t *ret_ns, uint64_t *ret_runs)
{
	struct bpf_program *prog;
	uint64_t ns = 0, runs = 0;

	bpf_object__for_each_program(prog, cl->skel->obj) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return -errno;
		ns += info.run_time_ns;
		runs += info.run_cnt;
	}
	*ret_ns = ns;
	*ret_runs = runs;
	return 0;
}
