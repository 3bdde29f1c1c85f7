/* What agent/tracer.c, tracer_attach.c and tracer_records.c share: the tracer's
 * state. Private to those three files; everything else goes through agent/tracer.h. */
#ifndef AUTOTRACE_AGENT_TRACER_STATE_H
#define AUTOTRACE_AGENT_TRACER_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/client_probes.h"
#include "agent/h2_server_probes.h"
#include "agent/process_scan.h"
#include "agent/server_probes.h"
#include "agent/tracer.h"
#include "lib/otlp/span.h"

/* Distinct executables remembered, traced or not (a non-Go binary is not opened again). */
#define MAX_BINARIES 4096
#define MAX_PROCESSES 4096
#define MAX_CONTAINER_NAMES 64

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
	struct h2_server_probe_plans h2; /* its HTTP/2 servers; h2.n 0: none */
};

struct traced_process {
	pid_t pid;
	uint64_t start_time;
	struct probe_attachment *attachment; /* NULL: attaching failed */
	struct client_attachment *client;    /* NULL: none */
	struct probe_attachment *h2[H2_SERVER_MAX_PLANS]; /* its HTTP/2 servers'; NULL: none */
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
	size_t h2_probes;     /* the HTTP/2 server's, attached now */

	int64_t wall_minus_mono_ns;
	struct otlp_span span; /* scratch for the record being delivered */
	size_t budget;         /* spans the poll under way may still deliver */

	uint64_t probes_failed;
	uint64_t skipped[TRACER_SKIP_REASONS];
	uint64_t spans_delivered;
	uint64_t records_invalid;
};

/* agent/tracer_records.c: the ring's record callback (ud is the tracer), and the
 * realtime clock's offset from the monotonic one the records are stamped with. */
int tracer_on_record(void *ud, const void *data, size_t size);
int64_t tracer_wall_minus_mono(void);

/* agent/tracer_attach.c: gives the client loader the client offsets of traceable
 * binary b; a refusal leaves it traced as a server only. */
void tracer_set_client_offsets(struct tracer *t, struct binary *b);
/* The same for its HTTP/2 server offsets; a refusal leaves it traced over HTTP/1 only. */
void tracer_set_h2_offsets(struct tracer *t, struct binary *b);

#endif
