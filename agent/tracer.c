/* The tracing core: policy over agent/probe_loader.c. Which processes (a /proc scan
 * matched against the targets), which binaries (each analysed once, by file identity,
 * into a probe plan and an offsets slot), which sampler (the kernel's map), and what a
 * record becomes (agent/span_builder.c). */
#include "agent/tracer.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/client_loader.h"
#include "agent/client_probes.h"
#include "agent/client_span_builder.h"
#include "agent/go_binary.h"
#include "agent/probe_load.h"
#include "agent/probe_loader.h"
#include "agent/process_scan.h"
#include "agent/propagation_adopt.h"
#include "agent/sampler.h"
#include "agent/server_probes.h"
#include "agent/span_builder.h"
#include "lib/log/log.h"

#define COMPONENT "tracer"
/* Distinct executables remembered, traced or not (a non-Go binary is not opened again). */
#define MAX_BINARIES 4096
#define MAX_PROCESSES 4096
#define MAX_CONTAINER_NAMES 64

_Static_assert(TRACER_SAMPLER_SLOTS == HS_MAX_SAMPLERS, "one tracer slot per kernel slot");

const double tracer_duration_bounds_seconds[HS_RED_BOUNDS] = {
	0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
};
const size_t tracer_duration_bucket_count = HS_RED_BUCKETS;

enum binary_state {
	BINARY_TRACEABLE,
	BINARY_NOT_GO,   /* not a Go program: ignored, not an error */
	BINARY_SKIPPED,  /* a Go program we cannot trace; skip_reason says why */
};

struct binary {
	struct exe_identity id;
	enum binary_state state;
	enum tracer_skip_reason skip_reason;
	uint32_t slot; /* offsets slot, BINARY_TRACEABLE only */
	struct server_probe_plan plan;
	struct client_probe_plan client;
	int has_client; /* it makes net/http calls the client probes can trace */
};

struct traced_process {
	pid_t pid;
	uint64_t start_time;
	struct probe_attachment *attachment; /* NULL: attaching failed */
	struct client_attachment *client;    /* NULL: none */
	int seen; /* in the current scan */
	struct tracer_selection sel;
};

struct tracer {
	struct probe_loader *loader; /* NULL while loading */
	struct probe_load *loading;  /* a background load under way */
	char *proc_root;
	tracer_span_fn on_span;
	tracer_select_fn select;
	void *ud;
	struct tracer_sampler sampler; /* in force (in the kernel once loaded) */
	uint64_t sampler_revision;
	struct tracer_sampler slot_samplers[TRACER_SAMPLER_SLOTS]; /* [0] unused */
	uint8_t slot_set[TRACER_SAMPLER_SLOTS];
	size_t last_tag_proc; /* the process of the last record: a node's spans come in runs */

	char *target_exe;
	char **container_names;

	struct binary *binaries;
	size_t n_binaries;
	uint32_t next_slot;

	struct traced_process *procs; /* attached, or failed to attach: not retried */
	size_t n_procs;
	size_t n_attached;
	size_t client_probes; /* attached now */

	int64_t wall_minus_mono_ns;
	struct otlp_span span; /* scratch for the record being delivered */
	size_t budget;         /* spans the poll under way may still deliver */

	uint64_t probes_failed;
	uint64_t skipped[TRACER_SKIP_REASONS];
	uint64_t spans_delivered;
	uint64_t records_invalid;
};

static void set_client_offsets(struct tracer *t, struct binary *b);

static const char *const skip_names[TRACER_SKIP_REASONS] = {
	[TRACER_SKIP_UNREADABLE] = "unreadable",
	[TRACER_SKIP_NO_SYMBOLS] = "no_symbols",
	[TRACER_SKIP_UNSUPPORTED_GO] = "unsupported_go",
	[TRACER_SKIP_ATTACH_FAILED] = "attach_failed",
};

const char *tracer_skip_reason_name(enum tracer_skip_reason reason)
{
	return (unsigned)reason < TRACER_SKIP_REASONS ? skip_names[reason] : "unknown";
}

static int64_t wall_minus_mono(void)
{
	struct timespec m1, w, m2;

	/* The realtime read bracketed by two monotonic ones: the offset to within their gap. */
	clock_gettime(CLOCK_MONOTONIC, &m1);
	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m2);
	int64_t mono = ((int64_t)m1.tv_sec * 1000000000 + m1.tv_nsec +
			(int64_t)m2.tv_sec * 1000000000 + m2.tv_nsec) / 2;
	return (int64_t)w.tv_sec * 1000000000 + w.tv_nsec - mono;
}

/* Where each ring record carries its process's pid: the server's and the client's
 * layouts, told apart by size (on_record). */
_Static_assert(sizeof(struct hc_span_record) != sizeof(struct hs_span_record),
	       "records are told apart by size");

static int record_pid(const void *data, size_t size, uint32_t *ret_pid)
{
	size_t at;

	if (size == sizeof(struct hc_span_record))
		at = offsetof(struct hc_span_record, pid);
	else if (size >= offsetof(struct hs_span_record, pid) + sizeof(uint32_t))
		at = offsetof(struct hs_span_record, pid);
	else
		return -EINVAL;
	memcpy(ret_pid, (const char *)data + at, sizeof(*ret_pid));
	return 0;
}

/* The tag the select callback gave the process a record is from; 0 when it is gone. */
static uint32_t span_tag_of(struct tracer *t, const void *data, size_t size)
{
	uint32_t pid;

	if (record_pid(data, size, &pid))
		return 0;
	if (t->last_tag_proc < t->n_procs && (uint32_t)t->procs[t->last_tag_proc].pid == pid)
		return t->procs[t->last_tag_proc].sel.span_tag;
	for (size_t i = 0; i < t->n_procs; i++) {
		if ((uint32_t)t->procs[i].pid == pid) {
			t->last_tag_proc = i;
			return t->procs[i].sel.span_tag;
		}
	}
	return 0;
}

static int on_record(void *ud, const void *data, size_t size)
{
	struct tracer *t = ud;
	int r = size == sizeof(struct hc_span_record) ?
			client_span_builder_build(data, size, t->wall_minus_mono_ns, &t->span) :
			span_builder_build(data, size, t->wall_minus_mono_ns, &t->span);

	if (r) {
		t->records_invalid++;
		return 0;
	}
	if (t->select)
		t->span.resource_id = span_tag_of(t, data, size);
	t->spans_delivered++;
	if (t->on_span)
		t->on_span(t->ud, &t->span);
	/* The rest stays in the ring. */
	return --t->budget ? 0 : -ECANCELED;
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
			 "programs; no writes to process memory)", propagation_mechanism(p));
	else
		log_warn(COMPONENT, "outgoing trace context: none (%s); client spans are still "
			 "traced", p ? propagation_why(p) : "turned off");
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
		int w = snprintf(line + used, sizeof(line) - used, "%s%s %u", i ? ", " : "",
				 progs[i].name, progs[i].verified_insns);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	log_info(COMPONENT, "BPF programs loaded in %ld ms (%ld ms of CPU); instructions verified: %s; "
		 "attaching with %s", cost->wall_ms, cost->cpu_ms, line,
		 probe_loader_attach_kind(t->loader));
	log_client(t);
}

/* Returns a new tracer; copies what opts points to. */
int tracer_new(const struct tracer_opts *opts, struct tracer **ret_tracer)
{
	struct probe_loader_opts lo = {
		.ringbuf_bytes = opts->ringbuf_bytes,
		.max_inflight = opts->max_inflight,
		.with_client = !opts->no_client,
		.no_propagation = opts->no_propagation,
		.on_record = on_record,
	};
	struct tracer *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->on_span = opts->on_span;
	t->select = opts->select;
	t->ud = opts->ud;
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
	t->wall_minus_mono_ns = wall_minus_mono();
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
		if (r == 0)
			set_client_offsets(t, b);
		if (r) {
			b->state = BINARY_SKIPPED;
			b->skip_reason = TRACER_SKIP_UNREADABLE;
			t->skipped[b->skip_reason]++;
			log_warn(COMPONENT, "offsets of a binary refused: %s", strerror(-r));
		}
	}
	return 0;
}

/* The client offsets of a traceable binary, when it has client probes; a refusal
 * leaves it traced as a server only. */
static void set_client_offsets(struct tracer *t, struct binary *b)
{
	struct client_loader *cl = t->loader ? probe_loader_client(t->loader) : NULL;
	int r;

	if (!b->has_client || !cl)
		return;
	r = client_loader_set_offsets(cl, b->slot, &b->client.offsets);
	if (r) {
		b->has_client = 0;
		log_warn(COMPONENT, "client offsets refused: %s", strerror(-r));
	}
}

static int same_identity(const struct exe_identity *a, const struct exe_identity *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

static enum tracer_skip_reason skip_reason_of(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTUNIQ:
		return TRACER_SKIP_NO_SYMBOLS;
	case -EPROTONOSUPPORT:
		return TRACER_SKIP_UNSUPPORTED_GO;
	default:
		return TRACER_SKIP_UNREADABLE;
	}
}

/* Analyses the executable of p once: its plan and offsets slot, or why not. */
static struct binary *binary_for(struct tracer *t, const struct process_info *p)
{
	struct go_binary *gb = NULL;
	struct binary *b;
	int r;

	for (size_t i = 0; i < t->n_binaries; i++) {
		if (same_identity(&t->binaries[i].id, &p->id))
			return &t->binaries[i];
	}
	if (t->n_binaries == MAX_BINARIES) {
		/* Forget the non-Go ones: they only cost a re-read. */
		size_t kept = 0;

		for (size_t i = 0; i < t->n_binaries; i++) {
			if (t->binaries[i].state != BINARY_NOT_GO)
				t->binaries[kept++] = t->binaries[i];
		}
		t->n_binaries = kept;
		if (kept == MAX_BINARIES)
			return NULL;
	}
	b = &t->binaries[t->n_binaries];
	memset(b, 0, sizeof(*b));
	b->id = p->id;
	r = go_binary_open(p->exe_link, NULL, &gb);
	if (r == -ENOEXEC) {
		b->state = BINARY_NOT_GO;
		goto done;
	}
	if (r == 0)
		r = server_probes_plan(gb, &b->plan);
	if (r == -ENOENT) {
		/* A Go program without a net/http server: nothing to trace, not an error. */
		b->state = BINARY_NOT_GO;
		goto done;
	}
	if (r == 0 && t->next_slot >= HS_MAX_BINARIES)
		r = -ENOSPC;
	if (r == 0) {
		b->slot = t->next_slot;
		b->plan.offsets.valid = 1;
		int cr = client_probes_plan(gb, &b->client);

		b->has_client = cr == 0;
		if (cr && cr != -ENOENT)
			log_info(COMPONENT, "%s: no client spans (%s)", p->exe, strerror(-cr));
		/* While loading, tracer_finish_loading sets them. */
		if (t->loader)
			r = probe_loader_set_offsets(t->loader, b->slot, &b->plan.offsets);
		if (t->loader && r == 0)
			set_client_offsets(t, b);
	}
	if (r) {
		b->state = BINARY_SKIPPED;
		b->skip_reason = skip_reason_of(r);
		t->skipped[b->skip_reason]++;
		log_warn(COMPONENT, "not tracing %s (pid %d): %s (%s)", p->exe, (int)p->pid,
			 tracer_skip_reason_name(b->skip_reason), strerror(-r));
		goto done;
	}
	t->next_slot++;
	b->state = BINARY_TRACEABLE;
	log_info(COMPONENT, "traceable: %s (%s), ServeHTTP probe at %s", p->exe,
		 go_buildinfo_go_version(go_binary_buildinfo(gb)), probe_kind_name(b->plan.start.kind));
	if (b->has_client)
		log_info(COMPONENT, "client probes: roundTrip at %s (%s), end %s (%s), dial errors %s",
			 probe_kind_name(b->client.start.kind), insn_cost_name(b->client.start.cost),
			 probe_kind_name(b->client.end.kind), insn_cost_name(b->client.end.cost),
			 b->client.has_failed ? probe_kind_name(b->client.failed.kind) : "not traced");
done:
	if (gb) {
		go_binary_free(gb);
		/* Reading a binary's symbols and DWARF took megabytes, now free: give the
		 * pages back (a sidecar's footprint is multiplied by every pod). */
		malloc_trim(0);
	}
	t->n_binaries++;
	return b;
}

static struct traced_process *find_process(struct tracer *t, pid_t pid)
{
	for (size_t i = 0; i < t->n_procs; i++) {
		if (t->procs[i].pid == pid)
			return &t->procs[i];
	}
	return NULL;
}

static void release_process(struct tracer *t, size_t i)
{
	if (t->procs[i].attachment)
		t->n_attached--;
	t->client_probes -= client_attachment_probes(t->procs[i].client);
	client_attachment_free(t->procs[i].client);
	probe_attachment_free(t->procs[i].attachment);
	t->procs[i] = t->procs[--t->n_procs];
}

/* The connections pid opened before its calls were traced carry trace context too
 * (agent/propagation_adopt.h). Failing that, only its new connections do. */
static void adopt_connections(struct tracer *t, pid_t pid)
{
	const struct propagation *prop = client_loader_propagation(probe_loader_client(t->loader));
	size_t added = 0;
	int r;

	if (!propagation_active(prop))
		return;
	r = propagation_adopt(propagation_socks_fd(prop), t->proc_root, pid, &added);
	if (r)
		log_warn(COMPONENT, "pid %d: its open connections will not carry trace context "
			 "(only new ones): %s", (int)pid, strerror(-r));
	else if (added)
		log_info(COMPONENT, "pid %d: %zu connections it opened before it was traced carry "
			 "trace context from now on", (int)pid, added);
}

static int scan_one(void *ud, const struct process_info *p)
{
	struct tracer *t = ud;
	struct traced_process *tp = find_process(t, p->pid);
	struct tracer_selection sel = { 0 };
	struct probe_attach_spec spec;
	struct binary *b;
	int r;

	if (t->select && !t->select(t->ud, p, &sel)) {
		if (tp) { /* no longer wanted (its pod opted out or went): detached */
			if (tp->attachment)
				log_info(COMPONENT, "pid %d no longer selected: detached", (int)p->pid);
			release_process(t, (size_t)(tp - t->procs));
		}
		return 0;
	}
	if (tp && tp->start_time == p->start_time &&
	    memcmp(&tp->sel, &sel, sizeof(sel)) == 0) {
		tp->seen = 1;
		return 0;
	}
	if (tp) /* the pid was reused, or its selection changed: attached again */
		release_process(t, (size_t)(tp - t->procs));
	if (!t->select && !process_exe_matches(t->target_exe, p->exe))
		return 0;
	if (!t->select && t->container_names) {
		char name[256];
		int known = process_container_name(t->proc_root, p->pid, name, sizeof(name)) == 0;
		if (!process_container_matches((const char *const *)t->container_names,
					       known ? name : NULL))
			return 0;
	}
	b = binary_for(t, p);
	if (!b || b->state != BINARY_TRACEABLE || t->n_procs == MAX_PROCESSES)
		return 0;
	if (!t->loader)
		return 0; /* read now; attached by the first scan after the load */
	spec = (struct probe_attach_spec){
		.pid = p->pid,
		.binary_path = p->exe_link,
		.start_offset = b->plan.start.file_offset,
		.end_offset = b->plan.end.file_offset,
		.offsets_slot = b->slot,
		.sampler_slot = sel.sampler_slot,
	};
	tp = &t->procs[t->n_procs];
	memset(tp, 0, sizeof(*tp));
	tp->pid = p->pid;
	tp->start_time = p->start_time;
	tp->seen = 1;
	tp->sel = sel;
	t->n_procs++;
	r = probe_loader_attach(t->loader, &spec, &tp->attachment);
	if (r) {
		/* Remembered without probes: counted and logged once, not retried every scan. */
		t->probes_failed += PROBE_ATTACHMENT_PROBES;
		t->skipped[TRACER_SKIP_ATTACH_FAILED]++;
		log_warn(COMPONENT, "attaching to pid %d (%s) failed: %s%s", (int)p->pid, p->exe,
			 strerror(-r),
			 r == -EACCES && strcmp(probe_loader_attach_kind(t->loader), "perf-event uprobes") == 0
				 ? " (this kernel has no uprobe_multi links, and its perf-event uprobes "
				   "want CAP_SYS_ADMIN)"
				 : "");
		return 0;
	}
	t->n_attached++;
	if (b->has_client && probe_loader_client(t->loader)) {
		struct client_attach_spec cs = {
			.pid = p->pid,
			.binary_path = p->exe_link,
			.plan = &b->client,
			.offsets_slot = b->slot,
			.sampler_slot = sel.sampler_slot,
		};

		r = client_loader_attach(probe_loader_client(t->loader), &cs, &tp->client);
		if (r) {
			/* Its server spans go on. */
			t->probes_failed++;
			log_warn(COMPONENT, "client probes on pid %d (%s) failed: %s", (int)p->pid,
				 p->exe, strerror(-r));
		} else {
			t->client_probes += client_attachment_probes(tp->client);
			adopt_connections(t, p->pid);
		}
	}
	log_info(COMPONENT, "tracing pid %d (%s)%s", (int)p->pid, p->exe,
		 tp->client ? ", with its HTTP calls" : "");
	return 0;
}

int tracer_scan(struct tracer *t)
{
	int r;

	for (size_t i = 0; i < t->n_procs; i++)
		t->procs[i].seen = 0;
	r = process_scan_each(t->proc_root, scan_one, t);
	if (r)
		return r;
	for (size_t i = t->n_procs; i-- > 0;) {
		if (!t->procs[i].seen) {
			if (t->procs[i].attachment)
				log_info(COMPONENT, "pid %d exited", (int)t->procs[i].pid);
			release_process(t, i);
		}
	}
	return 0;
}

int tracer_poll_at_most(struct tracer *t, size_t max)
{
	uint64_t before = t->spans_delivered;
	int r;

	if (!t->loader || max == 0)
		return 0;
	if (max > INT_MAX)
		max = INT_MAX;
	t->budget = max;
	t->wall_minus_mono_ns = wall_minus_mono();
	r = probe_loader_consume(t->loader);
	if (r < 0 && r != -ECANCELED)
		return r;
	return (int)(t->spans_delivered - before);
}

int tracer_poll(struct tracer *t)
{
	return tracer_poll_at_most(t, SIZE_MAX);
}

int tracer_wakeup_fd(const struct tracer *t)
{
	return t->loader ? probe_loader_wakeup_fd(t->loader) : -1;
}

void tracer_foreach_attached(const struct tracer *t, void (*fn)(void *ud, uint32_t span_tag),
			     void *ud)
{
	for (size_t i = 0; i < t->n_procs; i++)
		if (t->procs[i].attachment)
			fn(ud, t->procs[i].sel.span_tag);
}

void tracer_get_stats(const struct tracer *t, struct tracer_stats *ret_stats)
{
	uint64_t k[HS_STAT_COUNT] = { 0 };
	struct tracer_stats s;

	memset(&s, 0, sizeof(s));
	if (t->loader)
		probe_loader_read_stats(t->loader, k); /* zeros if the read fails */
	s.processes = t->n_attached;
	s.probes_attached = (uint64_t)t->n_attached * PROBE_ATTACHMENT_PROBES + t->client_probes;
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
	}
	*ret_stats = s;
}

struct red_ctx {
	tracer_red_fn fn;
	void *ud;
};

static void red_one(void *ud, const struct hs_red_key *key, const struct hs_red_value *v)
{
	struct red_ctx *c = ud;
	uint64_t buckets[HS_RED_BUCKETS];

	if (key->method_id >= HS_METHOD_COUNT)
		return;
	for (size_t i = 0; i < HS_RED_BUCKETS; i++)
		buckets[i] = v->buckets[i];
	c->fn(c->ud, span_builder_method_name(key->method_id), key->status, buckets, v->count,
	      (double)v->sum_ns / 1e9);
}

int tracer_red_foreach(struct tracer *t, tracer_red_fn fn, void *ud)
{
	struct red_ctx c = { .fn = fn, .ud = ud };

	return t->loader ? probe_loader_red_foreach(t->loader, red_one, &c) : 0;
}

struct client_red_ctx {
	tracer_client_red_fn fn;
	void *ud;
};

static void client_red_one(void *ud, const struct hc_red_key *key, const struct hs_red_value *v)
{
	struct client_red_ctx *c = ud;
	char host[HC_HOST_MAX + 1], scheme_less[HC_HOST_MAX + 1];
	const char *h;
	size_t hl, n = key->host_len < HC_HOST_MAX ? key->host_len : HC_HOST_MAX;
	unsigned port;

	if (key->method_id >= HS_METHOD_COUNT)
		return;
	memcpy(scheme_less, key->host, n);
	scheme_less[n] = '\0';
	span_builder_split_host_port(scheme_less, n, &h, &hl, &port);
	memcpy(host, h, hl);
	host[hl] = '\0';
	uint64_t buckets[HS_RED_BUCKETS];

	for (size_t i = 0; i < HS_RED_BUCKETS; i++)
		buckets[i] = v->buckets[i];
	c->fn(c->ud, span_builder_method_name(key->method_id), key->status, key->error, host, port,
	      buckets, v->count, (double)v->sum_ns / 1e9);
}

int tracer_client_red_foreach(struct tracer *t, tracer_client_red_fn fn, void *ud)
{
	struct client_red_ctx c = { .fn = fn, .ud = ud };
	struct client_loader *cl = t->loader ? probe_loader_client(t->loader) : NULL;

	return cl ? client_loader_red_foreach(cl, client_red_one, &c) : 0;
}
