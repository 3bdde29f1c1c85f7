/* Where the net/http client probes go in one Go executable, and the struct offsets they
 * read (bpf/http_client.bpf.c): the plan the tracer attaches beside the server's.
 *
 * Errors: 0 or a negative errno: -ENOENT when the binary has no net/http Transport (it
 * makes no HTTP calls), -EPROTONOSUPPORT when no source knows a field the probes read
 * or the code around the call does not look as the probes need. */
#ifndef AUTOTRACE_AGENT_CLIENT_PROBES_H
#define AUTOTRACE_AGENT_CLIENT_PROBES_H

#include "agent/go_binary.h"
#include "bpf/http_client.h"

#define CLIENT_PROBES_ROUND_TRIP "net/http.(*Transport).roundTrip"
#define CLIENT_PROBES_CONN_ROUND_TRIP "net/http.(*persistConn).roundTrip"
#define CLIENT_PROBES_GET_CONN "net/http.(*Transport).getConn"

struct client_probe_plan {
	struct probe_point start;  /* roundTrip's entry (its jbe) */
	struct probe_point conn;   /* persistConn.roundTrip's entry */
	struct probe_point end;    /* where roundTrip's call of persistConn.roundTrip returns */
	/* Where roundTrip's HTTP/2 call (pconn.alt.RoundTrip, through the interface)
	 * returns: the jmp to where both calls' results are used. */
	struct probe_point alt_end;
	int has_alt_end;           /* 0: not found (HTTP/2 calls end no span) */
	struct probe_point failed; /* roundTrip's branch for a getConn error */
	int has_failed;            /* 0: no such branch found (dial errors end no span) */
	struct hc_offsets offsets;
};

int client_probes_plan(struct go_binary *binary, struct client_probe_plan *ret_plan);

#endif
