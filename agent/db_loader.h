/* The database/sql client probes as a small library beside agent/probe_loader.c and
 * agent/client_loader.c: loads bpf/db_client.bpf.c on the maps the server probes made
 * (ring buffer, sampler, in-flight and context slots: one ring, one sampler, spans
 * linked to the server request they serve) and attaches its uprobes to one process.
 * No policy here.
 *
 * Not thread-safe. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_DB_LOADER_H
#define AUTOTRACE_AGENT_DB_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/db_probes.h"

/* What the server probes' object shares (fds borrowed from it). */
struct db_loader_shared {
	int spans_fd, inflight_fd, inflight_sampled_fd, sampler_fd, ctx_slots_fd;
	uint32_t inflight_mask;
	uint64_t wakeup_bytes;
	int multi; /* uprobe_multi links */
};

struct db_loader;
struct db_attachment;

/* Returns a new loader in ret. */
int db_loader_new(const struct db_loader_shared *shared, struct db_loader **ret);
struct db_loader *db_loader_free(struct db_loader *dl);

/* What the probes know of the binary in offsets slot [0, HS_MAX_BINARIES). */
int db_loader_set_binary(struct db_loader *dl, uint32_t slot, const struct db_binary *bin);

struct db_attach_spec {
	pid_t pid;
	const char *binary_path;
	const struct db_probe_plan *plan;
	uint32_t offsets_slot; /* [0, HS_MAX_BINARIES) */
	uint32_t sampler_slot; /* [0, HS_MAX_SAMPLERS) */
};
/* Attaches the starts and ends of the functions the plan has, every probe or none.
 * Returns a new attachment. */
int db_loader_attach(struct db_loader *dl, const struct db_attach_spec *spec,
		     struct db_attachment **ret);
/* Detaches; accepts NULL; returns NULL. */
struct db_attachment *db_attachment_free(struct db_attachment *a);
size_t db_attachment_probes(const struct db_attachment *a);

/* Statistics summed over the CPUs into ret[DB_STAT_COUNT]. */
int db_loader_read_stats(const struct db_loader *dl, uint64_t *ret);

/* Each RED series, summed over the CPUs. */
typedef void (*db_red_fn)(void *ud, const struct db_red_key *key,
			  const struct db_red_value *value);
int db_loader_red_foreach(const struct db_loader *dl, db_red_fn fn, void *ud);

#endif
