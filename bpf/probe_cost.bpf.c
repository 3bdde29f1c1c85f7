// SPDX-License-Identifier: GPL-2.0
/* The cheapest uprobe program there is: it counts its hits. bench/bench_probe_cost.c
 * attaches it at different instructions of one function to time what the kernel's
 * uprobe machinery costs per hit for each instruction class, apart from any program's
 * own work. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("uprobe")
int count_hit(struct pt_regs *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&hits, &zero);

	if (n)
		*n += 1;
	return 0;
}
