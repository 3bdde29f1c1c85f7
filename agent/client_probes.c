#include "agent/client_probes.h"

#include <errno.h>
#include <string.h>

static const enum go_field needed[] = {
	GO_FIELD_REQUEST_METHOD,  GO_FIELD_REQUEST_URL,     GO_FIELD_REQUEST_CTX,
	GO_FIELD_URL_SCHEME,      GO_FIELD_URL_HOST,        GO_FIELD_URL_PATH,
	GO_FIELD_URL_RAW_QUERY,   GO_FIELD_CLIENT_RESPONSE_STATUS_CODE,
	GO_FIELD_PERSIST_CONN_CONN, GO_FIELD_NET_CONN_FD,   GO_FIELD_NETFD_LADDR,
	GO_FIELD_NETFD_RADDR,     GO_FIELD_TCPADDR_IP,      GO_FIELD_TCPADDR_PORT,
};
#define N_NEEDED (sizeof(needed) / sizeof(needed[0]))

/* The end of the furthest of fields (each size bytes at its offset), or 0 when over
 * HC_BLOCK_MAX. */
static uint32_t block_end(const struct go_offsets *o, const enum go_field *fields,
			  const uint32_t *sizes, size_t n)
{
	uint64_t end = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t e = (uint64_t)o->off[fields[i]] + sizes[i];

		if (e > end)
			end = e;
	}
	return end <= HC_BLOCK_MAX ? (uint32_t)end : 0;
}

int client_probes_plan(struct go_binary *binary, struct client_probe_plan *ret_plan)
{
	static const enum go_field req_f[] = { GO_FIELD_REQUEST_METHOD, GO_FIELD_REQUEST_URL,
					       GO_FIELD_REQUEST_CTX };
	static const uint32_t req_s[] = { 16, 8, 16 };
	static const enum go_field url_f[] = { GO_FIELD_URL_SCHEME, GO_FIELD_URL_HOST,
					       GO_FIELD_URL_PATH, GO_FIELD_URL_RAW_QUERY };
	static const uint32_t url_s[] = { 16, 16, 16, 16 };
	static const enum go_field fd_f[] = { GO_FIELD_NETFD_LADDR, GO_FIELD_NETFD_RADDR };
	static const uint32_t fd_s[] = { 16, 16 };
	static const enum go_field addr_f[] = { GO_FIELD_TCPADDR_IP, GO_FIELD_TCPADDR_PORT };
	static const uint32_t addr_s[] = { 24, 8 };
	const struct go_offsets *o;
	struct client_probe_plan plan;
	enum go_field missing;
	uint32_t ctx_off;
	int r, er;

	memset(&plan, 0, sizeof(plan));
	r = go_binary_entry_point(binary, CLIENT_PROBES_ROUND_TRIP, &plan.start);
	if (r)
		return r;
	r = go_binary_entry_point(binary, CLIENT_PROBES_CONN_ROUND_TRIP, &plan.conn);
	if (r)
		return r;
	/* The end where the results are in registers and the instruction is one the
	 * kernel emulates, not at roundTrip's RETs (single-stepped, ~35x the cost). */
	r = go_binary_call_points(binary, CLIENT_PROBES_ROUND_TRIP, CLIENT_PROBES_CONN_ROUND_TRIP,
				  &plan.end, NULL, NULL);
	if (r)
		return r == -ENOENT ? -EPROTONOSUPPORT : r;
	plan.has_alt_end = go_binary_joining_call_point(binary, CLIENT_PROBES_ROUND_TRIP,
							CLIENT_PROBES_CONN_ROUND_TRIP,
							&plan.alt_end) == 0;
	r = go_binary_call_points(binary, CLIENT_PROBES_ROUND_TRIP, CLIENT_PROBES_GET_CONN,
				  &(struct probe_point){ 0 }, &plan.failed, &er);
	plan.has_failed = r == 0 && er == 0;
	r = go_binary_offsets(binary, &o);
	if (r)
		return r;
	r = go_offsets_require(o, needed, N_NEEDED, &missing);
	if (r)
		return r;
	for (size_t i = 0; i < N_NEEDED; i++) {
		if (o->off[needed[i]] % 8)
			return -EPROTONOSUPPORT;
	}
	/* The context walk takes each context's parent from its first field. */
	if (go_offsets_get(o, GO_FIELD_CANCEL_CTX_CONTEXT, &ctx_off) == 0 && ctx_off != 0)
		return -EPROTONOSUPPORT;
	if (go_offsets_get(o, GO_FIELD_VALUE_CTX_CONTEXT, &ctx_off) == 0 && ctx_off != 0)
		return -EPROTONOSUPPORT;
	plan.offsets = (struct hc_offsets){
		.req_method = o->off[GO_FIELD_REQUEST_METHOD],
		.req_url = o->off[GO_FIELD_REQUEST_URL],
		.req_ctx = o->off[GO_FIELD_REQUEST_CTX],
		.url_scheme = o->off[GO_FIELD_URL_SCHEME],
		.url_host = o->off[GO_FIELD_URL_HOST],
		.url_path = o->off[GO_FIELD_URL_PATH],
		.url_raw_query = o->off[GO_FIELD_URL_RAW_QUERY],
		.resp_status_code = o->off[GO_FIELD_CLIENT_RESPONSE_STATUS_CODE],
		.pconn_conn = o->off[GO_FIELD_PERSIST_CONN_CONN],
		.conn_fd = o->off[GO_FIELD_NET_CONN_FD],
		.netfd_laddr = o->off[GO_FIELD_NETFD_LADDR],
		.netfd_raddr = o->off[GO_FIELD_NETFD_RADDR],
		.tcpaddr_ip = o->off[GO_FIELD_TCPADDR_IP],
		.tcpaddr_port = o->off[GO_FIELD_TCPADDR_PORT],
		.req_block = block_end(o, req_f, req_s, 3),
		.url_block = block_end(o, url_f, url_s, 4),
		.netfd_block = block_end(o, fd_f, fd_s, 2),
		.tcpaddr_block = block_end(o, addr_f, addr_s, 2),
		.valid = 1,
	};
	if (!plan.offsets.req_block || !plan.offsets.url_block || !plan.offsets.netfd_block ||
	    !plan.offsets.tcpaddr_block)
		return -EPROTONOSUPPORT;
	*ret_plan = plan;
	return 0;
}
