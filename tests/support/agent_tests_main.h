/* The main() of an agent-rung program whose tests load BPF programs: they need root,
 * and libcurl set up once for the OTLP exporters the harnesses start. */
#ifndef AUTOTRACE_TESTS_SUPPORT_AGENT_TESTS_MAIN_H
#define AUTOTRACE_TESTS_SUPPORT_AGENT_TESTS_MAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* Runs the group; 1 without root (with a TAP comment saying why). */
int agent_tests_run(const char *group, const struct CMUnitTest *tests, size_t count);

#define AGENT_TESTS_RUN(tests) agent_tests_run(#tests, (tests), sizeof(tests) / sizeof((tests)[0]))

#endif
