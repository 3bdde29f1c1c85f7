/* The gRPC probes as a small library beside agent/client_loader.c: loads
 * bpf/grpc.bpf.c on the maps the net/http server probes made (ring buffer, sampler,
 * in-flight and context slots: one ring, one sampler, and gRPC and HTTP spans parented
 * across each other), and attaches its uprobes to one process. No policy here.
 *
 * Outgoing trace context: with the net/http client's propagation (agent/propagation.h)
 * active, calls over h2c carry a traceparent (bpf/tp_inject.bpf.c appends it to their
 * HEADERS frames); grpc_loader_propagation says which.
 *
 * Not thread-safe. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_GRPC_LOADER_H
#define AUTOTRACE_AGENT_GRPC_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/client_loader.h"
#include "agent/grpc_probes.h"

struct grpc_loader;
struct grpc_attachment;

struct propagation;

/* Returns a new loader in ret (shared: the same maps the client loader reuses; prop,
 * borrowed for the call, the propagation whose maps the outgoing-context probes fill,
 * or NULL for none). */
int grpc_loader_new(const struct client_loader_shared *shared, const struct propagation *prop,
		    struct grpc_loader **ret);
struct grpc_loader *grpc_loader_free(struct grpc_loader *gl);

int grpc_loader_set_offsets(struct grpc_loader *gl, uint32_t slot, const struct gr_offsets *off);

/* Attaches the planned halves' probes to pid (cookie as bpf/http_server.h's
 * HS_COOKIE). Returns a new attachment: every probe or none. */
int grpc_loader_attach(struct grpc_loader *gl, pid_t pid, const char *binary_path,
		       const struct grpc_probe_plan *plan, uint32_t offsets_slot,
		       uint32_t sampler_slot, struct grpc_attachment **ret);
struct grpc_attachment *grpc_attachment_free(struct grpc_attachment *a);
size_t grpc_attachment_probes(const struct grpc_attachment *a);

/* Statistics summed over the CPUs into ret[GR_STAT_COUNT]. */
int grpc_loader_read_stats(const struct grpc_loader *gl, uint64_t *ret);

/* Each RED series, summed over the CPUs. */
typedef void (*grpc_red_fn)(void *ud, const struct gr_red_key *key,
			    const struct hs_red_value *value);
int grpc_loader_red_foreach(const struct grpc_loader *gl, grpc_red_fn fn, void *ud);

/* Outgoing trace context for gRPC calls: "sk_msg" or "none", and what that means
 * (static strings); gl may be NULL (no gRPC probes). */
const char *grpc_loader_propagation(const struct grpc_loader *gl);
const char *grpc_loader_propagation_why(const struct grpc_loader *gl);

#endif
