#include "agent/grpc_probes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const enum go_field needed[] = {
	GO_FIELD_GRPC_STREAM_METHOD,	   GO_FIELD_GRPC_STREAM_ID,
	GO_FIELD_GRPC_STATUS_S,		   GO_FIELD_GRPC_STATUS_ERROR_S,
	GO_FIELD_GRPC_SPB_STATUS_CODE,	   GO_FIELD_HTTP2_META_FRAME_HEADERS,
	GO_FIELD_HTTP2_META_FRAME_FIELDS,  GO_FIELD_HTTP2_HEADERS_FRAME_HEADER,
	GO_FIELD_HTTP2_FRAME_HEADER_STREAM_ID, GO_FIELD_HPACK_FIELD_NAME,
	GO_FIELD_HPACK_FIELD_VALUE,	   GO_FIELD_HPACK_FIELD_SENSITIVE,
	GO_FIELD_GRPC_STREAM_CTX,
};
#define N_NEEDED (sizeof(needed) / sizeof(needed[0]))

/* What outgoing trace context reads besides: the writer's connection and its
 * addresses. Without them the calls are traced all the same, with no context sent. */
static const enum go_field outgoing[] = {
	GO_FIELD_GRPC_LOOPY_CONN, GO_FIELD_NET_CONN_FD,	 GO_FIELD_NETFD_LADDR,
	GO_FIELD_NETFD_RADDR,	  GO_FIELD_TCPADDR_IP,	 GO_FIELD_TCPADDR_PORT,
};
#define N_OUTGOING (sizeof(outgoing) / sizeof(outgoing[0]))

/* -EPROTONOSUPPORT, with why: "<what> (google.golang.org/grpc <version>)". */
static int unsupported(char *why, size_t size, const char *what, const char *version)
{
	snprintf(why, size, "%s (google.golang.org/grpc %s)", what, version);
	return -EPROTONOSUPPORT;
}

/* The offsets the probes read, from the binary's resolved ones. */
static int plan_offsets(struct go_binary *binary, const char *version, struct gr_offsets *ret,
			char *why, size_t why_size)
{
	const struct go_offsets *o;
	enum go_field missing;
	uint32_t ss;
	int r;

	r = go_binary_offsets(binary, &o);
	if (r)
		return unsupported(why, why_size, "no struct offsets for this binary", version);
	if (go_offsets_require(o, needed, N_NEEDED, &missing)) {
		snprintf(why, why_size, "no offsets for google.golang.org/grpc %s: neither its "
			 "DWARF nor the offsets table knows %s.%s", version,
			 go_field_type(missing), go_field_member(missing));
		return -EPROTONOSUPPORT;
	}
	r = go_offsets_get(o, GO_FIELD_GRPC_SERVER_STREAM_STREAM, &ss);
	if (r == -ENOENT) {
		snprintf(why, why_size, "no offsets for google.golang.org/grpc %s: neither its "
			 "DWARF nor the offsets table knows %s", version,
			 go_field_type(GO_FIELD_GRPC_SERVER_STREAM_STREAM));
		return -EPROTONOSUPPORT;
	}
	*ret = (struct gr_offsets){
		.server_stream_stream = r == -ENODATA ? GR_NO_FIELD : ss,
		.stream_method = o->off[GO_FIELD_GRPC_STREAM_METHOD],
		.stream_id = o->off[GO_FIELD_GRPC_STREAM_ID],
		.status_s = o->off[GO_FIELD_GRPC_STATUS_S],
		.error_s = o->off[GO_FIELD_GRPC_STATUS_ERROR_S],
		.spb_code = o->off[GO_FIELD_GRPC_SPB_STATUS_CODE],
		.meta_headers = o->off[GO_FIELD_HTTP2_META_FRAME_HEADERS],
		.meta_fields = o->off[GO_FIELD_HTTP2_META_FRAME_FIELDS],
		.headers_frame_header = o->off[GO_FIELD_HTTP2_HEADERS_FRAME_HEADER],
		.frame_stream_id = o->off[GO_FIELD_HTTP2_FRAME_HEADER_STREAM_ID],
		.hf_name = o->off[GO_FIELD_HPACK_FIELD_NAME],
		.hf_value = o->off[GO_FIELD_HPACK_FIELD_VALUE],
		/* Sensitive (a bool) is the last field: the element is padded to 8. */
		.hf_size = (o->off[GO_FIELD_HPACK_FIELD_SENSITIVE] + 1 + 7) & ~7u,
		.valid = 1,
		.stream_ctx = o->off[GO_FIELD_GRPC_STREAM_CTX],
	};
	ret->loopy_conn = GR_NO_FIELD;
	if (go_offsets_require(o, outgoing, N_OUTGOING, &missing) == 0) {
		ret->loopy_conn = o->off[GO_FIELD_GRPC_LOOPY_CONN];
		ret->conn_fd = o->off[GO_FIELD_NET_CONN_FD];
		ret->netfd_laddr = o->off[GO_FIELD_NETFD_LADDR];
		ret->netfd_raddr = o->off[GO_FIELD_NETFD_RADDR];
		ret->tcpaddr_ip = o->off[GO_FIELD_TCPADDR_IP];
		ret->tcpaddr_port = o->off[GO_FIELD_TCPADDR_PORT];
	}
	/* The probe reads a field's Name and Value words within its element. */
	if (ret->hf_size > GR_FIELD_SIZE_MAX || ret->hf_name > 15 || ret->hf_value > 31)
		return unsupported(why, why_size, "hpack.HeaderField is laid out unlike the probe "
				   "reads it", version);
	return 0;
}

int grpc_probes_plan(struct go_binary *binary, struct grpc_probe_plan *ret_plan, char *ret_why,
		     size_t why_size)
{
	const struct go_module *m = go_buildinfo_find_dep(go_binary_buildinfo(binary), GRPC_MODULE);
	struct grpc_probe_plan plan;
	int r;

	if (!m)
		return -ENOENT;
	memset(&plan, 0, sizeof(plan));
	snprintf(plan.version, sizeof(plan.version), "%s", m->version ? m->version : "?");
	plan.has_server =
		go_binary_entry_point(binary, GRPC_PROBES_HANDLE_STREAM, &plan.server_start) == 0 &&
		go_binary_entry_point(binary, GRPC_PROBES_OPERATE_HEADERS, &plan.headers) == 0 &&
		(go_binary_entry_point(binary, GRPC_PROBES_WRITE_STATUS_169, &plan.server_end) == 0 ||
		 go_binary_entry_point(binary, GRPC_PROBES_WRITE_STATUS, &plan.server_end) == 0);
	plan.has_client =
		go_binary_entry_point(binary, GRPC_PROBES_INVOKE, &plan.client_start) == 0 &&
		go_binary_entry_point(binary, GRPC_PROBES_FINISH, &plan.client_end) == 0;
	if (!plan.has_server && !plan.has_client)
		return unsupported(ret_why, why_size,
				   "neither handleStream nor invoke looks as the probes need",
				   plan.version);
	r = plan_offsets(binary, plan.version, &plan.offsets, ret_why, why_size);
	if (r)
		return r;
	/* Both where the kernel emulates the instruction: the nop after the call, and
	 * writeHeader's jbe. */
	plan.has_outgoing =
		plan.has_client && plan.offsets.loopy_conn != GR_NO_FIELD &&
		go_binary_call_points(binary, GRPC_PROBES_NEW_STREAM,
				      GRPC_PROBES_CREATE_HEADER_FIELDS, &plan.client_fields, NULL,
				      NULL) == 0 &&
		go_binary_entry_point(binary, GRPC_PROBES_WRITE_HEADER, &plan.write_header) == 0;
	*ret_plan = plan;
	return 0;
}
