/* The operations bpf/op_cost.bpf.c times, shared with bench/bench_probe_cost.c. */
#ifndef AUTOTRACE_BPF_OP_COST_H
#define AUTOTRACE_BPF_OP_COST_H

enum oc_op {
	OC_NONE = 0,
	OC_KTIME,
	OC_PRANDOM,
	OC_PID_TGID,
	OC_NS_PID_TGID,
	OC_READ_8,
	OC_READ_64,
	OC_READ_256,
	OC_HASH_UPDATE_DELETE,
	OC_LRU_UPDATE_DELETE,
	OC_HASH_LOOKUP,
	OC_PERCPU_HASH_LOOKUP,
	OC_ARRAY_CLAIM_RELEASE,
	OC_LOOP_8,
	OC_RINGBUF_320,
	OC_COUNT,
};

#endif
