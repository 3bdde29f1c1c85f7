/* Skeleton lifecycle for bpf/grpc.bpf.c: open -> rodata -> reuse the shared maps ->
 * load; then one attachment (up to five uprobe links) a process. */
#include "agent/grpc_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bpf_percpu.h"
#include "agent/propagation.h"
#include "agent/uprobe_link.h"
#include "grpc.skel.h"

#define MAX_GRPC_PROBES 7

struct grpc_loader {
	struct grpc_bpf *skel;
	int multi;
	int ncpus;
	int propagate; /* the outgoing-context probes are loaded */
};

struct grpc_attachment {
	size_t n;
	struct uprobe_link links[MAX_GRPC_PROBES];
};

/* Returns a new loader; owns its skeleton. */
int grpc_loader_new(const struct client_loader_shared *shared, const struct propagation *prop,
		    struct grpc_loader **ret)
{
	struct grpc_loader *gl = calloc(1, sizeof(*gl));
	int r;

	if (!gl)
		return -ENOMEM;
	gl->multi = shared->multi;
	gl->ncpus = libbpf_num_possible_cpus();
	gl->skel = grpc_bpf__open();
	if (!gl->skel) {
		r = -errno ? -errno : -ENOMEM;
		goto fail;
	}
	gl->skel->rodata->inflight_mask = shared->inflight_mask;
	gl->skel->rodata->ringbuf_wakeup_bytes = shared->wakeup_bytes;
	r = bpf_map__reuse_fd(gl->skel->maps.spans, shared->spans_fd);
	if (!r)
		r = bpf_map__reuse_fd(gl->skel->maps.inflight, shared->inflight_fd);
	if (!r)
		r = bpf_map__reuse_fd(gl->skel->maps.inflight_sampled, shared->inflight_sampled_fd);
	if (!r)
		r = bpf_map__reuse_fd(gl->skel->maps.sampler, shared->sampler_fd);
	if (!r)
		r = bpf_map__reuse_fd(gl->skel->maps.ctx_slots, shared->ctx_slots_fd);
	gl->propagate = propagation_active(prop);
	gl->skel->rodata->propagate = (uint8_t)gl->propagate;
	if (!r && gl->propagate) {
		r = bpf_map__reuse_fd(gl->skel->maps.traced_tgids, propagation_traced_tgids_fd(prop));
		if (!r)
			r = bpf_map__reuse_fd(gl->skel->maps.h2_streams, propagation_h2_streams_fd(prop));
		if (!r)
			r = bpf_map__reuse_fd(gl->skel->maps.h2_conns, propagation_h2_conns_fd(prop));
	} else if (!r) {
		/* Never written then: the smallest maps (LRU maps are allocated whole). */
		r = bpf_map__set_max_entries(gl->skel->maps.traced_tgids, 1);
		if (!r)
			r = bpf_map__set_max_entries(gl->skel->maps.h2_streams, 1);
		if (!r)
			r = bpf_map__set_max_entries(gl->skel->maps.h2_conns, 1);
	}
	if (r)
		goto fail;
	/* Without propagation these are never attached: not verified either. */
	bpf_program__set_autoload(gl->skel->progs.grpc_client_fields, gl->propagate);
	bpf_program__set_autoload(gl->skel->progs.grpc_write_header, gl->propagate);
	if (gl->multi) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, gl->skel->obj)
			bpf_program__set_expected_attach_type(
				prog, (enum bpf_attach_type)UPROBE_LINK_MULTI_ATTACH_TYPE);
	}
	r = grpc_bpf__load(gl->skel);
	if (r)
		goto fail;
	*ret = gl;
	return 0;
fail:
	grpc_loader_free(gl);
	return r < 0 ? r : -EINVAL;
}

struct grpc_loader *grpc_loader_free(struct grpc_loader *gl)
{
	if (!gl)
		return NULL;
	grpc_bpf__destroy(gl->skel);
	free(gl);
	return NULL;
}

int grpc_loader_set_offsets(struct grpc_loader *gl, uint32_t slot, const struct gr_offsets *off)
{
	if (slot >= HS_MAX_BINARIES)
		return -EINVAL;
	if (bpf_map__update_elem(gl->skel->maps.grpc_offsets, &slot, sizeof(slot), off,
				 sizeof(*off), BPF_ANY))
		return -errno;
	return 0;
}

static int attach_one(const struct grpc_loader *gl, struct bpf_program *prog, pid_t pid,
		      const char *path, uint64_t offset, uint64_t cookie,
		      struct grpc_attachment *a)
{
	int r;

	if (a->n >= MAX_GRPC_PROBES)
		return -ENOSPC;
	r = uprobe_link_attach(prog, gl->multi, path, offset, cookie, pid, &a->links[a->n]);
	if (r)
		return r;
	a->n++;
	return 0;
}

/* Returns a new attachment: every probe or none. */
int grpc_loader_attach(struct grpc_loader *gl, pid_t pid, const char *binary_path,
		       const struct grpc_probe_plan *plan, uint32_t offsets_slot,
		       uint32_t sampler_slot, struct grpc_attachment **ret)
{
	uint64_t cookie = HS_COOKIE(pid, sampler_slot, offsets_slot);
	struct grpc_attachment *a;
	int r = 0;

	if (pid <= 0 || !binary_path || !plan || offsets_slot >= HS_MAX_BINARIES ||
	    sampler_slot >= HS_MAX_SAMPLERS)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (plan->has_server) {
		r = attach_one(gl, gl->skel->progs.grpc_headers, pid, binary_path,
			       plan->headers.file_offset, cookie, a);
		if (!r)
			r = attach_one(gl, gl->skel->progs.grpc_server_start, pid, binary_path,
				       plan->server_start.file_offset, cookie, a);
		if (!r)
			r = attach_one(gl, gl->skel->progs.grpc_server_end, pid, binary_path,
				       plan->server_end.file_offset, cookie, a);
	}
	if (!r && plan->has_client) {
		r = attach_one(gl, gl->skel->progs.grpc_client_start, pid, binary_path,
			       plan->client_start.file_offset, cookie, a);
		if (!r)
			r = attach_one(gl, gl->skel->progs.grpc_client_end, pid, binary_path,
				       plan->client_end.file_offset, cookie, a);
	}
	if (!r && plan->has_client && plan->has_outgoing && gl->propagate) {
		r = attach_one(gl, gl->skel->progs.grpc_client_fields, pid, binary_path,
			       plan->client_fields.file_offset, cookie, a);
		if (!r)
			r = attach_one(gl, gl->skel->progs.grpc_write_header, pid, binary_path,
				       plan->write_header.file_offset, cookie, a);
	}
	if (r) {
		grpc_attachment_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

struct grpc_attachment *grpc_attachment_free(struct grpc_attachment *a)
{
	if (!a)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		uprobe_link_detach(&a->links[i]);
	free(a);
	return NULL;
}

size_t grpc_attachment_probes(const struct grpc_attachment *a)
{
	return a ? a->n : 0;
}

int grpc_loader_read_stats(const struct grpc_loader *gl, uint64_t *ret)
{
	return bpf_percpu_counters(gl->skel->maps.grpc_stats, gl->ncpus, GR_STAT_COUNT, ret);
}

struct red_walk {
	grpc_red_fn fn;
	void *ud;
};

static void red_one(void *ud, const void *key, const void *value)
{
	const struct red_walk *w = ud;

	w->fn(w->ud, key, value);
}

int grpc_loader_red_foreach(const struct grpc_loader *gl, grpc_red_fn fn, void *ud)
{
	struct red_walk w = { fn, ud };

	return bpf_percpu_hash_foreach(gl->skel->maps.grpc_red, gl->ncpus,
				       sizeof(struct gr_red_key), sizeof(struct hs_red_value), red_one,
				       &w);
}

const char *grpc_loader_propagation(const struct grpc_loader *gl)
{
	return gl && gl->propagate ? "sk_msg" : "none";
}

const char *grpc_loader_propagation_why(const struct grpc_loader *gl)
{
	if (gl && gl->propagate)
		return "a traceparent field is appended to the HEADERS frame of each call over "
		       "plaintext HTTP/2 (h2c) as it goes out; calls over TLS carry none (their "
		       "frames are ciphertext on the wire)";
	return gl ? "the kernel offers no sk_msg program here (see the net/http client's "
		    "outgoing trace context)"
		  : "the gRPC probes are not loaded";
}
