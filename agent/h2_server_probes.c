#include "agent/h2_server_probes.h"

#include <errno.h>
#include <string.h>

#include "bpf/http_server.h"

/* The two generations of the server: their functions, and the fields of the request
 * runHandler gets and of the response writer. */
struct h2_generation {
	const char *server, *start_func, *end_func;
	enum go_field method, url, host, remote, header, ctx, rws, status;
};

static const struct h2_generation generations[] = {
	{
		/* Go 1.27 on: *http2.ServerRequest. */
		"net/http/internal/http2",
		"net/http/internal/http2.(*serverConn).runHandler",
		"net/http/internal/http2.(*responseWriter).handlerDone",
		GO_FIELD_H2I_REQUEST_METHOD,
		GO_FIELD_H2I_REQUEST_URL,
		GO_FIELD_H2I_REQUEST_HOST,
		GO_FIELD_H2I_REQUEST_REMOTE_ADDR,
		GO_FIELD_H2I_REQUEST_HEADER,
		GO_FIELD_H2I_REQUEST_CONTEXT,
		GO_FIELD_H2I_RESPONSE_WRITER_RWS,
		GO_FIELD_H2I_RWS_STATUS,
	},
	{
		/* Up to Go 1.26, net/http's bundle: *http.Request. */
		"net/http",
		"net/http.(*http2serverConn).runHandler",
		"net/http.(*http2responseWriter).handlerDone",
		GO_FIELD_REQUEST_METHOD,
		GO_FIELD_REQUEST_URL,
		GO_FIELD_REQUEST_HOST,
		GO_FIELD_REQUEST_REMOTE_ADDR,
		GO_FIELD_REQUEST_HEADER,
		GO_FIELD_REQUEST_CTX,
		GO_FIELD_H2_RESPONSE_WRITER_RWS,
		GO_FIELD_H2_RWS_STATUS,
	},
	{
		/* golang.org/x/net/http2: *http.Request; its own fields by module version. */
		"golang.org/x/net/http2",
		"golang.org/x/net/http2.(*serverConn).runHandler",
		"golang.org/x/net/http2.(*responseWriter).handlerDone",
		GO_FIELD_REQUEST_METHOD,
		GO_FIELD_REQUEST_URL,
		GO_FIELD_REQUEST_HOST,
		GO_FIELD_REQUEST_REMOTE_ADDR,
		GO_FIELD_REQUEST_HEADER,
		GO_FIELD_REQUEST_CTX,
		GO_FIELD_XNET_H2_RESPONSE_WRITER_RWS,
		GO_FIELD_XNET_H2_RWS_STATUS,
	},
};
/* generations[0] and [1] are the same server, a binary has one of them. */
#define N_STD_GENERATIONS 2

/* 0 when f is known and 8-byte aligned, into *ret. */
static int field(const struct go_offsets *o, enum go_field f, uint32_t *ret)
{
	uint32_t v;
	int r = go_offsets_get(o, f, &v);

	if (r)
		return -EPROTONOSUPPORT;
	if (v % 8)
		return -EPROTONOSUPPORT;
	*ret = v;
	return 0;
}

/* The header map's layout; map_kind stays 0 (no traceparent search) when unknown. */
static void map_layout(const struct go_offsets *o, struct h2_offsets *h)
{
	uint32_t groups, data, mask, b;

	if (field(o, GO_FIELD_SWISS_MAP_DIR_PTR, &h->map_dir_ptr) == 0 &&
	    field(o, GO_FIELD_SWISS_MAP_DIR_LEN, &h->map_dir_len) == 0 &&
	    field(o, GO_FIELD_SWISS_TABLE_GROUPS, &groups) == 0 &&
	    go_offsets_get(o, GO_FIELD_SWISS_GROUPS_DATA, &data) == 0 &&
	    go_offsets_get(o, GO_FIELD_SWISS_GROUPS_LENGTH_MASK, &mask) == 0 &&
	    (groups + data) % 8 == 0 && (groups + mask) % 8 == 0 && h->map_dir_ptr < 64 &&
	    h->map_dir_len < 64 && groups + data < 64 && groups + mask < 64) {
		h->table_groups_data = groups + data;
		h->table_groups_mask = groups + mask;
		h->map_kind = H2_MAP_SWISS;
		return;
	}
	if (go_offsets_get(o, GO_FIELD_RUNTIME_HMAP_B, &b) == 0 && b < 64 &&
	    field(o, GO_FIELD_RUNTIME_HMAP_BUCKETS, &h->hmap_buckets) == 0 &&
	    field(o, GO_FIELD_RUNTIME_HMAP_OLDBUCKETS, &h->hmap_oldbuckets) == 0 &&
	    h->hmap_buckets < 64 && h->hmap_oldbuckets < 64) {
		h->hmap_b = b;
		h->map_kind = H2_MAP_HMAP;
		return;
	}
	h->map_dir_ptr = h->map_dir_len = h->hmap_buckets = h->hmap_oldbuckets = 0;
}

static int plan_generation(struct go_binary *binary, const struct h2_generation *g,
			   struct h2_server_probe_plan *plan)
{
	const struct go_offsets *o;
	struct h2_offsets *h = &plan->offsets;
	uint32_t end = 0;
	int r;

	plan->server = g->server;
	r = go_binary_entry_point(binary, g->start_func, &plan->start);
	if (r)
		return r;
	r = go_binary_entry_point(binary, g->end_func, &plan->end);
	if (r)
		return r;
	r = go_binary_offsets(binary, &o);
	if (r)
		return r;
	if (field(o, g->method, &h->req_method) || field(o, g->url, &h->req_url) ||
	    field(o, g->host, &h->req_host) || field(o, g->remote, &h->req_remote_addr) ||
	    field(o, g->header, &h->req_header) || field(o, GO_FIELD_URL_PATH, &h->url_path) ||
	    field(o, g->rws, &h->rw_rws) || field(o, g->status, &h->rws_status))
		return -EPROTONOSUPPORT;
	/* The context filed for client calls (bpf/http_client.h), when known. */
	h->has_ctx = field(o, g->ctx, &h->req_ctx) == 0;
	/* The request's block: its string fields are 16 bytes, the others 8. */
	uint32_t ends[] = { h->req_method + 16, h->req_url + 8, h->req_host + 16,
			    h->req_remote_addr + 16, h->req_header + 8 };
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		end = ends[i] > end ? ends[i] : end;
	if (end > HS_BLOCK_MAX)
		return -EPROTONOSUPPORT;
	h->req_block = end;
	map_layout(o, h);
	h->valid = 1;
	return 0;
}

int h2_server_probes_plan(struct go_binary *binary, struct h2_server_probe_plans *ret_plans)
{
	struct h2_server_probe_plans plans;
	int r, first = 0;

	memset(&plans, 0, sizeof(plans));
	for (size_t i = 0; i < sizeof(generations) / sizeof(generations[0]); i++) {
		if (i < N_STD_GENERATIONS && plans.n)
			continue; /* the other generation of net/http's server */
		r = plan_generation(binary, &generations[i], &plans.plan[plans.n]);
		if (r == 0)
			plans.n++;
		else if (r != -ENOENT && !first)
			first = r;
		else if (r == -ENOENT)
			memset(&plans.plan[plans.n], 0, sizeof(plans.plan[plans.n]));
	}
	if (!plans.n)
		return first ? first : -ENOENT;
	*ret_plans = plans;
	return 0;
}
