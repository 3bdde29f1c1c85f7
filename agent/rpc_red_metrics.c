#include "agent/rpc_red_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/grpc_loader.h"
#include "agent/grpc_span_builder.h"
#include "agent/tracer.h"

#define SERVER_FAMILY "rpc_server_duration_seconds"
#define CLIENT_FAMILY "rpc_client_duration_seconds"

/* A service or method name as a label value: from a traced process's memory, so only
 * the characters of protobuf names are kept. */
static void name_label(const char *in, size_t len, char *out, size_t size)
{
	size_t i = 0;

	for (; i < len && i + 1 < size; i++) {
		char c = in[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '.' || c == '_' || c == '-';

		out[i] = ok ? c : '_';
	}
	out[i] = '\0';
}

static int family(const struct rpc_red_series *series, size_t n, int client, const double *bounds,
		  size_t n_bounds, struct prom_text *out)
{
	const char *fam = client ? CLIENT_FAMILY : SERVER_FAMILY;
	int rc = prom_text_histogram_header(
		out, fam,
		client ? "Duration of gRPC client calls, every call the probes saw, sampled or not." :
			 "Duration of gRPC server RPCs, every RPC the probes saw, sampled or not.");

	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct rpc_red_series *s = &series[i];
		char service[132], method[132], labels[360];
		const char *sv, *m;
		size_t sl, ml;

		if (!s->client != !client)
			continue;
		grpc_method_split(s->full_method, s->full_method_len, &sv, &sl, &m, &ml);
		name_label(sv, sl, service, sizeof(service));
		name_label(m, ml, method, sizeof(method));
		snprintf(labels, sizeof(labels),
			 "rpc_system=\"grpc\",rpc_service=\"%s\",rpc_method=\"%s\","
			 "rpc_grpc_status_code=\"%u\"",
			 service, method, s->code);
		rc = prom_text_histogram_series(out, fam, labels, bounds, n_bounds, s->buckets,
						s->count, s->sum_seconds);
	}
	return rc;
}

int rpc_red_metrics_format(const struct rpc_red_series *series, size_t n, const double *bounds,
			   size_t n_bounds, struct prom_text *out)
{
	int rc = family(series, n, 0, bounds, n_bounds, out);

	return rc ? rc : family(series, n, 1, bounds, n_bounds, out);
}

/* The series as the kernel gives them, copied (the tracer's buffers are borrowed). */
struct collect {
	struct rpc_red_series *s;
	uint64_t *buckets; /* tracer_duration_bucket_count per series */
	char *methods;     /* GR_METHOD_MAX per series */
	size_t n, cap;
	int rc;
};

static void collect_one(void *ud, int client, const char *full_method, size_t len, unsigned code,
			const uint64_t *buckets, uint64_t count, double sum)
{
	struct collect *c = ud;
	size_t nb = tracer_duration_bucket_count;

	if (c->rc)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct rpc_red_series *s = realloc(c->s, cap * sizeof(*s));
		uint64_t *b = s ? realloc(c->buckets, cap * nb * sizeof(*b)) : NULL;
		char *m = b ? realloc(c->methods, cap * GR_METHOD_MAX) : NULL;

		/* Each realloc'd block is kept as soon as it succeeds (freed at the end). */
		if (s)
			c->s = s;
		if (b)
			c->buckets = b;
		if (!m) {
			c->rc = -ENOMEM;
			return;
		}
		c->methods = m;
		c->cap = cap;
	}
	if (len > GR_METHOD_MAX)
		len = GR_METHOD_MAX;
	memcpy(c->methods + c->n * GR_METHOD_MAX, full_method, len);
	memcpy(c->buckets + c->n * nb, buckets, nb * sizeof(*buckets));
	c->s[c->n] = (struct rpc_red_series){
		.client = client, .full_method_len = len, .code = code,
		.count = count, .sum_seconds = sum,
	};
	c->n++;
}

int rpc_red_metrics_scrape(struct tracer *t, struct prom_text *out)
{
	struct collect c = { 0 };
	int rc = tracer_grpc_red_foreach(t, collect_one, &c);

	if (rc == 0)
		rc = c.rc;
	/* Pointers into the copies only now: the arrays may have moved while growing. */
	for (size_t i = 0; rc == 0 && i < c.n; i++) {
		c.s[i].full_method = c.methods + i * GR_METHOD_MAX;
		c.s[i].buckets = c.buckets + i * tracer_duration_bucket_count;
	}
	if (rc == 0)
		rc = rpc_red_metrics_format(c.s, c.n, tracer_duration_bounds_seconds,
					    tracer_duration_bucket_count - 1, out);
	if (rc == 0)
		rc = prom_text_appendf(out,
				       "# HELP autotrace_agent_grpc_propagation_info The mechanism "
				       "carrying trace context out of gRPC calls: sk_msg (calls over "
				       "h2c), or none (see the agent's README).\n"
				       "# TYPE autotrace_agent_grpc_propagation_info gauge\n"
				       "autotrace_agent_grpc_propagation_info{mechanism=\"%s\"} 1\n",
				       tracer_grpc_propagation(t));
	free(c.s);
	free(c.buckets);
	free(c.methods);
	return rc;
}
