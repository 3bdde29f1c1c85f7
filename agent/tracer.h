/* The agent's tracing core: finds Go processes, attaches uprobes to their net/http
 * server, samples in the kernel, and hands sampled requests out as OTLP spans; it also
 * keeps the RED histograms of every request, sampled or not, in the kernel.
 *
 * Single-threaded: every call on one tracer comes from the same thread (the agent's
 * event loop). Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_TRACER_H
#define AUTOTRACE_AGENT_TRACER_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/otlp/span.h"

struct tracer;

enum tracer_sampler_type {
	TRACER_SAMPLER_ALWAYS_ON,
	TRACER_SAMPLER_ALWAYS_OFF,
	TRACER_SAMPLER_TRACEIDRATIO,
	TRACER_SAMPLER_PARENTBASED_ALWAYS_ON,
	TRACER_SAMPLER_PARENTBASED_ALWAYS_OFF,
	TRACER_SAMPLER_PARENTBASED_TRACEIDRATIO,
};

struct tracer_sampler {
	enum tracer_sampler_type type;
	double ratio; /* 0..1, for the ratio samplers */
};

/* Which processes to trace: every Go process visible in /proc when both are empty. */
struct tracer_targets {
	const char *executable;            /* exe path, or its basename, to match; NULL: any */
	/* NULL-terminated; NULL: any. Matched against the AUTOTRACE_CONTAINER_NAME the
	 * webhook puts in each application container's environment (/proc does not name
	 * containers); a process without it is in no named container. */
	const char *const *container_names;
};

/* A node agent's choice for one process (tracer_opts.select). */
struct tracer_selection {
	uint32_t sampler_slot; /* the kernel sampler its probes read (tracer_set_sampler_slot) */
	uint32_t span_tag;     /* written into each of its spans' resource_id */
};
struct process_info;
/* Called for each process a scan sees, traced already or not: 1 and *ret to trace it
 * so, 0 not to (a traced process is then detached; a changed selection re-attaches).
 * Set, it replaces the targets. */
typedef int (*tracer_select_fn)(void *ud, const struct process_info *p,
				struct tracer_selection *ret);

/* A sampled request, ready to export. The span is borrowed for the call. Returns 0, or
 * TRACER_SPAN_HOLD to leave its record in the kernel's ring and end the poll: the
 * record comes again, first, on the next poll (an exporter with no room). */
#define TRACER_SPAN_HOLD (-EAGAIN)
typedef int (*tracer_span_fn)(void *ud, const struct otlp_span *span);

struct tracer_opts {
	const char *proc_root;   /* default "/proc" */
	size_t ringbuf_bytes;    /* power of two; default 4 MiB */
	size_t max_inflight;     /* concurrent requests tracked; default 16384 */
	/* Load the BPF programs on a thread of their own (see tracer_loading_fd): until
	 * they are loaded, scans read the binaries they will probe but attach nothing. */
	int load_in_background;
	int no_client;           /* trace net/http servers only */
	int no_propagation;      /* client spans, but no outgoing trace context */
	int no_db;               /* no database/sql client spans */
	struct tracer_sampler sampler;
	struct tracer_targets targets;
	tracer_span_fn on_span;
	tracer_select_fn select; /* optional; NULL: the targets decide, slot 0, tag 0 */
	void *ud;
};

/* Loads the BPF programs (nothing is attached yet), or starts loading them with
 * load_in_background. Copies what opts points to. */
int tracer_new(const struct tracer_opts *opts, struct tracer **ret_tracer);
/* Detaches everything (waits for a load under way); accepts NULL; returns NULL. */
struct tracer *tracer_free(struct tracer *t);

/* While a background load is under way: a descriptor that becomes readable when it is
 * over; -1 otherwise. */
int tracer_loading_fd(const struct tracer *t);
/* Once tracer_loading_fd is readable: takes the loaded programs into use (the offsets
 * of the binaries read meanwhile, the sampler in force), or returns the load's error;
 * the next scan attaches. 0 at once when nothing is loading. */
int tracer_finish_loading(struct tracer *t);
/* 1 once the BPF programs are loaded. */
int tracer_loaded(const struct tracer *t);

/* One pass over /proc: attaches to new matching Go processes, releases exited ones.
 * A process that cannot be instrumented is skipped and counted, never fatal. */
int tracer_scan(struct tracer *t);
/* Delivers what the ring buffer holds to on_span; returns how many spans. */
int tracer_poll(struct tracer *t);
/* The same, max spans at most: the records past them stay in the kernel's ring for a
 * later poll. Returns how many were delivered (max, or fewer when on_span held one
 * back: the ring may hold more). */
int tracer_poll_at_most(struct tracer *t, size_t max);
/* A descriptor that becomes readable when the kernel wakes the reader (for the loop);
 * -1 until the programs are loaded. */
int tracer_wakeup_fd(const struct tracer *t);

/* Take effect for the next request, in the kernel. */
int tracer_set_sampler(struct tracer *t, const struct tracer_sampler *sampler);
/* The sampler of slot [1, TRACER_SAMPLER_SLOTS) (slot 0 is tracer_set_sampler's), for
 * the processes a select callback puts there; in the kernel once loaded. */
#define TRACER_SAMPLER_SLOTS 64
int tracer_set_sampler_slot(struct tracer *t, uint32_t slot, const struct tracer_sampler *sampler);
/* Take effect at the next scan. */
int tracer_set_targets(struct tracer *t, const struct tracer_targets *targets);

/* Which probe families the processes of a sampler slot get (the Instrumentation's
 * spec.probes). A family turned off is detached from them at the next scan (it costs
 * nothing then) and attached again when turned on; db_query_text takes effect for the
 * next span. Every slot starts with every family on and no query text. */
struct tracer_probes {
	int http_server;   /* net/http server spans */
	int http_client;   /* net/http client spans */
	int database_sql;  /* database/sql client spans */
	int grpc;          /* gRPC server and client spans (one attachment carries both) */
	int db_query_text; /* db.query.text on them */
};
void tracer_probes_default(struct tracer_probes *ret);
int tracer_set_probes(struct tracer *t, uint32_t slot, const struct tracer_probes *probes);

enum tracer_skip_reason {
	TRACER_SKIP_UNREADABLE,       /* the binary could not be opened or parsed */
	TRACER_SKIP_NO_SYMBOLS,       /* the functions to probe are not in it */
	TRACER_SKIP_UNSUPPORTED_GO,   /* no struct offsets for its Go version */
	TRACER_SKIP_ATTACH_FAILED,    /* the kernel refused a probe */
	TRACER_SKIP_GRPC_UNSUPPORTED, /* its gRPC probes, for want of offsets for its
				       * google.golang.org/grpc version (its net/http ones
				       * are attached all the same) */
	TRACER_SKIP_REASONS
};
const char *tracer_skip_reason_name(enum tracer_skip_reason reason);

struct tracer_stats {
	uint64_t processes;          /* instrumented now */
	uint64_t probes_attached;    /* now */
	uint64_t probes_failed;      /* ever */
	uint64_t skipped[TRACER_SKIP_REASONS];
	uint64_t requests;           /* seen by the probes */
	uint64_t sampled;
	uint64_t spans_delivered;    /* handed to on_span */
	uint64_t ringbuf_drops;      /* sampled, but the ring buffer was full */
	uint64_t inflight_drops;     /* ends without a start, or starts evicted */
	uint64_t traceparent_found;  /* requests that carried a valid traceparent */
	uint64_t records_invalid;    /* ring-buffer records that did not make a span */
	/* net/http client calls */
	uint64_t client_calls;       /* seen by the probes */
	uint64_t client_sampled;
	uint64_t client_errors;      /* ended with an error, no response */
	uint64_t client_parent_goroutine; /* made on their server request's goroutine */
	uint64_t client_parent_context;   /* linked through their request's context */
	uint64_t client_missing_start;
	uint64_t client_ringbuf_drops;
	/* database/sql client calls */
	uint64_t db_calls;           /* seen by the probes */
	uint64_t db_sampled;
	uint64_t db_errors;          /* returned an error */
	uint64_t db_parent_goroutine;
	uint64_t db_parent_context;
	uint64_t db_missing_start;
	uint64_t db_ringbuf_drops;
	/* outgoing trace context */
	const char *propagation;     /* "sk_msg" or "none" (static) */
	uint64_t tp_injected;        /* traceparent headers put on the wire */
	uint64_t tp_left_alone;      /* requests that carried their own */
	uint64_t tp_failed;          /* the kernel refused the insertion */
	/* gRPC (agent/grpc_loader.h) */
	uint64_t grpc_server_rpcs;   /* seen by the probes */
	uint64_t grpc_client_calls;
	uint64_t grpc_sampled;       /* server and client */
	const char *grpc_propagation; /* "sk_msg" or "none" (static) */
	uint64_t grpc_tp_filed;       /* gRPC calls whose HEADERS frame was given a
				       * traceparent to carry (over h2c) */
	uint64_t grpc_tp_injected;    /* ... and got it on the wire */
	uint64_t grpc_tp_left_alone;  /* gRPC calls whose metadata carried their own */
	uint64_t grpc_tp_missed;      /* ... whose frame the sk_msg program could not grow
				       * (cut by a write's end, or past the first
				       * H2W_HITS_MAX of its write) */
	uint64_t h2_out_of_step;      /* HTTP/2 writes whose frames could not be followed */
	uint64_t tp_http2;       /* net/http calls over HTTP/2: none sent (TLS: encrypted;
				  * h2c: see agent/README.md) */
};
void tracer_get_stats(const struct tracer *t, struct tracer_stats *ret_stats);
/* Requests and client calls in flight, counted in the kernel's maps (a walk of them:
 * for a scrape, not per request). -EAGAIN while the programs load. */
int tracer_in_flight(const struct tracer *t, uint64_t *ret_server, uint64_t *ret_client);

/* Why an executable was not fully instrumented, for the health report's failures: the
 * latest TRACER_MAX_FAILURES, one per executable (today: gRPC probes skipped for want
 * of offsets for its grpc version). */
#define TRACER_MAX_FAILURES 8
struct tracer_failure {
	char exe[128];
	const char *reason; /* static, CamelCase: "GrpcUnsupported" */
	char message[256];
};
/* Copies up to cap of them, oldest first, into ret; returns how many. */
size_t tracer_failures(const struct tracer *t, struct tracer_failure *ret, size_t cap);
/* Calls fn with the span tag of each instrumented process (a node agent counts its
 * processes per pod and Instrumentation by it, for its health report). */
void tracer_foreach_attached(const struct tracer *t, void (*fn)(void *ud, uint32_t span_tag),
			     void *ud);

/* The RED histograms kept in the kernel, one per (method, status code), of every
 * request, sampled or not. buckets[] are per bucket (not cumulative), count of them:
 * bucket i < count - 1 has the upper bound tracer_duration_bounds_seconds[i] (OTel
 * HTTP semconv, 0.005 ... 10 s), the last one is +Inf. method is the semconv name
 * ("GET", ..., "_OTHER"). */
extern const double tracer_duration_bounds_seconds[];
extern const size_t tracer_duration_bucket_count; /* including +Inf */
typedef void (*tracer_red_fn)(void *ud, const char *method, unsigned status_code,
			      const uint64_t *buckets, uint64_t count, double sum_seconds);
int tracer_red_foreach(struct tracer *t, tracer_red_fn fn, void *ud);

/* The client calls' RED histograms, one per (method, status code or 0 when the call
 * failed without a response, server address and port as the URL names them). */
typedef void (*tracer_client_red_fn)(void *ud, const char *method, unsigned status_code,
				     int failed, const char *server_address, unsigned server_port,
				     const uint64_t *buckets, uint64_t count, double sum_seconds);
int tracer_client_red_foreach(struct tracer *t, tracer_client_red_fn fn, void *ud);

/* The database/sql calls' RED histograms, one per (db.system.name or NULL, the
 * operation or NULL, failed), on tracer_db_duration_bounds_seconds (the semantic
 * conventions' 0.001 ... 10 s; the last bucket +Inf). A (system, operation, failed)
 * may come more than once (the kernel keys by the query's first word as written):
 * the caller sums them. */
extern const double tracer_db_duration_bounds_seconds[];
extern const size_t tracer_db_duration_bucket_count; /* including +Inf */
typedef void (*tracer_db_red_fn)(void *ud, const char *system, const char *operation,
				 int failed, const uint64_t *buckets, uint64_t count,
				 double sum_seconds);
int tracer_db_red_foreach(struct tracer *t, tracer_db_red_fn fn, void *ud);
/* The gRPC RED histograms, one per (server or client, full method, status code). */
typedef void (*tracer_grpc_red_fn)(void *ud, int client, const char *full_method,
				   size_t full_method_len, unsigned code, const uint64_t *buckets,
				   uint64_t count, double sum_seconds);
int tracer_grpc_red_foreach(struct tracer *t, tracer_grpc_red_fn fn, void *ud);
/* The mechanism carrying trace context out of gRPC calls: "sk_msg" or "none" (static). */
const char *tracer_grpc_propagation(const struct tracer *t);

#endif
