/* Where the HTTP/2 server probes go in one Go executable, and the struct offsets they
 * read (bpf/http2_server.h): net/http's bundled server up to Go 1.26, its
 * net/http/internal/http2 from 1.27, and golang.org/x/net/http2's (h2c.NewHandler),
 * which a binary may have besides. Their spans and RED series are the HTTP/1 server's
 * (bpf/http_server.bpf.c), so a binary gets these beside its server_probe_plan.
 *
 * Errors: 0 or a negative errno: -ENOENT when the binary has no HTTP/2 server (built
 * without it, or the linker dropped it), -EPROTONOSUPPORT when no source knows a
 * field the probes read. */
#ifndef AUTOTRACE_AGENT_H2_SERVER_PROBES_H
#define AUTOTRACE_AGENT_H2_SERVER_PROBES_H

#include "agent/go_binary.h"
#include "bpf/http2_server.h"

struct h2_server_probe_plan {
	const char *server;       /* its package, a static string */
	struct probe_point start; /* runHandler */
	struct probe_point end;   /* handlerDone */
	struct h2_offsets offsets;
};

/* The servers the binary has: [0] net/http's, then golang.org/x/net/http2's. */
#define H2_SERVER_MAX_PLANS 2
struct h2_server_probe_plans {
	size_t n;
	struct h2_server_probe_plan plan[H2_SERVER_MAX_PLANS];
};

/* 0 when it has at least one; otherwise the error of the first it could not plan. */
int h2_server_probes_plan(struct go_binary *binary, struct h2_server_probe_plans *ret_plans);

#endif
