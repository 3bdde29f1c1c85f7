/* OTLP export cost on one core: spans per second encoded as protobuf and as JSON (plain
 * and gzip), and exported end to end through the exporter (queue, batching, libcurl) to
 * the real OTLP receiver, next to a baseline measured in the same run on the same
 * bytes: a memcpy of the encoded protobuf batch, the least any exporter does. Ratios
 * say what each stage costs against it and against each other. The process is pinned
 * to one CPU; the receiver (a separate process, decoding with the Collector's pdata and
 * writing every span to a file) runs where the kernel puts it and bounds the end-to-end
 * rate; the CPU figure is this process's alone (producer, queue, worker, libcurl).
 * Needs otlp-receiver on PATH for the end-to-end figure.
 * Usage: bench_otlp [spans exported end to end, default 200000] */
#include <curl/curl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/otlp/encode_json.h"
#include "lib/otlp/encode_proto.h"
#include "lib/otlp/exporter.h"
#include "lib/otlp/gzip.h"
#include "tests/support/otlp_receiver.h"

#define BATCH 512

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* An HTTP server span as the agent makes one. */
static void make_span(struct otlp_span *s, uint32_t i)
{
	char buf[64];

	uint64_t x = 0x9E3779B97F4A7C15ULL * (i + 1);

	otlp_span_init(s);
	/* Random-looking ids, as real ones are: they are what gzip cannot shrink. */
	for (size_t k = 0; k < 40; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (k < 16)
			s->trace_id[k] = (uint8_t)x;
		else if (k < 24)
			s->span_id[k - 16] = (uint8_t)x;
		else if (k < 32)
			s->parent_span_id[k - 24] = (uint8_t)x;
	}
	s->kind = OTLP_SPAN_KIND_SERVER;
	s->flags = 1;
	s->start_unix_nano = 1763900000000000000ULL + i * 1000ULL;
	s->end_unix_nano = s->start_unix_nano + 250000;
	otlp_span_set_name(s, "GET /api/v1/orders/{id}", 23);
	otlp_span_add_string(s, "http.request.method", "GET");
	snprintf(buf, sizeof(buf), "/api/v1/orders/%u", i);
	otlp_span_add_string(s, "url.path", buf);
	otlp_span_add_string(s, "http.route", "/api/v1/orders/{id}");
	otlp_span_add_int(s, "http.response.status_code", 200);
	otlp_span_add_string(s, "server.address", "orders.shop.svc");
	otlp_span_add_int(s, "server.port", 8080);
	otlp_span_add_string(s, "network.protocol.version", "1.1");
}

static void make_resource(struct otlp_resource *r)
{
	otlp_resource_init(r);
	otlp_resource_add_string(r, "service.name", "orders");
	otlp_resource_add_string(r, "service.version", "1.4.2");
	otlp_resource_add_string(r, "k8s.namespace.name", "shop");
	otlp_resource_add_string(r, "k8s.pod.name", "orders-6b7c9d-x8k2p");
	otlp_resource_add_string(r, "k8s.node.name", "node-3");
	otlp_resource_add_string(r, "k8s.deployment.name", "orders");
	otlp_resource_add_string(r, "telemetry.sdk.language", "go");
}

typedef int (*encode_fn)(const struct otlp_resource *, const char *, const struct otlp_span *,
			 size_t, struct otlp_buf *);

/* Spans/s over at least min_s seconds; *ret_bytes is the size of one batch body. */
static double measure_encode(encode_fn fn, bool gzip, const struct otlp_resource *res,
			     const struct otlp_span *spans, double min_s, size_t *ret_bytes)
{
	struct otlp_buf out = { 0 }, gz = { 0 };
	double t0 = now_s(), t;
	size_t rounds = 0;

	do {
		out.len = 0;
		if (fn(res, "0.1.0", spans, BATCH, &out) < 0 || (gzip && otlp_gzip(out.data, out.len, &gz) < 0)) {
			fprintf(stderr, "encode failed\n");
			exit(1);
		}
		rounds++;
		t = now_s() - t0;
	} while (t < min_s);
	*ret_bytes = gzip ? gz.len : out.len;
	otlp_buf_free(&out);
	otlp_buf_free(&gz);
	return (double)rounds * BATCH / t;
}

static double measure_memcpy(const struct otlp_resource *res, const struct otlp_span *spans,
			     double min_s)
{
	struct otlp_buf src = { 0 };
	double t0 = now_s(), t;
	size_t rounds = 0;
	uint8_t *dst;
	volatile uint8_t sink = 0;

	otlp_encode_proto(res, "0.1.0", spans, BATCH, &src);
	dst = malloc(src.len);
	if (!dst)
		exit(1);
	do {
		memcpy(dst, src.data, src.len);
		sink ^= dst[rounds % src.len];
		rounds++;
		t = now_s() - t0;
	} while (t < min_s);
	free(dst);
	otlp_buf_free(&src);
	return (double)rounds * BATCH / t;
}

/* The agent-side cost before the network: building a span, and building plus
 * enqueueing it (into an exporter whose collector is unreachable, so that its worker
 * sleeps between retries and the queue keeps dropping its oldest, as in an outage). */
static double measure_build(uint32_t n)
{
	struct otlp_span s;
	double t0 = now_s();
	volatile uint8_t sink = 0;

	for (uint32_t i = 0; i < n; i++) {
		make_span(&s, i);
		sink ^= s.text[i % 8];
	}
	return (double)n / (now_s() - t0);
}

static double measure_enqueue(const struct otlp_resource *res, uint32_t n)
{
	struct otlp_exporter_options opts = {
		.queue_capacity = 8192, .max_batch = BATCH, .max_delay_ms = 100,
		.backoff = { .initial_ms = 5000, .max_ms = 5000, .multiplier = 1 },
		.resource = res,
	};
	struct otlp_exporter_config cfg = { .endpoint = "http://127.0.0.1:9" };
	struct otlp_exporter *ex;
	struct otlp_span s;
	double t0, t;

	if (otlp_exporter_new(&opts, &cfg, &ex) < 0)
		return 0;
	t0 = now_s();
	for (uint32_t i = 0; i < n; i++) {
		make_span(&s, i);
		otlp_exporter_enqueue(ex, &s);
	}
	t = now_s() - t0;
	otlp_exporter_free(ex);
	return (double)n / t;
}

struct e2e {
	double spans_per_s, cpu_us_per_span;
	uint64_t dropped, requests;
};

static int measure_export(enum otlp_protocol protocol, bool gzip, const struct otlp_resource *res,
			  uint32_t n, struct e2e *ret)
{
	struct otlp_receiver *rx;
	struct otlp_exporter *ex;
	struct otlp_exporter_options opts = {
		.queue_capacity = 8192, .max_batch = BATCH, .max_delay_ms = 100,
		.scope_version = "0.1.0", .resource = res,
	};
	struct otlp_exporter_config cfg = { .protocol = protocol, .gzip = gzip };
	struct otlp_exporter_stats st;
	struct otlp_span s;
	double t0, c0, t, c;
	uint64_t dropped = 0;
	int err;

	err = otlp_receiver_start(0, &rx);
	if (err < 0)
		return err;
	cfg.endpoint = otlp_receiver_endpoint(rx);
	err = otlp_exporter_new(&opts, &cfg, &ex);
	if (err < 0) {
		otlp_receiver_free(rx);
		return err;
	}
	t0 = now_s();
	c0 = cpu_s();
	for (uint32_t i = 0; i < n; i++) {
		make_span(&s, i);
		otlp_exporter_enqueue(ex, &s);
		/* Offer spans no faster than the exporter drains them, as a steady agent would:
		 * the figure is throughput, not how fast a full queue drops. */
		while (i % 256 == 0) {
			otlp_exporter_get_stats(ex, &st);
			if (st.queue_length < opts.queue_capacity / 2)
				break;
			nanosleep(&(struct timespec){ .tv_nsec = 200000 }, NULL);
		}
	}
	otlp_exporter_flush(ex, 60000);
	t = now_s() - t0;
	c = cpu_s() - c0;
	otlp_exporter_get_stats(ex, &st);
	for (int r = 0; r < OTLP_DROP__COUNT; r++)
		dropped += st.spans_dropped[r];
	ret->spans_per_s = (double)st.spans_exported / t;
	ret->cpu_us_per_span = c * 1e6 / (double)n;
	ret->dropped = dropped;
	ret->requests = st.requests[OTLP_REQUEST_SUCCESS];
	otlp_exporter_free(ex);
	otlp_receiver_free(rx);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 200000;
	static struct otlp_span spans[BATCH];
	struct otlp_resource res;
	cpu_set_t one;
	size_t pb_bytes, js_bytes, pbz_bytes, jsz_bytes;
	double base, pb, js, pbz, jsz;
	struct {
		const char *name;
		enum otlp_protocol p;
		bool gz;
		struct e2e r;
		int err;
	} e[] = {
		{ .name = "protobuf", .p = OTLP_PROTOCOL_HTTP_PROTOBUF },
		{ .name = "json", .p = OTLP_PROTOCOL_HTTP_JSON },
		{ .name = "protobuf+gzip", .p = OTLP_PROTOCOL_HTTP_PROTOBUF, .gz = true },
	};

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	make_resource(&res);
	for (uint32_t i = 0; i < BATCH; i++)
		make_span(&spans[i], i);

	base = measure_memcpy(&res, spans, 0.5);
	pb = measure_encode(otlp_encode_proto, false, &res, spans, 1.0, &pb_bytes);
	js = measure_encode(otlp_encode_json, false, &res, spans, 1.0, &js_bytes);
	pbz = measure_encode(otlp_encode_proto, true, &res, spans, 1.0, &pbz_bytes);
	jsz = measure_encode(otlp_encode_json, true, &res, spans, 1.0, &jsz_bytes);

	printf("bench_otlp: batches of %d HTTP server spans (7 attributes), one core\n", BATCH);
	printf("  %-28s %12.0f spans/s  %7.1f bytes/span  (baseline)\n",
	       "memcpy of the protobuf body", base, (double)pb_bytes / BATCH);
	printf("  %-28s %12.0f spans/s  %7.1f bytes/span  %6.1fx the baseline's time\n",
	       "encode protobuf", pb, (double)pb_bytes / BATCH, base / pb);
	printf("  %-28s %12.0f spans/s  %7.1f bytes/span  %6.1fx the baseline's time, %4.2fx protobuf's\n",
	       "encode JSON", js, (double)js_bytes / BATCH, base / js, pb / js);
	printf("  %-28s %12.0f spans/s  %7.1f bytes/span  %6.1fx the baseline's time, %4.2fx protobuf's\n",
	       "encode protobuf + gzip", pbz, (double)pbz_bytes / BATCH, base / pbz, pb / pbz);
	printf("  %-28s %12.0f spans/s  %7.1f bytes/span  %6.1fx the baseline's time, %4.2fx protobuf's\n",
	       "encode JSON + gzip", jsz, (double)jsz_bytes / BATCH, base / jsz, pb / jsz);

	{
		double build = measure_build(n), enq = measure_enqueue(&res, n);

		printf("  %-28s %12.0f spans/s  %7.3f us/span\n", "build a span (agent side)", build,
		       1e6 / build);
		printf("  %-28s %12.0f spans/s  %7.3f us/span  %6.2fx building alone\n",
		       "build + enqueue", enq, 1e6 / enq, build / enq);
	}
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		e[i].err = measure_export(e[i].p, e[i].gz, &res, n, &e[i].r);
		if (e[i].err < 0) {
			printf("  export %-21s skipped: cannot start otlp-receiver (%s)\n", e[i].name,
			       strerror(-e[i].err));
			continue;
		}
		printf("  export %-21s %12.0f spans/s  %7.2f us CPU/span  %6.1fx encode protobuf's time"
		       "  (%u spans, %llu requests, %llu dropped)\n",
		       e[i].name, e[i].r.spans_per_s, e[i].r.cpu_us_per_span,
		       pb / e[i].r.spans_per_s, n, (unsigned long long)e[i].r.requests,
		       (unsigned long long)e[i].r.dropped);
	}
	curl_global_cleanup();
	return 0;
}
