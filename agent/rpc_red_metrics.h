/* The gRPC RED histograms the kernel keeps (bpf/grpc.bpf.c), in the Prometheus text
 * format under the OpenTelemetry RPC semantic conventions' names:
 * rpc_server_duration_seconds and rpc_client_duration_seconds, labelled rpc_system
 * ("grpc"), rpc_service, rpc_method and rpc_grpc_status_code; and
 * autotrace_agent_grpc_propagation_info{mechanism}, the mechanism carrying trace context
 * out of gRPC calls ("none": agent/grpc_loader.h says why). Errors: 0 or a negative
 * errno. */
#ifndef AUTOTRACE_AGENT_RPC_RED_METRICS_H
#define AUTOTRACE_AGENT_RPC_RED_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/prom_text.h"

struct rpc_red_series {
	int client;
	const char *full_method; /* "/package.Service/Method", from a traced process */
	size_t full_method_len;
	unsigned code;
	const uint64_t *buckets; /* n_bounds + 1, per bucket */
	uint64_t count;
	double sum_seconds;
};

/* Appends both families, their series from series[0..n) (in any order). */
int rpc_red_metrics_format(const struct rpc_red_series *series, size_t n, const double *bounds,
			   size_t n_bounds, struct prom_text *out);

struct tracer;
/* The families from the tracer's kernel maps, and the propagation gauge. */
int rpc_red_metrics_scrape(struct tracer *t, struct prom_text *out);

#endif
