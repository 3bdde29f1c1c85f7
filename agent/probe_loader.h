/* The net/http server probes as a small library: loads bpf/http_server.bpf.c (open,
 * size the maps, pick the programs this kernel can run, load), attaches its two uprobes
 * to one process at given file offsets, and reads what the kernel side keeps: the ring
 * buffer of sampled spans, the statistics and the RED histograms. No policy here: which
 * process, which sampler and what a record becomes are the caller's (agent/tracer.c).
 * The daemon, its tests and the benchmarks load probes through this one module.
 *
 * Not thread-safe. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_PROBE_LOADER_H
#define AUTOTRACE_AGENT_PROBE_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpf/http2_server.h"
#include "bpf/http_server.h"

struct probe_loader;
struct probe_attachment;

/* One ring-buffer record, borrowed for the call (size as the kernel submitted it).
 * Return 0 to go on, or a negative errno to stop consuming after this record
 * (probe_loader_consume returns it). */
typedef int (*probe_record_fn)(void *ud, const void *data, size_t size);
/* What a probe_record_fn returns to leave its record in the ring, first of the next
 * consume (agent/ring_reader.h). */
#define PROBE_RECORD_KEEP 1

struct probe_loader_opts {
	size_t ringbuf_bytes;     /* power of two >= page size; 0: 4 MiB (12,700 records:
				   * 127 ms at 100k spans/s; the reader is woken at a quarter) */
	size_t max_inflight;      /* in-flight slots, rounded down to a power of two (at
				   * least 64); 0: 16384 */
	size_t wakeup_bytes;      /* unread bytes that wake the reader; 0: a quarter ring */
	int no_header_scan;       /* load the start probe without the traceparent search */
	int symbol_and_rets;      /* also load the end program for ServeHTTP's RETs, which
				   * only probe_loader_attach_at_symbol_and_rets attaches
				   * (benchmarks): the daemon does not pay its verification */
	int with_client;          /* also load the net/http client probes
				   * (agent/client_loader.h) on this loader's maps; if they fail
				   * to load, the server probes go on (client_error says why) */
	int no_propagation;       /* the client probes without outgoing trace context */
	const char *proc_root;    /* the traced processes' /proc (NULL: /proc), where the
				   * host's cgroup v2 mount is looked for when this process
				   * has none (agent/propagation.h) */
	int with_db;              /* also load the database/sql client probes
				   * (agent/db_loader.h) on this loader's maps; if they fail to
				   * load, the others go on (db_error says why) */
	int with_grpc;            /* also load the gRPC probes (agent/grpc_loader.h), with
				   * the same fallback as with_client */
	probe_record_fn on_record;
	void *ud;
};

struct client_loader;
struct inflight_maps;
/* The client probes loaded with with_client, borrowed; NULL when not loaded, and then
 * probe_loader_client_error says why (0: not asked for). */
struct client_loader *probe_loader_client(const struct probe_loader *pl);
int probe_loader_client_error(const struct probe_loader *pl);
/* The maps of requests and calls in flight (the client's when it is loaded), for
 * agent/inflight_sweep.h. */
void probe_loader_inflight_maps(const struct probe_loader *pl, struct inflight_maps *ret);
struct db_loader;
/* The same for the database/sql probes loaded with with_db. */
struct db_loader *probe_loader_db(const struct probe_loader *pl);
int probe_loader_db_error(const struct probe_loader *pl);
/* The same for the gRPC probes loaded with with_grpc. */
struct grpc_loader;
struct grpc_loader *probe_loader_grpc(const struct probe_loader *pl);
int probe_loader_grpc_error(const struct probe_loader *pl);

/* Loads the programs and creates the maps. Returns a new loader in ret_loader. */
int probe_loader_new(const struct probe_loader_opts *opts, struct probe_loader **ret_loader);
/* Detaches everything still attached; accepts NULL; returns NULL. */
struct probe_loader *probe_loader_free(struct probe_loader *pl);

/* How probes are attached: "uprobe_multi links" (Linux 6.6 and later: CAP_BPF and
 * CAP_PERFMON suffice) or "perf-event uprobes" (older kernels; recent ones want
 * CAP_SYS_ADMIN for them). A static string. */
const char *probe_loader_attach_kind(const struct probe_loader *pl);

/* 1 when the start probe searches the request for a traceparent (bpf_loop). */
int probe_loader_has_header_scan(const struct probe_loader *pl);

/* Struct offsets of one binary in slot [0, HS_MAX_BINARIES). */
int probe_loader_set_offsets(struct probe_loader *pl, uint32_t slot, const struct hs_offsets *off);
/* HTTP/2 server offsets in slot [0, H2_OFFSETS_SLOTS) (bpf/http2_server.h). */
int probe_loader_set_h2_offsets(struct probe_loader *pl, uint32_t slot,
				const struct h2_offsets *off);
/* The sampler of slot 0, the one a sidecar's processes use. */
int probe_loader_set_sampler(struct probe_loader *pl, const struct hs_sampler *sampler);
/* The sampler of slot [0, HS_MAX_SAMPLERS), for the processes attached with it. */
int probe_loader_set_sampler_slot(struct probe_loader *pl, uint32_t slot,
				  const struct hs_sampler *sampler);

struct probe_attach_spec {
	pid_t pid;
	const char *binary_path;    /* e.g. /proc/<pid>/exe */
	uint64_t start_offset;      /* file offset of the ServeHTTP probe */
	uint64_t end_offset;        /* file offset of the finishRequest probe */
	uint32_t offsets_slot;
	uint32_t sampler_slot;      /* [0, HS_MAX_SAMPLERS); 0: the default sampler */
};
/* Attaches both probes to spec->pid only. Returns a new attachment (free it with
 * probe_attachment_free before the loader). */
int probe_loader_attach(struct probe_loader *pl, const struct probe_attach_spec *spec,
			struct probe_attachment **ret_attachment);
/* The HTTP/2 server's two probes (bpf/http2_server.h): spec->start_offset is
 * runHandler's probe, spec->end_offset handlerDone's, spec->offsets_slot the h2 offsets
 * slot, which must be set. Returns a new attachment, freed with probe_attachment_free. */
int probe_loader_attach_h2(struct probe_loader *pl, const struct probe_attach_spec *spec,
			   struct probe_attachment **ret_attachment);
/* Detaches; accepts NULL; returns NULL. */
struct probe_attachment *probe_attachment_free(struct probe_attachment *a);
/* Probes (uprobes) probe_loader_attach makes. */
#define PROBE_ATTACHMENT_PROBES 2
/* RETs probe_loader_attach_at_symbol_and_rets takes at most. */
#define PROBE_MAX_RETS 32

/* The placement other eBPF Go tracers use, for the benchmarks to compare against: the
 * start at ServeHTTP's first instruction (spec->start_offset; single-stepped) and the
 * end at each of its RETs (single-stepped too), keyed by goroutine; spec->end_offset
 * is not used. The same work per request as probe_loader_attach. -EINVAL unless the
 * loader was made with symbol_and_rets, or without the header scan. */
int probe_loader_attach_at_symbol_and_rets(struct probe_loader *pl,
					   const struct probe_attach_spec *spec,
					   const uint64_t *ret_offsets, size_t n_rets,
					   struct probe_attachment **ret_attachment);
/* Probes the attachment holds. */
size_t probe_attachment_probes(const struct probe_attachment *a);

/* Hands every record the ring buffer holds to on_record; returns how many, or an
 * error (on_record's, when it stopped). */
int probe_loader_consume(struct probe_loader *pl);
/* Readable when the kernel wakes the reader (an epoll descriptor). */
int probe_loader_wakeup_fd(const struct probe_loader *pl);

/* Statistics summed over the CPUs, into ret_stats[HS_STAT_COUNT]. */
int probe_loader_read_stats(const struct probe_loader *pl, uint64_t *ret_stats);

/* Time the kernel spent in the probes' programs, for the ones attached since load;
 * counted only while BPF run-time statistics are enabled (bpf_enable_stats). */
struct probe_run_stats {
	uint64_t start_ns, start_runs; /* the start programs */
	uint64_t end_ns, end_runs;     /* the end programs */
};
int probe_loader_run_stats(const struct probe_loader *pl, struct probe_run_stats *ret_stats);

/* A program loaded, and the instructions the verifier went through to accept it
 * (bpf_prog_info.verified_insns, kernel 5.16; 0 where the kernel does not say): what
 * loading costs, as the wall clock on a busy machine cannot tell. */
struct probe_program_info {
	const char *name; /* borrowed from the loader */
	uint32_t verified_insns;
	uint32_t insns; /* as loaded, after the verifier's rewrites */
	uint32_t load_us; /* from its BPF_PROG_LOAD to the next program's (or the end of
			   * the object's load): the verifier's time, JIT included */
};
/* The programs loaded, at most cap of them into ret_info; their number in ret_n. */
int probe_loader_programs(const struct probe_loader *pl, struct probe_program_info *ret_info,
			  size_t cap, size_t *ret_n);

/* One RED series, summed over the CPUs. */
typedef void (*probe_red_fn)(void *ud, const struct hs_red_key *key,
			     const struct hs_red_value *value);
int probe_loader_red_foreach(const struct probe_loader *pl, probe_red_fn fn, void *ud);

#endif
