/* The capabilities the agent needs, checked against what its process has, so that a
 * pod whose securityContext lacks one is told which and why instead of failing later
 * with EPERM somewhere in libbpf or /proc.
 *
 *   CAP_BPF         load BPF programs and maps
 *   CAP_PERFMON     attach uprobes (perf events) and read BPF statistics
 *   CAP_SYS_PTRACE  read the traced processes' executables and memory maps in /proc
 *                   (their capabilities are not a subset of the agent's)
 *
 * CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, as the kernel allows. */
#ifndef AUTOTRACE_AGENT_CAPABILITIES_H
#define AUTOTRACE_AGENT_CAPABILITIES_H

#include <stddef.h>
#include <stdint.h>

/* The effective set from a /proc/<pid>/status text ("CapEff:\t<hex>"): 0, or -EINVAL
 * when the line is missing or malformed. */
int capabilities_parse_status(const char *status, uint64_t *ret_effective);

/* Writes into buf the names of the needed capabilities that `effective` lacks, each
 * with the reason, separated by "; " (empty when none), and returns how many are
 * missing. buf is always terminated; a short buf truncates the text only. */
int capabilities_missing(uint64_t effective, char *buf, size_t size);

/* The effective set of the calling process (/proc/self/status): 0 or a negative errno. */
int capabilities_effective(uint64_t *ret_effective);

#endif
