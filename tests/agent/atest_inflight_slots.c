/* The kernel's table of requests in flight (bpf/http_server.h, struct hs_inflight)
 * against a real Go server and many requests at once: with room for them all, every
 * request is exactly one span; with far fewer slots than requests, the oldest give way,
 * and every request is still accounted for: a span, or a missing start counted as
 * such, never a span with another request's start. */
#include <curl/curl.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/go_binary.h"
#include "agent/probe_loader.h"
#include "agent/server_probes.h"
#include "tests/support/traced_service.h"

#define CONCURRENT 200
#define SLEEP_MS 600

struct counts {
	size_t records;
	size_t too_short; /* records whose span is shorter than the handler slept */
};

static int count_record(void *ud, const void *data, size_t size)
{
	struct counts *c = ud;
	const struct hs_span_record *rec = data;

	if (size < sizeof(*rec))
		return 0;
	c->records++;
	if (rec->end_ns - rec->start_ns < (uint64_t)SLEEP_MS * 1000000)
		c->too_short++;
	return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* Sends CONCURRENT requests to /slow at once; all are in the handler together. */
static void send_at_once(int port)
{
	CURLM *multi = curl_multi_init();
	CURL *easy[CONCURRENT];
	char url[128];
	int running = 1;

	assert_non_null(multi);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow?ms=%d", port, SLEEP_MS);
	for (int i = 0; i < CONCURRENT; i++) {
		easy[i] = curl_easy_init();
		assert_non_null(easy[i]);
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT_MS, 20000L);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
		curl_multi_add_handle(multi, easy[i]);
	}
	while (running) {
		curl_multi_perform(multi, &running);
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < CONCURRENT; i++) {
		long code = 0;

		curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &code);
		assert_int_equal(code, 200);
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_multi_cleanup(multi);
}

/* Runs the burst with slots in-flight slots; the stats and what the ring gave. */
static void burst(size_t slots, uint64_t *ret_stats, struct counts *ret_counts)
{
	char binary[256], exe[64];
	struct traced_service *svc;
	struct go_binary *gb = NULL;
	struct server_probe_plan plan;
	struct probe_loader *pl = NULL;
	struct probe_attachment *a = NULL;
	struct hs_sampler all = { .type = HS_SAMPLER_ALWAYS_ON };
	struct probe_loader_opts lo = { .max_inflight = slots, .on_record = count_record,
					.ud = ret_counts };

	memset(ret_counts, 0, sizeof(*ret_counts));
	assert_int_equal(traced_service_fixture("", 0, binary, sizeof(binary)), 0);
	assert_int_equal(traced_service_start(binary, &svc), 0);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)traced_service_pid(svc));
	assert_int_equal(go_binary_open(binary, NULL, &gb), 0);
	assert_int_equal(server_probes_plan(gb, &plan), 0);
	assert_int_equal(probe_loader_new(&lo, &pl), 0);
	plan.offsets.valid = 1;
	assert_int_equal(probe_loader_set_offsets(pl, 0, &plan.offsets), 0);
	assert_int_equal(probe_loader_set_sampler(pl, &all), 0);
	struct probe_attach_spec spec = { .pid = traced_service_pid(svc), .binary_path = exe,
					  .start_offset = plan.start.file_offset,
					  .end_offset = plan.end.file_offset };
	assert_int_equal(probe_loader_attach(pl, &spec, &a), 0);

	send_at_once(traced_service_port(svc));
	assert_true(probe_loader_consume(pl) >= 0);
	assert_int_equal(probe_loader_read_stats(pl, ret_stats), 0);
	print_message("# %zu slots: %zu spans, requests %llu, missing starts %llu, slots taken %llu, "
		      "lost races %llu\n", slots, ret_counts->records,
		      (unsigned long long)ret_stats[HS_STAT_REQUESTS],
		      (unsigned long long)ret_stats[HS_STAT_MISSING_START],
		      (unsigned long long)ret_stats[HS_STAT_STALE_START],
		      (unsigned long long)ret_stats[HS_STAT_INFLIGHT_FULL]);
	probe_attachment_free(a);
	probe_loader_free(pl);
	go_binary_free(gb);
	traced_service_free(svc);
}

static void with_room_every_request_is_one_span(void **state)
{
	uint64_t st[HS_STAT_COUNT];
	struct counts c;

	burst(0, st, &c);
	assert_int_equal(c.records, CONCURRENT);
	assert_int_equal(c.too_short, 0);
	assert_int_equal(st[HS_STAT_REQUESTS], CONCURRENT);
	assert_int_equal(st[HS_STAT_MISSING_START], 0);
	assert_int_equal(st[HS_STAT_STALE_START], 0);
	assert_int_equal(st[HS_STAT_INFLIGHT_FULL], 0);
}

static void without_room_every_request_is_still_accounted_for(void **state)
{
	uint64_t st[HS_STAT_COUNT];
	struct counts c;

	burst(64, st, &c);
	/* More requests than slots at once: some must have given way. */
	assert_true(st[HS_STAT_MISSING_START] > 0);
	/* Each request ended as a span or as a counted missing start... */
	assert_int_equal(st[HS_STAT_REQUESTS] + st[HS_STAT_MISSING_START], CONCURRENT);
	assert_int_equal(c.records, st[HS_STAT_REQUESTS]);
	/* ... each missing one because its slot was taken or never had one ... */
	assert_int_equal(st[HS_STAT_MISSING_START],
			 st[HS_STAT_STALE_START] + st[HS_STAT_INFLIGHT_FULL]);
	/* ... and no span carries a start that was not its own (every handler slept). */
	assert_int_equal(c.too_short, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(with_room_every_request_is_one_span),
		cmocka_unit_test(without_room_every_request_is_still_accounted_for),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
