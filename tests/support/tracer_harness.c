/* See tracer_harness.h. */
#include "tests/support/tracer_harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/traced_service.h"

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int on_span(void *ud, const struct otlp_span *span)
{
	struct tracer_harness *h = ud;

	h->spans++;
	otlp_exporter_enqueue(h->ex, span);
	return 0;
}

int tracer_harness_start(const struct tracer_sampler *sampler, const char *target_exe,
			 struct tracer_harness **ret_harness)
{
	struct otlp_resource res;
	struct otlp_exporter_options eo = {
		.queue_capacity = 65536,
		.max_batch = 512,
		.max_delay_ms = 100,
		.scope_version = "test",
		.resource = &res,
	};
	struct otlp_exporter_config ec = { .protocol = OTLP_PROTOCOL_HTTP_PROTOBUF };
	struct tracer_opts to = { .sampler = *sampler, .targets.executable = target_exe,
				  .on_span = on_span };
	struct tracer_harness *h;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = otlp_receiver_start(0, &h->rx);
	if (r)
		goto fail;
	otlp_resource_init(&res);
	otlp_resource_add_string(&res, "service.name", "svc-under-test");
	otlp_resource_add_string(&res, "k8s.namespace.name", "shop");
	ec.endpoint = otlp_receiver_endpoint(h->rx);
	r = otlp_exporter_new(&eo, &ec, &h->ex);
	if (r)
		goto fail;
	to.ud = h;
	r = tracer_new(&to, &h->tracer);
	if (r)
		goto fail;
	*ret_harness = h;
	return 0;
fail:
	tracer_harness_free(h);
	return r;
}

struct tracer_harness *tracer_harness_free(struct tracer_harness *h)
{
	if (!h)
		return NULL;
	tracer_free(h->tracer);
	if (h->ex) {
		struct otlp_shutdown_report rep;

		otlp_exporter_shutdown(h->ex, 2000, &rep);
		otlp_exporter_free(h->ex);
	}
	otlp_receiver_free(h->rx);
	free(h);
	return NULL;
}

void tracer_harness_pump(struct tracer_harness *h, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;

	do {
		tracer_poll(h->tracer);
		sleep_ms(10);
	} while (mono_ms() < end);
	tracer_poll(h->tracer);
}

int tracer_harness_collect(struct tracer_harness *h, size_t n, int timeout_ms, int settle_ms,
			   json_t **ret_spans)
{
	uint64_t end = mono_ms() + (uint64_t)timeout_ms;

	while (h->spans < n && mono_ms() < end) {
		tracer_poll(h->tracer);
		sleep_ms(10);
	}
	tracer_harness_pump(h, settle_ms);
	otlp_exporter_flush(h->ex, 5000);
	return otlp_receiver_spans(h->rx, ret_spans);
}

const char *span_attr_string(json_t *span, const char *key)
{
	return json_string_value(json_object_get(json_object_get(span, "attributes"), key));
}

long long span_attr_int(json_t *span, const char *key)
{
	json_t *v = json_object_get(json_object_get(span, "attributes"), key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

int traced_world_start(const char *go_prefix, int stripped, const struct tracer_sampler *sampler,
		       struct traced_world **ret_world)
{
	struct traced_world *w = calloc(1, sizeof(*w));
	char binary[256];
	int rc;

	if (!w)
		return -ENOMEM;
	if ((rc = traced_service_fixture(go_prefix, stripped, binary, sizeof(binary))) < 0 ||
	    (rc = traced_service_start(binary, &w->svc)) < 0 ||
	    (rc = tracer_harness_start(sampler, traced_service_binary(w->svc), &w->h)) < 0 ||
	    (rc = tracer_scan(w->h->tracer)) < 0) {
		traced_world_free(w);
		return rc;
	}
	*ret_world = w;
	return 0;
}

struct traced_world *traced_world_free(struct traced_world *w)
{
	if (!w)
		return NULL;
	tracer_harness_free(w->h);
	traced_service_free(w->svc);
	free(w);
	return NULL;
}
