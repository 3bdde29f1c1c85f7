/* What every uprobe program of the agent reads the same way: x86-64's registers at
 * their fixed offsets, the attach cookie (pid, sampler slot and offsets slot), the owner
 * tag and hash of an in-flight slot, and the RED buckets' bounds. Included by the .bpf.c files after
 * vmlinux.h; the in-flight slots' layout is bpf/http_server.h's. */
#ifndef AUTOTRACE_BPF_UPROBE_CONTEXT_H
#define AUTOTRACE_BPF_UPROBE_CONTEXT_H

#include "bpf/http_server.h"

/* x86-64's struct pt_regs, as the kernel hands it to a uprobe program: its layout is
 * fixed (the entry code's, and ptrace's user_regs_struct), so the registers are read at
 * these offsets without CO-RE. A CO-RE relocation, even one, has libbpf parse the
 * kernel's BTF (~6 MB, 125,000 types) at every load: tens of milliseconds of CPU and
 * megabytes at the agent's start. */
struct hs_regs {
	__u64 r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
};

static __always_inline const struct hs_regs *regs_of(const struct pt_regs *ctx)
{
	return (const struct hs_regs *)ctx;
}

/* Each probe is attached to one process, with a cookie (HS_COOKIE) that carries that
 * process's pid as the agent sees it, its sampler's slot and the slot of its binary's
 * offsets: the pid tells in-flight requests of two processes apart and goes into
 * records, without a helper call (~10 ns, ~80 through the agent's PID namespace). */
static __always_inline __u32 cookie_slot(__u64 cookie)
{
	return (__u32)cookie & 0xffff;
}

static __always_inline __u32 cookie_sampler(__u64 cookie)
{
	return ((__u32)cookie >> 16) & 0xffff;
}

static __always_inline __u32 cookie_pid(__u64 cookie)
{
	return (__u32)(cookie >> 32);
}

/* A slot's owner word: the key with the pid's low bits above the 48 bits of a user
 * address, so that one compare tells most keys of two processes apart (the slot's pid
 * tells the rest). Never zero: the key is a non-null pointer. */
static __always_inline __u64 owner_tag(__u64 key, __u32 pid)
{
	return key ^ ((__u64)(pid & 0xffff) << 48);
}

static __always_inline __u32 slot_hash(__u64 tag)
{
	return (__u32)((tag * 0x9E3779B97F4A7C15ULL) >> 40);
}

static const __u64 red_bounds_ns[HS_RED_BOUNDS] = {
	5000000ULL,   10000000ULL,  25000000ULL,  50000000ULL,   75000000ULL,
	100000000ULL, 250000000ULL, 500000000ULL, 750000000ULL,  1000000000ULL,
	2500000000ULL, 5000000000ULL, 7500000000ULL, 10000000000ULL,
};

/* The bucket of a duration: HS_RED_BOUNDS for +Inf. */
static __always_inline __u32 red_bucket(__u64 dur)
{
	__u32 b = HS_RED_BOUNDS;

#pragma unroll
	for (int i = HS_RED_BOUNDS - 1; i >= 0; i--) {
		if (dur <= red_bounds_ns[i])
			b = i;
	}
	return b;
}

#endif
