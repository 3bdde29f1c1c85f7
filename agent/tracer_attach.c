/* The tracer's attach side: the /proc scan, each executable analysed once (by file
 * identity) into a probe plan and an offsets slot, and each selected process's probes
 * attached, kept, or released when it exits or is no longer wanted. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "agent/client_loader.h"
#include "agent/go_binary.h"
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
	/* When a process was found, for bench/agent_startup.bench.sh's found -> first span. */
	log_debug(COMPONENT, "found pid %d (%s): reading its binary", (int)p->pid, p->exe);
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
			tracer_set_client_offsets(t, b);
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

void tracer_foreach_attached(const struct tracer *t, void (*fn)(void *ud, uint32_t span_tag),
			     void *ud)
{
	for (size_t i = 0; i < t->n_procs; i++)
		if (t->procs[i].attachment)
			fn(ud, t->procs[i].sel.span_tag);
}
