/* The tracer's ring side: each record the kernel wrote becomes a span
 * (agent/span_builder.c, client_span_builder.c) tagged with its process's pod, and the
 * kernel's RED maps are walked for /metrics. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "agent/client_loader.h"
#include "agent/client_span_builder.h"
#include "agent/grpc_loader.h"
#include "agent/grpc_span_builder.h"
#include "agent/probe_loader.h"
#include "agent/span_builder.h"
#include "agent/tracer_state.h"

int64_t tracer_wall_minus_mono(void)
{
	struct timespec m1, w, m2;

	/* The realtime read bracketed by two monotonic ones: the offset to within their gap. */
	clock_gettime(CLOCK_MONOTONIC, &m1);
	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m2);
	int64_t mono = ((int64_t)m1.tv_sec * 1000000000 + m1.tv_nsec +
			(int64_t)m2.tv_sec * 1000000000 + m2.tv_nsec) / 2;
	return (int64_t)w.tv_sec * 1000000000 + w.tv_nsec - mono;
}

/* Where each ring record carries its process's pid: the server's and the client's
 * layouts, told apart by size (on_record). */
_Static_assert(sizeof(struct hc_span_record) != sizeof(struct hs_span_record),
	       "records are told apart by size");
_Static_assert(sizeof(struct gr_span_record) != sizeof(struct hs_span_record) &&
		       sizeof(struct gr_span_record) != sizeof(struct hc_span_record),
	       "records are told apart by size");
_Static_assert(offsetof(struct gr_span_record, pid) == offsetof(struct hs_span_record, pid),
	       "the pid sits where the server record has it");

static int record_pid(const void *data, size_t size, uint32_t *ret_pid)
{
	size_t at;

	if (size == sizeof(struct hc_span_record))
		at = offsetof(struct hc_span_record, pid);
	else if (size >= offsetof(struct hs_span_record, pid) + sizeof(uint32_t))
		at = offsetof(struct hs_span_record, pid);
	else
		return -EINVAL;
	memcpy(ret_pid, (const char *)data + at, sizeof(*ret_pid));
	return 0;
}

/* The tag the select callback gave the process a record is from; 0 when it is gone. */
static uint32_t span_tag_of(struct tracer *t, const void *data, size_t size)
{
	uint32_t pid;

	if (record_pid(data, size, &pid))
		return 0;
	if (t->last_tag_proc < t->n_procs && (uint32_t)t->procs[t->last_tag_proc].pid == pid)
		return t->procs[t->last_tag_proc].sel.span_tag;
	for (size_t i = 0; i < t->n_procs; i++) {
		if ((uint32_t)t->procs[i].pid == pid) {
			t->last_tag_proc = i;
			return t->procs[i].sel.span_tag;
		}
	}
	return 0;
}

int tracer_on_record(void *ud, const void *data, size_t size)
{
	struct tracer *t = ud;
	int r = size == sizeof(struct hc_span_record) ?
			client_span_builder_build(data, size, t->wall_minus_mono_ns, &t->span) :
		size == TRACER_DB_RECORD_SIZE ? tracer_build_db_span(t, data, size) :
		size == sizeof(struct gr_span_record) ?
			grpc_span_builder_build(data, size, t->wall_minus_mono_ns, &t->span) :
			span_builder_build(data, size, t->wall_minus_mono_ns, &t->span);

	if (r) {
		t->records_invalid++;
		return 0;
	}
	if (t->select)
		t->span.resource_id = span_tag_of(t, data, size);
	if (t->on_span && t->on_span(t->ud, &t->span) == TRACER_SPAN_HOLD)
		return PROBE_RECORD_KEEP; /* the ring keeps it */
	t->spans_delivered++;
	/* The rest stays in the ring. */
	return --t->budget ? 0 : -ECANCELED;
}

int tracer_poll_at_most(struct tracer *t, size_t max)
{
	uint64_t before = t->spans_delivered;
	int r;

	if (!t->loader || max == 0)
		return 0;
	if (max > INT_MAX)
		max = INT_MAX;
	t->budget = max;
	t->wall_minus_mono_ns = tracer_wall_minus_mono();
	r = probe_loader_consume(t->loader);
	if (r < 0 && r != -ECANCELED)
		return r;
	return (int)(t->spans_delivered - before);
}

int tracer_poll(struct tracer *t)
{
	return tracer_poll_at_most(t, SIZE_MAX);
}

int tracer_wakeup_fd(const struct tracer *t)
{
	return t->loader ? probe_loader_wakeup_fd(t->loader) : -1;
}

struct red_ctx {
	tracer_red_fn fn;
	void *ud;
};

static void red_one(void *ud, const struct hs_red_key *key, const struct hs_red_value *v)
{
	struct red_ctx *c = ud;
	uint64_t buckets[HS_RED_BUCKETS];

	if (key->method_id >= HS_METHOD_COUNT)
		return;
	for (size_t i = 0; i < HS_RED_BUCKETS; i++)
		buckets[i] = v->buckets[i];
	c->fn(c->ud, span_builder_method_name(key->method_id), key->status, buckets, v->count,
	      (double)v->sum_ns / 1e9);
}

int tracer_red_foreach(struct tracer *t, tracer_red_fn fn, void *ud)
{
	struct red_ctx c = { .fn = fn, .ud = ud };

	return t->loader ? probe_loader_red_foreach(t->loader, red_one, &c) : 0;
}

struct client_red_ctx {
	tracer_client_red_fn fn;
	void *ud;
};

static void client_red_one(void *ud, const struct hc_red_key *key, const struct hs_red_value *v)
{
	struct client_red_ctx *c = ud;
	char host[HC_HOST_MAX + 1], scheme_less[HC_HOST_MAX + 1];
	const char *h;
	size_t hl, n = key->host_len < HC_HOST_MAX ? key->host_len : HC_HOST_MAX;
	unsigned port;

	if (key->method_id >= HS_METHOD_COUNT)
		return;
	memcpy(scheme_less, key->host, n);
	scheme_less[n] = '\0';
	span_builder_split_host_port(scheme_less, n, &h, &hl, &port);
	memcpy(host, h, hl);
	host[hl] = '\0';
	uint64_t buckets[HS_RED_BUCKETS];

	for (size_t i = 0; i < HS_RED_BUCKETS; i++)
		buckets[i] = v->buckets[i];
	c->fn(c->ud, span_builder_method_name(key->method_id), key->status, key->error, host, port,
	      buckets, v->count, (double)v->sum_ns / 1e9);
}

int tracer_client_red_foreach(struct tracer *t, tracer_client_red_fn fn, void *ud)
{
	struct client_red_ctx c = { .fn = fn, .ud = ud };
	struct client_loader *cl = t->loader ? probe_loader_client(t->loader) : NULL;

	return cl ? client_loader_red_foreach(cl, client_red_one, &c) : 0;
}

struct grpc_red_ctx {
	tracer_grpc_red_fn fn;
	void *ud;
};

static void grpc_red_one(void *ud, const struct gr_red_key *key, const struct hs_red_value *v)
{
	struct grpc_red_ctx *c = ud;
	uint64_t buckets[HS_RED_BUCKETS];

	if (key->method_len > GR_METHOD_MAX || key->code > GR_CODE_MAX)
		return;
	for (size_t i = 0; i < HS_RED_BUCKETS; i++)
		buckets[i] = v->buckets[i];
	c->fn(c->ud, key->client, key->method, key->method_len, key->code, buckets, v->count,
	      (double)v->sum_ns / 1e9);
}

const char *tracer_grpc_propagation(const struct tracer *t)
{
	return grpc_loader_propagation(t->loader ? probe_loader_grpc(t->loader) : NULL);
}

int tracer_grpc_red_foreach(struct tracer *t, tracer_grpc_red_fn fn, void *ud)
{
	struct grpc_red_ctx c = { .fn = fn, .ud = ud };
	struct grpc_loader *gl = t->loader ? probe_loader_grpc(t->loader) : NULL;

	return gl ? grpc_loader_red_foreach(gl, grpc_red_one, &c) : 0;
}
