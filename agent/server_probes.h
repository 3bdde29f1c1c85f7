/* Where the net/http server probes go in one Go executable, and the struct offsets
 * they read: the plan the tracer attaches to each process running that executable.
 *
 * Errors: 0 or a negative errno: -ENOENT when the binary lacks one of the functions
 * (not a net/http server), -EPROTONOSUPPORT when its Go version predates the register
 * ABI (go1.17) or no source knows a field the probes read. */
#ifndef AUTOTRACE_AGENT_SERVER_PROBES_H
#define AUTOTRACE_AGENT_SERVER_PROBES_H

#include <stdint.h>

#include "agent/go_binary.h"
#include "bpf/http_server.h"

#define SERVER_PROBES_START_FUNC "net/http.serverHandler.ServeHTTP"
#define SERVER_PROBES_END_FUNC "net/http.(*response).finishRequest"

struct server_probe_plan {
	struct probe_point start, end;
	struct hs_offsets offsets;
};

int server_probes_plan(struct go_binary *binary, struct server_probe_plan *ret_plan);

#endif
