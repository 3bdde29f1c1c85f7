#include "agent/server_probes.h"

#include <errno.h>
#include <string.h>

static const enum go_field needed[] = {
	GO_FIELD_REQUEST_METHOD, GO_FIELD_REQUEST_URL,   GO_FIELD_REQUEST_HOST,
	GO_FIELD_REQUEST_REMOTE_ADDR, GO_FIELD_URL_PATH, GO_FIELD_RESPONSE_REQ,
	GO_FIELD_RESPONSE_STATUS, GO_FIELD_RESPONSE_CONN, GO_FIELD_CONN_BUFR,
	GO_FIELD_BUFIO_READER_BUF, GO_FIELD_BUFIO_READER_RD, GO_FIELD_BUFIO_READER_R,
};

/* The struct blocks the probes read at once, and each field's size in it. */
struct block_field {
	enum go_field f;
	uint32_t size;
};
static const struct block_field resp_fields[] = {
	{ GO_FIELD_RESPONSE_REQ, 8 }, { GO_FIELD_RESPONSE_STATUS, 8 }, { GO_FIELD_RESPONSE_CONN, 8 },
};
static const struct block_field req_fields[] = {
	{ GO_FIELD_REQUEST_METHOD, 16 }, { GO_FIELD_REQUEST_URL, 8 },
	{ GO_FIELD_REQUEST_HOST, 16 },   { GO_FIELD_REQUEST_REMOTE_ADDR, 16 },
};
static const struct block_field bufio_fields[] = {
	{ GO_FIELD_BUFIO_READER_BUF, 8 }, { GO_FIELD_BUFIO_READER_RD, 16 },
	{ GO_FIELD_BUFIO_READER_R, 8 },
};

/* The end of the last field, or 0 when over HS_BLOCK_MAX. */
static uint32_t block_end(const struct go_offsets *o, const struct block_field *fields, size_t n)
{
	uint64_t end = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t e = (uint64_t)o->off[fields[i].f] + fields[i].size;

		if (e > end)
			end = e;
	}
	return end <= HS_BLOCK_MAX ? (uint32_t)end : 0;
}

static uint32_t off(const struct go_offsets *o, enum go_field f)
{
	return o->off[f];
}

int server_probes_plan(struct go_binary *binary, struct server_probe_plan *ret_plan)
{
	const struct go_offsets *o;
	struct server_probe_plan plan;
	struct go_version v;
	enum go_field missing;
	int r;

	memset(&plan, 0, sizeof(plan));
	/* The probes read arguments from registers: Go's register ABI, amd64, go1.17. */
	r = go_version_parse(go_buildinfo_go_version(go_binary_buildinfo(binary)), &v);
	if (r)
		return -EPROTONOSUPPORT;
	if (v.major < 1 || (v.major == 1 && v.minor < 17))
		return -EPROTONOSUPPORT;
	r = go_binary_entry_point(binary, SERVER_PROBES_START_FUNC, &plan.start);
	if (r)
		return r;
	r = go_binary_entry_point(binary, SERVER_PROBES_END_FUNC, &plan.end);
	if (r)
		return r;
	r = go_binary_offsets(binary, &o);
	if (r)
		return r;
	r = go_offsets_require(o, needed, sizeof(needed) / sizeof(needed[0]), &missing);
	if (r)
		return r;
	plan.offsets = (struct hs_offsets){
		.resp_block = block_end(o, resp_fields, 3),
		.req_block = block_end(o, req_fields, 4),
		.bufio_block = block_end(o, bufio_fields, 3),
		.req_method = off(o, GO_FIELD_REQUEST_METHOD),
		.req_url = off(o, GO_FIELD_REQUEST_URL),
		.req_host = off(o, GO_FIELD_REQUEST_HOST),
		.req_remote_addr = off(o, GO_FIELD_REQUEST_REMOTE_ADDR),
		.url_path = off(o, GO_FIELD_URL_PATH),
		.resp_req = off(o, GO_FIELD_RESPONSE_REQ),
		.resp_status = off(o, GO_FIELD_RESPONSE_STATUS),
		.resp_conn = off(o, GO_FIELD_RESPONSE_CONN),
		.conn_bufr = off(o, GO_FIELD_CONN_BUFR),
		.bufio_buf = off(o, GO_FIELD_BUFIO_READER_BUF),
		.bufio_r = off(o, GO_FIELD_BUFIO_READER_R),
		/* rd is an io.Reader: its data word, the *connReader, follows the itab. */
		.bufio_rd_data = off(o, GO_FIELD_BUFIO_READER_RD) + 8,
		.valid = 1,
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (o->off[needed[i]] % 8)
			return -EPROTONOSUPPORT;
	}
	/* The context filed for client calls (bpf/http_client.h), when known. */
	if (go_offsets_get(o, GO_FIELD_REQUEST_CTX, &plan.offsets.req_ctx) || plan.offsets.req_ctx % 8)
		plan.offsets.req_ctx = 0;
	if (!plan.offsets.resp_block || !plan.offsets.req_block || !plan.offsets.bufio_block)
		return -EPROTONOSUPPORT;
	*ret_plan = plan;
	return 0;
}
