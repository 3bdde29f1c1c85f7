/* Skeleton lifecycle: open -> rodata and map sizes -> pick programs -> load; then one
 * attachment (two uprobe links) per traced process. */
#include "agent/probe_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/client_loader.h"
#include "agent/inflight_sweep.h"
#include "agent/db_loader.h"
#include "agent/grpc_loader.h"
#include "agent/ring_reader.h"
#include "agent/uprobe_link.h"
#include "http_server.skel.h"

#define DEFAULT_RINGBUF (4u << 20)
#define DEFAULT_INFLIGHT 16384u

struct probe_loader {
	struct http_server_bpf *skel;
	struct ring_reader *rb;
	struct bpf_program *start_prog; /* with or without the header scan */
	struct bpf_program *h2_start_prog; /* the same for HTTP/2 */
	int header_scan;
	int symbol_and_rets; /* serve_http_end_at_ret is loaded */
	int multi;           /* uprobes as uprobe_multi links, else perf events */
	int ncpus;
	struct client_loader *client;
	int client_error;
	struct db_loader *db;
	int db_error;
	struct grpc_loader *grpc;
	int grpc_error;
	uint64_t loaded_ns; /* CLOCK_BOOTTIME when the object's load returned */
	probe_record_fn on_record;
	void *ud;
};

/* Each probe is a libbpf link (perf event) or the fd of a uprobe_multi link. */
struct probe_attachment {
	size_t n;
	struct uprobe_link links[1 + PROBE_MAX_RETS];
};

static int is_pow2(size_t v)
{
	return v && !(v & (v - 1));
}

/* The clock of bpf_prog_info.load_time. */
static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

_Static_assert(PROBE_RECORD_KEEP == RING_RECORD_KEEP, "a kept record is the ring reader's");

static int ring_sample(void *ctx, const void *data, size_t size)
{
	struct probe_loader *pl = ctx;

	return pl->on_record ? pl->on_record(pl->ud, data, size) : 0;
}

/* The loader owns the skeleton and the ring buffer. Returns a new loader. */
int probe_loader_new(const struct probe_loader_opts *opts, struct probe_loader **ret_loader)
{
	struct probe_loader *pl;
	size_t ring = opts && opts->ringbuf_bytes ? opts->ringbuf_bytes : DEFAULT_RINGBUF;
	size_t inflight = opts && opts->max_inflight ? opts->max_inflight : DEFAULT_INFLIGHT;
	size_t wake = opts && opts->wakeup_bytes ? opts->wakeup_bytes : ring / 4;
	int r;

	if (!is_pow2(ring) || ring < (size_t)sysconf(_SC_PAGESIZE) || ring > (1u << 30) ||
	    inflight > (1u << 24) || wake > ring)
		return -EINVAL;
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	pl->on_record = opts ? opts->on_record : NULL;
	pl->ud = opts ? opts->ud : NULL;
	pl->ncpus = libbpf_num_possible_cpus();
	if (pl->ncpus <= 0) {
		r = pl->ncpus ? pl->ncpus : -EINVAL;
		goto fail;
	}
	pl->skel = http_server_bpf__open();
	if (!pl->skel) {
		r = -errno ? -errno : -ENOMEM;
		goto fail;
	}
	pl->skel->rodata->ringbuf_wakeup_bytes = wake;
	r = bpf_map__set_max_entries(pl->skel->maps.spans, (uint32_t)ring);
	if (r)
		goto fail;
	/* The slot array is indexed by a hash masked to its size. */
	while (!is_pow2(inflight))
		inflight &= inflight - 1;
	inflight = inflight < 64 ? 64 : inflight;
	pl->skel->rodata->inflight_mask = (uint32_t)inflight - 1;
	r = bpf_map__set_max_entries(pl->skel->maps.inflight, (uint32_t)inflight);
	if (r)
		goto fail;
	r = bpf_map__set_max_entries(pl->skel->maps.inflight_sampled, (uint32_t)inflight);
	if (r)
		goto fail;
	/* bpf_loop (5.17) carries the traceparent search; without it, no search. */
	pl->header_scan = !(opts && opts->no_header_scan) &&
			  libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_loop, NULL) == 1;
	/* Each program loaded costs its verification (tens of ms of CPU): only those that
	 * will be attached. */
	pl->symbol_and_rets = opts && opts->symbol_and_rets && pl->header_scan;
	bpf_program__set_autoload(pl->skel->progs.serve_http_start, pl->header_scan);
	bpf_program__set_autoload(pl->skel->progs.serve_http_start_noscan, !pl->header_scan);
	bpf_program__set_autoload(pl->skel->progs.serve_http_end_at_ret, pl->symbol_and_rets);
	pl->start_prog = pl->header_scan ? pl->skel->progs.serve_http_start :
					   pl->skel->progs.serve_http_start_noscan;
	bpf_program__set_autoload(pl->skel->progs.h2_run_handler, pl->header_scan);
	bpf_program__set_autoload(pl->skel->progs.h2_run_handler_noscan, !pl->header_scan);
	pl->h2_start_prog = pl->header_scan ? pl->skel->progs.h2_run_handler :
					      pl->skel->progs.h2_run_handler_noscan;
	/* uprobe_multi links where the kernel has them: they need no CAP_SYS_ADMIN, which
	 * perf-event uprobes do (agent/uprobe_link.h). The programs must be loaded for the
	 * one or the other. */
	pl->multi = uprobe_link_multi_supported() == 1;
	if (pl->multi) {
		struct bpf_program *progs[] = { pl->skel->progs.serve_http_start,
						pl->skel->progs.serve_http_start_noscan,
						pl->skel->progs.finish_request,
						pl->skel->progs.serve_http_end_at_ret,
						pl->skel->progs.h2_run_handler,
						pl->skel->progs.h2_run_handler_noscan,
						pl->skel->progs.h2_handler_done };

		for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
			bpf_program__set_expected_attach_type(
				progs[i], (enum bpf_attach_type)UPROBE_LINK_MULTI_ATTACH_TYPE);
	}
	r = http_server_bpf__load(pl->skel);
	if (r)
		goto fail;
	pl->loaded_ns = boottime_ns();
	/* Its data pages mapped once, not twice as libbpf's reader does: agent/ring_reader.h. */
	r = ring_reader_new(bpf_map__fd(pl->skel->maps.spans), ring, ring_sample, pl, &pl->rb);
	if (r)
		goto fail;
	if (opts && (opts->with_client || opts->with_grpc)) {
		struct client_loader_shared sh = {
			.spans_fd = bpf_map__fd(pl->skel->maps.spans),
			.inflight_fd = bpf_map__fd(pl->skel->maps.inflight),
			.inflight_sampled_fd = bpf_map__fd(pl->skel->maps.inflight_sampled),
			.sampler_fd = bpf_map__fd(pl->skel->maps.sampler),
			.ctx_slots_fd = bpf_map__fd(pl->skel->maps.ctx_slots),
			.inflight_mask = (uint32_t)inflight - 1,
			.wakeup_bytes = wake,
			.multi = pl->multi,
		};
		struct client_loader_opts co = { .no_propagation = opts->no_propagation,
						 .proc_root = opts->proc_root };

		/* The server probes do not depend on these. */
		if (opts->with_client)
			pl->client_error = client_loader_new(&sh, &co, &pl->client);
		if (opts->with_grpc)
			pl->grpc_error = grpc_loader_new(
				&sh, pl->client ? client_loader_propagation(pl->client) : NULL,
				&pl->grpc);
	}
	if (opts && opts->with_db) {
		struct db_loader_shared sh = {
			.spans_fd = bpf_map__fd(pl->skel->maps.spans),
			.inflight_fd = bpf_map__fd(pl->skel->maps.inflight),
			.inflight_sampled_fd = bpf_map__fd(pl->skel->maps.inflight_sampled),
			.sampler_fd = bpf_map__fd(pl->skel->maps.sampler),
			.ctx_slots_fd = bpf_map__fd(pl->skel->maps.ctx_slots),
			.inflight_mask = (uint32_t)inflight - 1,
			.wakeup_bytes = wake,
			.multi = pl->multi,
		};

		/* The server probes do not depend on these either. */
		pl->db_error = db_loader_new(&sh, &pl->db);
	}
	*ret_loader = pl;
	return 0;
fail:
	probe_loader_free(pl);
	return r < 0 ? r : -EINVAL;
}

struct probe_loader *probe_loader_free(struct probe_loader *pl)
{
	if (!pl)
		return NULL;
	client_loader_free(pl->client);
	db_loader_free(pl->db);
	grpc_loader_free(pl->grpc);
	ring_reader_free(pl->rb);
	http_server_bpf__destroy(pl->skel);
	free(pl);
	return NULL;
}

struct client_loader *probe_loader_client(const struct probe_loader *pl)
{
	return pl->client;
}

void probe_loader_inflight_maps(const struct probe_loader *pl, struct inflight_maps *ret)
{
	ret->inflight_fd = bpf_map__fd(pl->skel->maps.inflight);
	ret->n_slots = bpf_map__max_entries(pl->skel->maps.inflight);
	ret->calls_fd = pl->client ? client_loader_calls_fd(pl->client) : -1;
}

int probe_loader_client_error(const struct probe_loader *pl)
{
	return pl->client_error;
}

struct db_loader *probe_loader_db(const struct probe_loader *pl)
{
	return pl->db;
}

int probe_loader_db_error(const struct probe_loader *pl)
{
	return pl->db_error;
}

struct grpc_loader *probe_loader_grpc(const struct probe_loader *pl)
{
	return pl->grpc;
}

int probe_loader_grpc_error(const struct probe_loader *pl)
{
	return pl->grpc_error;
}

int probe_loader_has_header_scan(const struct probe_loader *pl)
{
	return pl->header_scan;
}

int probe_loader_set_offsets(struct probe_loader *pl, uint32_t slot, const struct hs_offsets *off)
{
	if (slot >= HS_MAX_BINARIES)
		return -EINVAL;
	if (bpf_map__update_elem(pl->skel->maps.offsets, &slot, sizeof(slot), off, sizeof(*off),
				 BPF_ANY))
		return -errno;
	return 0;
}

int probe_loader_set_h2_offsets(struct probe_loader *pl, uint32_t slot,
				const struct h2_offsets *off)
{
	if (slot >= H2_OFFSETS_SLOTS)
		return -EINVAL;
	if (bpf_map__update_elem(pl->skel->maps.h2_offsets, &slot, sizeof(slot), off,
				 sizeof(*off), BPF_ANY))
		return -errno;
	return 0;
}

int probe_loader_set_sampler(struct probe_loader *pl, const struct hs_sampler *sampler)
{
	return probe_loader_set_sampler_slot(pl, 0, sampler);
}

int probe_loader_set_sampler_slot(struct probe_loader *pl, uint32_t slot,
				  const struct hs_sampler *sampler)
{
	if (slot >= HS_MAX_SAMPLERS)
		return -EINVAL;
	if (bpf_map__update_elem(pl->skel->maps.sampler, &slot, sizeof(slot), sampler,
				 sizeof(*sampler), BPF_ANY))
		return -errno;
	return 0;
}

/* Attaches prog at offset as the attachment's next probe (a->n counts it). */
static int attach_one(const struct probe_loader *pl, struct bpf_program *prog,
		      const struct probe_attach_spec *spec, uint64_t offset,
		      struct probe_attachment *a)
{
	/* The process's pid as we see it, its sampler's slot and its binary's offsets
	 * slot: see bpf/http_server.bpf.c. */
	uint64_t cookie = HS_COOKIE(spec->pid, spec->sampler_slot, spec->offsets_slot);
	int r;

	r = uprobe_link_attach(prog, pl->multi, spec->binary_path, offset, cookie, spec->pid,
			       &a->links[a->n]);
	if (r)
		return r;
	a->n++;
	return 0;
}

const char *probe_loader_attach_kind(const struct probe_loader *pl)
{
	return pl->multi ? "uprobe_multi links" : "perf-event uprobes";
}

/* Attaches start at spec->start_offset and end at each of end_offsets[0..n_ends)
 * (n_ends <= PROBE_MAX_RETS), for spec->pid only, with spec->offsets_slot below
 * max_slot (the slots of the offsets map start reads). Returns a new attachment, with
 * every probe or none. */
static int attach_start_end(struct probe_loader *pl, struct bpf_program *start,
			    struct bpf_program *end, uint32_t max_slot,
			    const struct probe_attach_spec *spec, const uint64_t *end_offsets,
			    size_t n_ends, struct probe_attachment **ret_attachment)
{
	struct probe_attachment *a;
	int r;

	if (spec->pid <= 0 || !spec->binary_path || spec->offsets_slot >= max_slot ||
	    spec->sampler_slot >= HS_MAX_SAMPLERS)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = attach_one(pl, start, spec, spec->start_offset, a);
	if (r)
		goto fail;
	for (size_t i = 0; i < n_ends; i++) {
		r = attach_one(pl, end, spec, end_offsets[i], a);
		if (r)
			goto fail;
	}
	*ret_attachment = a;
	return 0;
fail:
	probe_attachment_free(a);
	return r;
}

int probe_loader_attach(struct probe_loader *pl, const struct probe_attach_spec *spec,
			struct probe_attachment **ret_attachment)
{
	return attach_start_end(pl, pl->start_prog, pl->skel->progs.finish_request,
				HS_MAX_BINARIES, spec, &spec->end_offset, 1, ret_attachment);
}

int probe_loader_attach_h2(struct probe_loader *pl, const struct probe_attach_spec *spec,
			   struct probe_attachment **ret_attachment)
{
	return attach_start_end(pl, pl->h2_start_prog, pl->skel->progs.h2_handler_done,
				H2_OFFSETS_SLOTS, spec, &spec->end_offset, 1, ret_attachment);
}

int probe_loader_attach_at_symbol_and_rets(struct probe_loader *pl,
					   const struct probe_attach_spec *spec,
					   const uint64_t *ret_offsets, size_t n_rets,
					   struct probe_attachment **ret_attachment)
{
	if (n_rets == 0 || n_rets > PROBE_MAX_RETS || !pl->symbol_and_rets)
		return -EINVAL;
	return attach_start_end(pl, pl->start_prog, pl->skel->progs.serve_http_end_at_ret,
				HS_MAX_BINARIES, spec, ret_offsets, n_rets, ret_attachment);
}

size_t probe_attachment_probes(const struct probe_attachment *a)
{
	return a ? a->n : 0;
}

struct probe_attachment *probe_attachment_free(struct probe_attachment *a)
{
	if (!a)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		uprobe_link_detach(&a->links[i]);
	free(a);
	return NULL;
}

int probe_loader_consume(struct probe_loader *pl)
{
	return ring_reader_consume(pl->rb);
}

int probe_loader_wakeup_fd(const struct probe_loader *pl)
{
	return ring_reader_epoll_fd(pl->rb);
}

int probe_loader_read_stats(const struct probe_loader *pl, uint64_t *ret_stats)
{
	uint64_t *percpu, sums[HS_STAT_COUNT] = { 0 };
	int r = 0;

	percpu = calloc((size_t)pl->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (uint32_t k = 0; k < HS_STAT_COUNT; k++) {
		if (bpf_map__lookup_elem(pl->skel->maps.stats, &k, sizeof(k), percpu,
					 sizeof(*percpu) * (size_t)pl->ncpus, 0)) {
			r = -errno;
			goto cleanup;
		}
		for (int c = 0; c < pl->ncpus; c++)
			sums[k] += percpu[c];
	}
	memcpy(ret_stats, sums, sizeof(sums));
cleanup:
	free(percpu);
	return r;
}

static int prog_run(const struct bpf_program *prog, uint64_t *ns, uint64_t *runs)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_program__fd(prog);

	if (fd < 0)
		return 0; /* not loaded on this kernel */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*ns += info.run_time_ns;
	*runs += info.run_cnt;
	return 0;
}

int probe_loader_run_stats(const struct probe_loader *pl, struct probe_run_stats *ret_stats)
{
	struct probe_run_stats s = { 0 };
	int r;

	r = prog_run(pl->skel->progs.serve_http_start, &s.start_ns, &s.start_runs);
	if (!r)
		r = prog_run(pl->skel->progs.serve_http_start_noscan, &s.start_ns, &s.start_runs);
	if (!r)
		r = prog_run(pl->skel->progs.finish_request, &s.end_ns, &s.end_runs);
	if (!r)
		r = prog_run(pl->skel->progs.serve_http_end_at_ret, &s.end_ns, &s.end_runs);
	if (r)
		return r;
	*ret_stats = s;
	return 0;
}

int probe_loader_programs(const struct probe_loader *pl, struct probe_program_info *ret_info,
			  size_t cap, size_t *ret_n)
{
	struct bpf_program *prog;
	uint64_t started = 0; /* the previous program's load_time */
	size_t n = 0;

	/* libbpf loads an object's programs one after the other, in this order: each one's
	 * load ends about when the next one's starts. */
	bpf_object__for_each_program(prog, pl->skel->obj) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0)
			continue; /* not loaded */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return -errno;
		if (n > 0 && n <= cap && info.load_time > started)
			ret_info[n - 1].load_us = (uint32_t)((info.load_time - started) / 1000);
		if (n < cap)
			ret_info[n] = (struct probe_program_info){
				.name = bpf_program__name(prog),
				.verified_insns = info.verified_insns,
				.insns = info.xlated_prog_len / 8,
			};
		started = info.load_time;
		n++;
	}
	if (n > 0 && n <= cap && pl->loaded_ns > started)
		ret_info[n - 1].load_us = (uint32_t)((pl->loaded_ns - started) / 1000);
	*ret_n = n;
	return 0;
}

/* Sums one series' per-CPU values into ret_sum. */
static void red_sum(const struct hs_red_value *percpu, int ncpus, struct hs_red_value *ret_sum)
{
	memset(ret_sum, 0, sizeof(*ret_sum));
	for (int c = 0; c < ncpus; c++) {
		for (int b = 0; b < HS_RED_BUCKETS; b++)
			ret_sum->buckets[b] += percpu[c].buckets[b];
		ret_sum->count += percpu[c].count;
		ret_sum->sum_ns += percpu[c].sum_ns;
	}
}

/* The array's series, (method, status slot) by key, in batches of this many keys (one
 * system call a batch rather than one a key). */
#define RED_BATCH 32u

static void red_slot(const struct probe_loader *pl, uint32_t i, const struct hs_red_value *percpu,
		     probe_red_fn fn, void *ud)
{
	struct hs_red_key key;
	struct hs_red_value sum;

	red_sum(percpu, pl->ncpus, &sum);
	if (!sum.count)
		return; /* never counted */
	key.method_id = (uint16_t)(i / HS_RED_STATUS_SLOTS);
	key.status = (uint16_t)hs_red_slot_status(i % HS_RED_STATUS_SLOTS);
	fn(ud, &key, &sum);
}

/* 0, or -errno when batches are not supported (the caller reads key by key). */
static int red_array_batched(const struct probe_loader *pl, struct hs_red_value *values,
			     probe_red_fn fn, void *ud)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = bpf_map__fd(pl->skel->maps.red);
	uint32_t keys[RED_BATCH], in = 0, out = 0, count;
	void *inp = NULL;
	int r;

	for (;;) {
		count = RED_BATCH;
		r = bpf_map_lookup_batch(fd, inp, &out, keys, values, &count, &opts);
		if (r && errno != ENOENT)
			return inp ? 0 : -errno; /* mid-way: what was read stands */
		for (uint32_t k = 0; k < count && keys[k] < HS_RED_SLOTS; k++)
			red_slot(pl, keys[k], values + (size_t)k * (size_t)pl->ncpus, fn, ud);
		if (r)
			return 0; /* ENOENT: the last batch */
		in = out;
		inp = &in;
	}
}

int probe_loader_red_foreach(const struct probe_loader *pl, probe_red_fn fn, void *ud)
{
	const struct bpf_map *map = pl->skel->maps.red_other;
	struct hs_red_key key, next;
	struct hs_red_value *percpu, sum;
	const struct hs_red_key *prev = NULL;

	/* Per-CPU values come back one per possible CPU, each rounded up to 8 bytes;
	 * hs_red_value already is a multiple of 8. */
	percpu = calloc((size_t)pl->ncpus * RED_BATCH, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (red_array_batched(pl, percpu, fn, ud) < 0) {
		for (uint32_t i = 0; i < HS_RED_SLOTS; i++) {
			if (bpf_map__lookup_elem(pl->skel->maps.red, &i, sizeof(i), percpu,
						 sizeof(*percpu) * (size_t)pl->ncpus, 0) == 0)
				red_slot(pl, i, percpu, fn, ud);
		}
	}
	while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), percpu,
					 sizeof(*percpu) * (size_t)pl->ncpus, 0))
			continue; /* deleted meanwhile */
		red_sum(percpu, pl->ncpus, &sum);
		fn(ud, &key, &sum);
	}
	free(percpu);
	return 0;
}
