/* What agent/tracer.c, tracer_attach.c, tracer_records.c and tracer_db.c share: the
 * tracer's state. Private to those files; everything else goes through
 * agent/tracer.h. */
#ifndef AUTOTRACE_AGENT_TRACER_STATE_H
#define AUTOTRACE_AGENT_TRACER_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/client_probes.h"
#include "agent/db_probes.h"
#include "agent/grpc_probes.h"
#include "agent/h2_server_probes.h"
#include "agent/process_scan.h"
#include "agent/server_probes.h"
#include "agent/tracer.h"
#include "lib/otlp/span.h"

/* Distinct executables remembered, traced or not (a non-Go binary is not opened again). */
#define MAX_BINARIES 4096
#define MAX_PROCESSES 4096
#define MAX_CONTAINER_NAMES 64
/* Processes released in one scan whose requests in flight are swept at its end. */
#define MAX_RELEASED 256

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
	struct db_probe_plan db;
	int has_db; /* it makes database/sql calls */
	struct grpc_probe_plan grpc;
	int has_grpc; /* it uses google.golang.org/grpc and the gRPC probes can trace it */
	int has_http; /* it has a net/http server (else it is traced for gRPC alone) */
	struct h2_server_probe_plans h2; /* its HTTP/2 servers; h2.n 0: none */
};

struct traced_process {
	pid_t pid;
	uint64_t start_time;
	struct probe_attachment *attachment; /* NULL: attaching failed */
	struct client_attachment *client;    /* NULL: none */
	struct db_attachment *db;            /* NULL: none */
	struct grpc_attachment *grpc;        /* NULL: none */
	struct probe_attachment *h2[H2_SERVER_MAX_PLANS]; /* its HTTP/2 servers'; NULL: none */
	int seen; /* in the current scan */
	struct tracer_selection sel;
	/* The families asked for when last applied; a family whose attaching failed is
	 * not tried again until it is turned off and on. */
	struct tracer_probes applied;
	uint8_t server_failed, client_failed, db_failed, grpc_failed;
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
	struct tracer_probes slot_probes[TRACER_SAMPLER_SLOTS]; /* per sampler slot */
	size_t last_tag_proc; /* the process of the last record: a node's spans come in runs */

	char *target_exe;
	char **container_names;

	struct binary *binaries;
	size_t n_binaries;
	uint32_t next_slot;

	struct traced_process *procs; /* attached, or failed to attach: not retried */
	size_t n_procs;
	size_t n_attached;  /* with probes of any family */
	size_t client_probes; /* attached now */
	size_t db_probes;     /* attached now */
	size_t grpc_probes;   /* attached now */
	size_t h2_probes;     /* the HTTP/2 server's, attached now */

	int64_t wall_minus_mono_ns;
	struct otlp_span span; /* scratch for the record being delivered */
	size_t budget;         /* spans the poll under way may still deliver */

	uint32_t released[MAX_RELEASED]; /* pids released in the scan under way */
	size_t n_released;
	uint64_t swept_server, swept_client; /* entries swept (agent/inflight_sweep.h) */

	struct tracer_failure failures[TRACER_MAX_FAILURES]; /* a ring */
	size_t n_failures; /* ever recorded */
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
 * binary b, and the gRPC loader its gRPC offsets; a refusal leaves it traced as a
 * net/http server only. */
void tracer_set_client_offsets(struct tracer *t, struct binary *b);
/* Frees what the kernel holds in flight for the processes released since the last
 * sweep and not traced again meanwhile. */
void tracer_sweep_released(struct tracer *t);

/* agent/tracer_db.c: the same for the database/sql probes. */
void tracer_set_db_binary(struct tracer *t, struct binary *b);
/* Attaches the database/sql probes of binary b to tp's process (p); a failure is
 * counted and marked on tp. */
void tracer_attach_db(struct tracer *t, struct traced_process *tp, const struct binary *b,
		      const struct process_info *p);
/* A database record -> t->span, with the query text as its sampler slot says. */
int tracer_build_db_span(struct tracer *t, const void *data, size_t size);
#define TRACER_DB_RECORD_SIZE 520
/* The same for its HTTP/2 server offsets; a refusal leaves it traced over HTTP/1 only. */
void tracer_set_h2_offsets(struct tracer *t, struct binary *b);

#endif
