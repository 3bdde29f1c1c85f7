/* The tracer's attach side: the /proc scan, each executable analysed once (by file
 * identity) into a probe plan and an offsets slot, and each selected process's probes
 * attached, kept, or released when it exits or is no longer wanted. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/client_loader.h"
#include "agent/db_loader.h"
#include "agent/go_binary.h"
#include "agent/inflight_sweep.h"
#include "agent/grpc_loader.h"
#include "agent/probe_loader.h"
#include "agent/propagation_adopt.h"
#include "agent/tracer_state.h"
#include "lib/log/log.h"

#define COMPONENT "tracer"

/* The client offsets of a traceable binary, when it has client probes; a refusal
 * leaves it traced as a server only. */
void tracer_set_client_offsets(struct tracer *t, struct binary *b)
{
	struct client_loader *cl = t->loader ? probe_loader_client(t->loader) : NULL;
	struct grpc_loader *gl = t->loader ? probe_loader_grpc(t->loader) : NULL;
	int r;

	if (b->has_grpc && gl) {
		r = grpc_loader_set_offsets(gl, b->slot, &b->grpc.offsets);
		if (r) {
			b->has_grpc = 0;
			log_warn(COMPONENT, "gRPC offsets refused: %s", strerror(-r));
		}
	}
	if (!b->has_client || !cl)
		return;
	r = client_loader_set_offsets(cl, b->slot, &b->client.offsets);
	if (r) {
		b->has_client = 0;
		log_warn(COMPONENT, "client offsets refused: %s", strerror(-r));
	}
}

/* The h2 offsets slot of b's HTTP/2 server i (bpf/http2_server.h). */
static uint32_t h2_offsets_slot(const struct binary *b, size_t i)
{
	return b->slot + (uint32_t)i * HS_MAX_BINARIES;
}

void tracer_set_h2_offsets(struct tracer *t, struct binary *b)
{
	int r;

	if (!t->loader)
		return;
	for (size_t i = 0; i < b->h2.n; i++) {
		r = probe_loader_set_h2_offsets(t->loader, h2_offsets_slot(b, i),
						&b->h2.plan[i].offsets);
		if (r) {
			b->h2.n = 0;
			log_warn(COMPONENT, "HTTP/2 server offsets refused: %s", strerror(-r));
		}
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

/* The gRPC probes of a binary that uses google.golang.org/grpc; for a grpc version
 * the probes have no offsets for, why not (logged, and counted under
 * grpc_unsupported in the metrics and the health report): its net/http probes go on. */
static void plan_grpc(struct tracer *t, struct binary *b, struct go_binary *gb,
		      const struct process_info *p)
{
	char why[256] = "";
	int r = grpc_probes_plan(gb, &b->grpc, why, sizeof(why));

	b->has_grpc = r == 0;
	if (r == -EPROTONOSUPPORT) {
		struct tracer_failure *f = &t->failures[t->n_failures++ % TRACER_MAX_FAILURES];

		snprintf(f->exe, sizeof(f->exe), "%.*s", (int)sizeof(f->exe) - 1, p->exe);
		f->reason = "GrpcUnsupported";
		snprintf(f->message, sizeof(f->message), "%.*s", (int)sizeof(f->message) - 1, why);
		t->skipped[TRACER_SKIP_GRPC_UNSUPPORTED]++;
		log_warn(COMPONENT, "%s: no gRPC spans: %s; its net/http probes are attached all "
			 "the same", p->exe, why);
	} else if (r && r != -ENOENT) {
		log_warn(COMPONENT, "%s: no gRPC spans (%s)", p->exe, strerror(-r));
	} else if (r == 0) {
		const struct grpc_probe_plan *g = &b->grpc;

		log_info(COMPONENT, "%s: gRPC probes (google.golang.org/grpc %s): server %s "
			 "(headers %s, start %s, end %s), client %s (start %s, end %s), outgoing "
			 "context %s (fields %s, writeHeader %s)",
			 p->exe, g->version, g->has_server ? "yes" : "no",
			 insn_cost_name(g->headers.cost), insn_cost_name(g->server_start.cost),
			 insn_cost_name(g->server_end.cost), g->has_client ? "yes" : "no",
			 insn_cost_name(g->client_start.cost), insn_cost_name(g->client_end.cost),
			 g->has_outgoing ? "yes" : "no",
			 g->has_outgoing ? insn_cost_name(g->client_fields.cost) : "-",
			 g->has_outgoing ? insn_cost_name(g->write_header.cost) : "-");
	}
}

/* Analyses the executable of p once: its plan and offsets slot, or why not. */
static struct binary *binary_for(struct tracer *t, const struct process_info *p)
{
	struct go_binary *gb = NULL;
	struct binary *b;
	int r, grpc_planned = 0;

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
	/* When a process was found, for bench/agent_startup.bench.sh's found -> first span. */
	log_debug(COMPONENT, "found pid %d (%s): reading its binary", (int)p->pid, p->exe);
	r = go_binary_open(p->exe_link, NULL, &gb);
	if (r == -ENOEXEC) {
		b->state = BINARY_NOT_GO;
		goto done;
	}
	if (r == 0)
		r = server_probes_plan(gb, &b->plan);
	b->has_http = r == 0;
	if (r == -ENOENT && gb) {
		/* No net/http server: traced for its gRPC server or calls, if it has any. */
		plan_grpc(t, b, gb, p);
		grpc_planned = 1;
		r = b->has_grpc ? 0 : -ENOENT;
	}
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
		int dr = db_probes_plan(gb, &b->db);

		b->has_db = dr == 0;
		if (dr && dr != -ENOENT)
			log_info(COMPONENT, "%s: no database spans (%s)", p->exe, strerror(-dr));
		if (!grpc_planned)
			plan_grpc(t, b, gb, p);
		cr = h2_server_probes_plan(gb, &b->h2);
		if (cr)
			b->h2.n = 0;
		if (cr && cr != -ENOENT)
			log_info(COMPONENT, "%s: no HTTP/2 server spans (%s)", p->exe, strerror(-cr));
		/* While loading, tracer_finish_loading sets them. */
		if (t->loader)
			r = probe_loader_set_offsets(t->loader, b->slot, &b->plan.offsets);
		if (t->loader && r == 0) {
			tracer_set_client_offsets(t, b);
			tracer_set_db_binary(t, b);
			tracer_set_h2_offsets(t, b);
		}
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
	if (b->has_http)
		log_info(COMPONENT, "traceable: %s (%s), ServeHTTP probe at %s", p->exe,
			 go_buildinfo_go_version(go_binary_buildinfo(gb)),
			 probe_kind_name(b->plan.start.kind));
	else
		log_info(COMPONENT, "traceable: %s (%s), for gRPC (no net/http server)", p->exe,
			 go_buildinfo_go_version(go_binary_buildinfo(gb)));
	if (b->has_client)
		log_info(COMPONENT, "client probes: roundTrip at %s (%s), end %s (%s), dial errors %s",
			 probe_kind_name(b->client.start.kind), insn_cost_name(b->client.start.cost),
			 probe_kind_name(b->client.end.kind), insn_cost_name(b->client.end.cost),
			 b->client.has_failed ? probe_kind_name(b->client.failed.kind) : "not traced");
	if (b->has_db)
		log_info(COMPONENT, "database/sql probes: queryDC at %s (%s), execDC at %s (%s), "
			 "ends %s, statements %s%s%s",
			 b->db.query.present ? probe_kind_name(b->db.query.start.kind) : "-",
			 b->db.query.present ? insn_cost_name(b->db.query.start.cost) : "-",
			 b->db.exec.present ? probe_kind_name(b->db.exec.start.kind) : "-",
			 b->db.exec.present ? insn_cost_name(b->db.exec.start.cost) : "-",
			 b->db.release_ends ? "at the release functions' entries"
					    : "at the RETs (single-stepped)",
			 b->db.binary.stmts ? "traced" : "not traced",
			 db_system_name(b->db.binary.system) ? ", db.system.name " : "",
			 db_system_name(b->db.binary.system) ? db_system_name(b->db.binary.system) : "");
	for (size_t i = 0; i < b->h2.n; i++) {
		const struct h2_server_probe_plan *h = &b->h2.plan[i];

		log_info(COMPONENT, "HTTP/2 server probes (%s): runHandler at %s (%s), handlerDone "
			 "at %s (%s), incoming traceparent %s", h->server,
			 probe_kind_name(h->start.kind), insn_cost_name(h->start.cost),
			 probe_kind_name(h->end.kind), insn_cost_name(h->end.cost),
			 h->offsets.map_kind ? "from the header map" : "not read");
	}
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

static int instrumented(const struct traced_process *tp)
{
	return tp->attachment || tp->client || tp->db || tp->grpc;
}

/* The HTTP/2 servers' probes (net/http's and golang.org/x/net's), part of the net/http
 * server family: attached after its HTTP/1 probes, released with them. */
static void release_h2(struct tracer *t, struct traced_process *tp)
{
	for (size_t k = 0; k < H2_SERVER_MAX_PLANS; k++) {
		t->h2_probes -= probe_attachment_probes(tp->h2[k]);
		tp->h2[k] = probe_attachment_free(tp->h2[k]);
	}
}

static void release_process(struct tracer *t, size_t i)
{
	if (instrumented(&t->procs[i])) {
		if (t->n_released == MAX_RELEASED)
			tracer_sweep_released(t);
		t->released[t->n_released++] = (uint32_t)t->procs[i].pid;
		t->n_attached--;
	}
	t->client_probes -= client_attachment_probes(t->procs[i].client);
	t->db_probes -= db_attachment_probes(t->procs[i].db);
	client_attachment_free(t->procs[i].client);
	db_attachment_free(t->procs[i].db);
	t->grpc_probes -= grpc_attachment_probes(t->procs[i].grpc);
	grpc_attachment_free(t->procs[i].grpc);
	release_h2(t, &t->procs[i]);
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

static void attach_h2(struct tracer *t, struct traced_process *tp, const struct binary *b,
		      const struct process_info *p)
{
	struct probe_attach_spec spec = {
		.pid = p->pid,
		.binary_path = p->exe_link,
		.sampler_slot = tp->sel.sampler_slot,
	};

	for (size_t k = 0; k < b->h2.n; k++) {
		int r;

		spec.start_offset = b->h2.plan[k].start.file_offset;
		spec.end_offset = b->h2.plan[k].end.file_offset;
		spec.offsets_slot = h2_offsets_slot(b, k);
		r = probe_loader_attach_h2(t->loader, &spec, &tp->h2[k]);
		if (r) {
			/* Its HTTP/1 spans go on. */
			t->probes_failed += PROBE_ATTACHMENT_PROBES;
			log_warn(COMPONENT, "HTTP/2 server probes on pid %d (%s) failed: %s",
				 (int)p->pid, p->exe, strerror(-r));
			continue;
		}
		t->h2_probes += probe_attachment_probes(tp->h2[k]);
	}
}

static int attach_server(struct tracer *t, struct traced_process *tp, const struct binary *b,
			 const struct process_info *p)
{
	struct probe_attach_spec spec = {
		.pid = p->pid,
		.binary_path = p->exe_link,
		.start_offset = b->plan.start.file_offset,
		.end_offset = b->plan.end.file_offset,
		.offsets_slot = b->slot,
		.sampler_slot = tp->sel.sampler_slot,
	};
	int r = probe_loader_attach(t->loader, &spec, &tp->attachment);

	if (r) {
		/* Counted and logged once, not retried every scan. */
		tp->server_failed = 1;
		t->probes_failed += PROBE_ATTACHMENT_PROBES;
		t->skipped[TRACER_SKIP_ATTACH_FAILED]++;
		log_warn(COMPONENT, "attaching to pid %d (%s) failed: %s%s", (int)p->pid, p->exe,
			 strerror(-r),
			 r == -EACCES && strcmp(probe_loader_attach_kind(t->loader), "perf-event uprobes") == 0
				 ? " (this kernel has no uprobe_multi links, and its perf-event uprobes "
				   "want CAP_SYS_ADMIN)"
				 : "");
	}
	return r;
}

static void attach_client(struct tracer *t, struct traced_process *tp, const struct binary *b,
			  const struct process_info *p)
{
	struct client_attach_spec cs = {
		.pid = p->pid,
		.binary_path = p->exe_link,
		.plan = &b->client,
		.offsets_slot = b->slot,
		.sampler_slot = tp->sel.sampler_slot,
	};
	int r = client_loader_attach(probe_loader_client(t->loader), &cs, &tp->client);

	if (r) {
		/* Its other spans go on. */
		tp->client_failed = 1;
		t->probes_failed++;
		log_warn(COMPONENT, "client probes on pid %d (%s) failed: %s", (int)p->pid, p->exe,
			 strerror(-r));
		return;
	}
	t->client_probes += client_attachment_probes(tp->client);
	adopt_connections(t, p->pid);
}

/* Brings tp's probes to what its sampler slot's families say: a family turned off is
 * detached, one turned on attached (each at most once after a failure). */
static void attach_grpc(struct tracer *t, struct traced_process *tp, const struct binary *b,
			const struct process_info *p)
{
	int r = grpc_loader_attach(probe_loader_grpc(t->loader), p->pid, p->exe_link, &b->grpc,
				   b->slot, tp->sel.sampler_slot, &tp->grpc);

	if (r) {
		/* Its net/http spans go on; not retried every scan. */
		tp->grpc_failed = 1;
		t->probes_failed++;
		log_warn(COMPONENT, "gRPC probes on pid %d (%s) failed: %s", (int)p->pid, p->exe,
			 strerror(-r));
		return;
	}
	t->grpc_probes += grpc_attachment_probes(tp->grpc);
	/* gRPC dials its connections ahead of the calls (and keeps them): those open
	 * already carry the calls' context too (a second look after the client probes'
	 * adds none twice). */
	if (b->grpc.has_outgoing)
		adopt_connections(t, p->pid);
}

static void apply_families(struct tracer *t, struct traced_process *tp, const struct binary *b,
			   const struct process_info *p)
{
	const struct tracer_probes *want = &t->slot_probes[tp->sel.sampler_slot];
	int was = instrumented(tp);

	/* A program without a net/http server is traced for its gRPC alone. */
	if (!want->http_server || !b->has_http) {
		tp->attachment = probe_attachment_free(tp->attachment);
		release_h2(t, tp);
		tp->server_failed = 0;
	} else if (!tp->attachment && !tp->server_failed && attach_server(t, tp, b, p) == 0) {
		attach_h2(t, tp, b, p);
	}
	if (!want->http_client || !b->has_client || !probe_loader_client(t->loader)) {
		t->client_probes -= client_attachment_probes(tp->client);
		tp->client = client_attachment_free(tp->client);
		tp->client_failed = 0;
	} else if (!tp->client && !tp->client_failed) {
		attach_client(t, tp, b, p);
	}
	if (!want->database_sql || !b->has_db || !probe_loader_db(t->loader)) {
		t->db_probes -= db_attachment_probes(tp->db);
		tp->db = db_attachment_free(tp->db);
		tp->db_failed = 0;
	} else if (!tp->db && !tp->db_failed) {
		tracer_attach_db(t, tp, b, p);
	}
	/* One attachment carries the gRPC server and client probes. */
	if (!want->grpc || !b->has_grpc || !probe_loader_grpc(t->loader)) {
		t->grpc_probes -= grpc_attachment_probes(tp->grpc);
		tp->grpc = grpc_attachment_free(tp->grpc);
		tp->grpc_failed = 0;
	} else if (!tp->grpc && !tp->grpc_failed) {
		attach_grpc(t, tp, b, p);
	}
	if (was && !instrumented(tp))
		t->n_attached--;
	else if (!was && instrumented(tp))
		t->n_attached++;
	tp->applied = *want;
}

static int same_families(const struct tracer_probes *a, const struct tracer_probes *b)
{
	return a->http_server == b->http_server && a->http_client == b->http_client &&
	       a->database_sql == b->database_sql && a->grpc == b->grpc;
}

static int scan_one(void *ud, const struct process_info *p)
{
	struct tracer *t = ud;
	struct traced_process *tp = find_process(t, p->pid);
	struct tracer_selection sel = { 0 };
	struct binary *b;

	if (t->select && !t->select(t->ud, p, &sel)) {
		if (tp) { /* no longer wanted (its pod opted out or went): detached */
			if (instrumented(tp))
				log_info(COMPONENT, "pid %d no longer selected: detached", (int)p->pid);
			release_process(t, (size_t)(tp - t->procs));
		}
		return 0;
	}
	if (tp && tp->start_time == p->start_time &&
	    memcmp(&tp->sel, &sel, sizeof(sel)) == 0) {
		tp->seen = 1;
		/* Its Instrumentation turned a probe family off or on. */
		if (t->loader && !same_families(&tp->applied, &t->slot_probes[sel.sampler_slot]) &&
		    (b = binary_for(t, p)) && b->state == BINARY_TRACEABLE)
			apply_families(t, tp, b, p);
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
	tp = &t->procs[t->n_procs];
	memset(tp, 0, sizeof(*tp));
	tp->pid = p->pid;
	tp->start_time = p->start_time;
	tp->seen = 1;
	tp->sel = sel;
	t->n_procs++;
	apply_families(t, tp, b, p);
	if (instrumented(tp))
		log_info(COMPONENT, "tracing pid %d (%s)%s%s%s%s%s", (int)p->pid, p->exe,
			 tp->attachment ? "" : " (no server probes)",
			 tp->h2[0] ? ", over HTTP/1 and HTTP/2" : "",
			 tp->client ? ", with its HTTP calls" : "",
			 tp->db ? ", with its database/sql calls" : "",
			 tp->grpc ? ", with gRPC" : "");
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
			if (instrumented(&t->procs[i]))
				log_info(COMPONENT, "pid %d exited", (int)t->procs[i].pid);
			release_process(t, i);
		}
	}
	tracer_sweep_released(t);
	return 0;
}

void tracer_sweep_released(struct tracer *t)
{
	struct inflight_counts freed;
	struct inflight_maps m;
	struct timespec t0, t1;
	size_t n = 0;
	int r;

	/* A pid attached again (its selection changed, or reused) keeps its entries. */
	for (size_t i = 0; i < t->n_released; i++)
		if (!find_process(t, (pid_t)t->released[i]))
			t->released[n++] = t->released[i];
	t->n_released = 0;
	if (n == 0 || !t->loader)
		return;
	probe_loader_inflight_maps(t->loader, &m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = inflight_sweep(&m, t->released, n, &freed, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r) {
		log_warn(COMPONENT, "sweeping the requests in flight of %zu released processes: %s",
			 n, strerror(-r));
		return;
	}
	t->swept_server += freed.server;
	t->swept_client += freed.client;
	if (freed.server || freed.client)
		log_info(COMPONENT, "%llu requests and %llu calls in flight when their process went "
			 "were freed (a walk of %.1f ms)", (unsigned long long)freed.server,
			 (unsigned long long)freed.client,
			 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

void tracer_foreach_attached(const struct tracer *t, void (*fn)(void *ud, uint32_t span_tag),
			     void *ud)
{
	for (size_t i = 0; i < t->n_procs; i++)
		if (instrumented(&t->procs[i]))
			fn(ud, t->procs[i].sel.span_tag);
}

size_t tracer_failures(const struct tracer *t, struct tracer_failure *ret, size_t cap)
{
	size_t n = t->n_failures < TRACER_MAX_FAILURES ? t->n_failures : TRACER_MAX_FAILURES,
	       first = t->n_failures - n, k = 0;

	for (size_t i = 0; i < n && k < cap; i++)
		ret[k++] = t->failures[(first + i) % TRACER_MAX_FAILURES];
	return k;
}
