/* The tracing core: policy over agent/probe_loader.c. This file holds its lifecycle
 * (the background load, the probes that wait for it), its settings (targets, sampler
 * slots) and its counters; tracer_attach.c decides which processes are traced with
 * which probes, tracer_records.c what a record becomes. */
#include "agent/tracer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/client_loader.h"
#include "agent/inflight_sweep.h"
#include "agent/db_loader.h"
#include "agent/grpc_loader.h"
#include "agent/probe_load.h"
#include "agent/probe_loader.h"
#include "agent/propagation.h"
#include "agent/sampler.h"
#include "agent/tracer_state.h"
#include "lib/log/log.h"

#define COMPONENT "tracer"

_Static_assert(TRACER_SAMPLER_SLOTS == HS_MAX_SAMPLERS, "one tracer slot per kernel slot");

const double tracer_duration_bounds_seconds[HS_RED_BOUNDS] = {
	0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
};
const size_t tracer_duration_bucket_count = HS_RED_BUCKETS;

static const char *const skip_names[TRACER_SKIP_REASONS] = {
	[TRACER_SKIP_UNREADABLE] = "unreadable",
	[TRACER_SKIP_NO_SYMBOLS] = "no_symbols",
	[TRACER_SKIP_UNSUPPORTED_GO] = "unsupported_go",
	[TRACER_SKIP_ATTACH_FAILED] = "attach_failed",
	[TRACER_SKIP_GRPC_UNSUPPORTED] = "grpc_unsupported",
};

const char *tracer_skip_reason_name(enum tracer_skip_reason reason)
{
	return (unsigned)reason < TRACER_SKIP_REASONS ? skip_names[reason] : "unknown";
}

static char **copy_names(const char *const *names)
{
	size_t n = 0;
	char **out;

	if (!names)
		return NULL;
	while (n < MAX_CONTAINER_NAMES && names[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = strdup(names[i]);
		if (!out[i]) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			free(out);
			return NULL;
		}
	}
	return out;
}

static void free_names(char **names)
{
	if (!names)
		return;
	for (size_t i = 0; names[i]; i++)
		free(names[i]);
	free(names);
}

int tracer_set_targets(struct tracer *t, const struct tracer_targets *targets)
{
	char *exe = NULL, **names = NULL;

	if (targets->executable && *targets->executable) {
		exe = strdup(targets->executable);
		if (!exe)
			return -ENOMEM;
	}
	if (targets->container_names) {
		names = copy_names(targets->container_names);
		if (!names) {
			free(exe);
			return -ENOMEM;
		}
	}
	free(t->target_exe);
	free_names(t->container_names);
	t->target_exe = exe;
	t->container_names = names;
	return 0;
}

int tracer_set_sampler(struct tracer *t, const struct tracer_sampler *sampler)
{
	struct hs_sampler v;
	int r;

	r = sampler_to_bpf(sampler, t->sampler_revision + 1, &v);
	if (r)
		return r;
	if (t->loader) {
		r = probe_loader_set_sampler(t->loader, &v);
		if (r)
			return r;
	}
	t->sampler = *sampler;
	t->sampler_revision++;
	return 0;
}

int tracer_set_sampler_slot(struct tracer *t, uint32_t slot, const struct tracer_sampler *sampler)
{
	struct hs_sampler v;
	int r;

	if (slot == 0 || slot >= TRACER_SAMPLER_SLOTS)
		return -EINVAL;
	r = sampler_to_bpf(sampler, t->sampler_revision + 1, &v);
	if (r == 0 && t->loader)
		r = probe_loader_set_sampler_slot(t->loader, slot, &v);
	if (r)
		return r;
	t->slot_samplers[slot] = *sampler;
	t->slot_set[slot] = 1;
	t->sampler_revision++;
	return 0;
}

void tracer_probes_default(struct tracer_probes *ret)
{
	*ret = (struct tracer_probes){ .http_server = 1, .http_client = 1, .database_sql = 1,
				       .grpc = 1 };
}

int tracer_set_probes(struct tracer *t, uint32_t slot, const struct tracer_probes *probes)
{
	if (slot >= TRACER_SAMPLER_SLOTS)
		return -EINVAL;
	t->slot_probes[slot] = *probes;
	return 0;
}

/* Which client probes and which propagation mechanism are in force, said once. */
static void log_client(const struct tracer *t)
{
	struct client_loader *cl = probe_loader_client(t->loader);
	const struct propagation *p;

	if (!cl) {
		if (probe_loader_client_error(t->loader))
			log_warn(COMPONENT, "net/http client probes not loaded (%s): server spans only; "
				 "outgoing trace context: none",
				 strerror(-probe_loader_client_error(t->loader)));
		return;
	}
	p = client_loader_propagation(cl);
	if (propagation_active(p))
		log_info(COMPONENT, "outgoing trace context: %s (a traceparent header inserted into "
			 "plaintext HTTP/1.x requests of traced processes, by sock_ops and sk_msg "
			 "programs; no writes to process memory); HTTP/2 calls carry none (over TLS "
			 "the bytes are encrypted; h2c headers are HPACK-coded against the "
			 "connection's table), counted as result=\"http2\"", propagation_mechanism(p));
	else
		log_warn(COMPONENT, "outgoing trace context: none (%s); client spans are still "
			 "traced", p ? propagation_why(p) : "turned off");
}

/* The gRPC probes, and why gRPC calls carry no trace context to the next service. */
static void log_grpc(const struct tracer *t)
{
	if (!probe_loader_grpc(t->loader)) {
		if (probe_loader_grpc_error(t->loader))
			log_warn(COMPONENT, "gRPC probes not loaded (%s): no gRPC spans",
				 strerror(-probe_loader_grpc_error(t->loader)));
		return;
	}
	log_warn(COMPONENT, "outgoing trace context for gRPC calls: %s (%s); gRPC client spans "
		 "are traced and parented either way, and incoming gRPC traceparent metadata "
		 "is read", grpc_loader_propagation(probe_loader_grpc(t->loader)),
		 grpc_loader_propagation_why(probe_loader_grpc(t->loader)));
}

/* What loading cost: the wall clock (long on a busy machine), the loading thread's CPU
 * and what the verifier went through for each program. */
static void log_loaded(const struct tracer *t, const struct probe_load_cost *cost)
{
	struct probe_program_info progs[8];
	char line[512];
	size_t n = 0, used = 0;

	if (probe_loader_programs(t->loader, progs, 8, &n) < 0)
		n = 0;
	line[0] = '\0';
	for (size_t i = 0; i < n && i < 8 && used < sizeof(line); i++) {
		int w = snprintf(line + used, sizeof(line) - used, "%s%s %u in %u ms",
				 i ? ", " : "", progs[i].name, progs[i].verified_insns,
				 (progs[i].load_us + 500) / 1000);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	log_info(COMPONENT, "BPF programs loaded in %ld ms (%ld ms of CPU); instructions verified: %s; "
		 "attaching with %s", cost->wall_ms, cost->cpu_ms, line,
		 probe_loader_attach_kind(t->loader));
	log_client(t);
	if (!probe_loader_db(t->loader) && probe_loader_db_error(t->loader))
		log_warn(COMPONENT, "database/sql probes not loaded (%s): no database spans",
			 strerror(-probe_loader_db_error(t->loader)));
	log_grpc(t);
}

/* Returns a new tracer; copies what opts points to. */
int tracer_new(const struct tracer_opts *opts, struct tracer **ret_tracer)
{
	struct probe_loader_opts lo = {
		.ringbuf_bytes = opts->ringbuf_bytes,
		.max_inflight = opts->max_inflight,
		.with_client = !opts->no_client,
		.with_grpc = !opts->no_client,
		.no_propagation = opts->no_propagation,
		.proc_root = opts->proc_root,
		.with_db = !opts->no_db,
		.on_record = tracer_on_record,
	};
	struct tracer *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->on_span = opts->on_span;
	t->select = opts->select;
	t->ud = opts->ud;
	for (size_t i = 0; i < TRACER_SAMPLER_SLOTS; i++)
		tracer_probes_default(&t->slot_probes[i]);
	t->proc_root = strdup(opts->proc_root ? opts->proc_root : "/proc");
	t->binaries = calloc(MAX_BINARIES, sizeof(*t->binaries));
	t->procs = calloc(MAX_PROCESSES, sizeof(*t->procs));
	if (!t->proc_root || !t->binaries || !t->procs) {
		r = -ENOMEM;
		goto fail;
	}
	r = tracer_set_targets(t, &opts->targets);
	if (r)
		goto fail;
	lo.ud = t;
	if (opts->load_in_background) {
		r = probe_load_start(&lo, &t->loading);
	} else {
		struct probe_load_cost cost;

		r = probe_load_now(&lo, &t->loader, &cost);
		if (r == 0)
			log_loaded(t, &cost);
	}
	if (r)
		goto fail;
	r = tracer_set_sampler(t, &opts->sampler);
	if (r)
		goto fail;
	t->wall_minus_mono_ns = tracer_wall_minus_mono();
	*ret_tracer = t;
	return 0;
fail:
	tracer_free(t);
	return r;
}

struct tracer *tracer_free(struct tracer *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_procs; i++) {
		client_attachment_free(t->procs[i].client);
		db_attachment_free(t->procs[i].db);
		grpc_attachment_free(t->procs[i].grpc);
		for (size_t k = 0; k < H2_SERVER_MAX_PLANS; k++)
			probe_attachment_free(t->procs[i].h2[k]);
		probe_attachment_free(t->procs[i].attachment);
	}
	if (t->loading) {
		struct probe_loader *pl = NULL;

		if (probe_load_finish(t->loading, &pl, NULL) == 0)
			probe_loader_free(pl);
	}
	probe_loader_free(t->loader);
	free(t->procs);
	free(t->binaries);
	free(t->target_exe);
	free_names(t->container_names);
	free(t->proc_root);
	free(t);
	return NULL;
}

int tracer_loading_fd(const struct tracer *t)
{
	return t->loading ? probe_load_fd(t->loading) : -1;
}

int tracer_loaded(const struct tracer *t)
{
	return t->loader != NULL;
}

int tracer_finish_loading(struct tracer *t)
{
	struct probe_load_cost cost;
	struct hs_sampler v;
	int r;

	if (!t->loading)
		return 0;
	r = probe_load_finish(t->loading, &t->loader, &cost);
	t->loading = NULL;
	if (r)
		return r;
	log_loaded(t, &cost);
	r = sampler_to_bpf(&t->sampler, t->sampler_revision, &v);
	if (r == 0)
		r = probe_loader_set_sampler(t->loader, &v);
	for (uint32_t i = 1; r == 0 && i < TRACER_SAMPLER_SLOTS; i++) {
		if (t->slot_set[i] && (r = sampler_to_bpf(&t->slot_samplers[i], t->sampler_revision,
							   &v)) == 0)
			r = probe_loader_set_sampler_slot(t->loader, i, &v);
	}
	if (r)
		return r;
	/* The binaries read while loading get their offsets now. */
	for (size_t i = 0; i < t->n_binaries; i++) {
		struct binary *b = &t->binaries[i];

		if (b->state != BINARY_TRACEABLE)
			continue;
		r = probe_loader_set_offsets(t->loader, b->slot, &b->plan.offsets);
		if (r == 0) {
			tracer_set_client_offsets(t, b);
			tracer_set_db_binary(t, b);
			tracer_set_h2_offsets(t, b);
		}
		if (r) {
			b->state = BINARY_SKIPPED;
			b->skip_reason = TRACER_SKIP_UNREADABLE;
			t->skipped[b->skip_reason]++;
			log_warn(COMPONENT, "offsets of a binary refused: %s", strerror(-r));
		}
	}
	return 0;
}

void tracer_get_stats(const struct tracer *t, struct tracer_stats *ret_stats)
{
	uint64_t k[HS_STAT_COUNT] = { 0 };
	struct tracer_stats s;

	memset(&s, 0, sizeof(s));
	if (t->loader)
		probe_loader_read_stats(t->loader, k); /* zeros if the read fails */
	s.processes = t->n_attached;
	for (size_t i = 0; i < t->n_procs; i++)
		s.probes_attached += probe_attachment_probes(t->procs[i].attachment);
	s.probes_attached += t->client_probes + t->db_probes + t->h2_probes;
	s.probes_failed = t->probes_failed;
	memcpy(s.skipped, t->skipped, sizeof(s.skipped));
	s.requests = k[HS_STAT_REQUESTS];
	s.sampled = k[HS_STAT_SAMPLED];
	s.spans_delivered = t->spans_delivered;
	s.ringbuf_drops = k[HS_STAT_RINGBUF_FULL];
	s.inflight_drops = k[HS_STAT_INFLIGHT_FULL] + k[HS_STAT_MISSING_START];
	s.traceparent_found = k[HS_STAT_TRACEPARENT];
	s.records_invalid = t->records_invalid;
	s.propagation = "none";
	if (t->loader && probe_loader_client(t->loader)) {
		struct client_loader *cl = probe_loader_client(t->loader);
		uint64_t c[HC_STAT_COUNT] = { 0 }, inj[HC_INJ_COUNT] = { 0 };

		client_loader_read_stats(cl, c); /* zeros if the read fails */
		propagation_read_stats(client_loader_propagation(cl), inj);
		s.client_calls = c[HC_STAT_CALLS];
		s.client_sampled = c[HC_STAT_SAMPLED];
		s.client_errors = c[HC_STAT_ERRORS];
		s.client_parent_goroutine = c[HC_STAT_PARENT_GOROUTINE];
		s.client_parent_context = c[HC_STAT_PARENT_CONTEXT];
		s.client_missing_start = c[HC_STAT_MISSING_START];
		s.client_ringbuf_drops = c[HC_STAT_RINGBUF_FULL];
		s.propagation = propagation_mechanism(client_loader_propagation(cl));
		s.tp_injected = inj[HC_INJ_INJECTED];
		s.tp_left_alone = inj[HC_INJ_HAD_TRACEPARENT];
		s.tp_failed = inj[HC_INJ_FAILED];
		s.tp_http2 = c[HC_STAT_HTTP2];
		s.grpc_tp_injected = inj[HC_INJ_H2_INJECTED];
		s.h2_out_of_step = inj[HC_INJ_H2_OUT_OF_STEP];
		s.grpc_tp_missed = inj[HC_INJ_H2_CUT] + inj[HC_INJ_H2_HITS_FULL];
	}
	if (t->loader && probe_loader_db(t->loader)) {
		uint64_t d[DB_STAT_COUNT] = { 0 };

		db_loader_read_stats(probe_loader_db(t->loader), d); /* zeros if the read fails */
		s.db_calls = d[DB_STAT_CALLS];
		s.db_sampled = d[DB_STAT_SAMPLED];
		s.db_errors = d[DB_STAT_ERRORS];
		s.db_parent_goroutine = d[DB_STAT_PARENT_GOROUTINE];
		s.db_parent_context = d[DB_STAT_PARENT_CONTEXT];
		s.db_missing_start = d[DB_STAT_MISSING_START];
		s.db_ringbuf_drops = d[DB_STAT_RINGBUF_FULL];
	}
	s.grpc_propagation = grpc_loader_propagation(t->loader ? probe_loader_grpc(t->loader) : NULL);
	if (t->loader && probe_loader_grpc(t->loader)) {
		uint64_t g[GR_STAT_COUNT] = { 0 };

		grpc_loader_read_stats(probe_loader_grpc(t->loader), g); /* zeros on failure */
		s.grpc_tp_filed = g[GR_STAT_OUT_FILED];
		s.grpc_tp_left_alone = g[GR_STAT_OUT_HAD_TRACEPARENT];
		s.grpc_server_rpcs = g[GR_STAT_SERVER_RPCS];
		s.grpc_client_calls = g[GR_STAT_CLIENT_CALLS];
		s.grpc_sampled = g[GR_STAT_SERVER_SAMPLED] + g[GR_STAT_CLIENT_SAMPLED];
		/* A traceparent in a gRPC request's metadata is an HTTP/2 header too. */
		s.traceparent_found += g[GR_STAT_TRACEPARENT];
		s.ringbuf_drops += g[GR_STAT_RINGBUF_FULL];
		s.inflight_drops += g[GR_STAT_INFLIGHT_FULL] + g[GR_STAT_SERVER_MISSING_START];
		s.probes_attached += t->grpc_probes;
	}
	*ret_stats = s;
}

int tracer_in_flight(const struct tracer *t, uint64_t *ret_server, uint64_t *ret_client)
{
	struct inflight_counts held;
	struct inflight_maps m;
	int r;

	if (!t->loader)
		return -EAGAIN;
	probe_loader_inflight_maps(t->loader, &m);
	r = inflight_sweep(&m, NULL, 0, NULL, &held);
	if (r == 0) {
		*ret_server = held.server;
		*ret_client = held.client;
	}
	return r;
}
