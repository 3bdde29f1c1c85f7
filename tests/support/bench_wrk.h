/* wrk as the benchmarks drive a traced server with it: one thread, 16 connections. */
#ifndef AUTOTRACE_TESTS_SUPPORT_BENCH_WRK_H
#define AUTOTRACE_TESTS_SUPPORT_BENCH_WRK_H

#include <stdint.h>

struct tracer;

/* Runs `wrk -t1 -c16 -d<seconds>s url`; meanwhile the tracer t (NULL: none) is read
 * when woken or every 50 ms, as the agent reads it. Requests a second, or -1; the
 * requests wrk completed into *ret_requests (may be NULL). */
double bench_wrk(const char *url, int seconds, struct tracer *t, uint64_t *ret_requests);

#endif
