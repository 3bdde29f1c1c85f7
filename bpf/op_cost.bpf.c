// SPDX-License-Identifier: GPL-2.0
/* What the things a probe program does cost, one at a time: bench/bench_probe_cost.c
 * attaches op_cost at the jbe of a small Go function, sets `op` and reads the BPF
 * run-time statistics, so that the tracer's programs (bpf/http_server.bpf.c) can be
 * built from the cheapest operations that do the job. Each operation runs `reps`
 * times per hit, so that the fixed cost of a run does not hide it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/op_cost.h"

char LICENSE[] SEC("license") = "GPL";


volatile __u32 op;
#define REPS 4
/* For the bench to divide by. */
const volatile __u32 op_reps = REPS;
/* A PID namespace to translate to (the bench's own). */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;

struct oc_key {
	__u64 a;
	__u32 b, pad;
};
struct oc_val {
	__u64 w[9];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct oc_key);
	__type(value, struct oc_val);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct oc_key);
	__type(value, struct oc_val);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct oc_val);
} pchash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct oc_val);
} table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[256]);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ring SEC(".maps");

static long step(__u32 i, void *ctx)
{
	*(__u64 *)ctx += i;
	return 0;
}

SEC("uprobe")
int op_cost(struct pt_regs *ctx)
{
	__u32 o = op, zero = 0, k32 = 7;
	__u8 *buf = bpf_map_lookup_elem(&scratch, &zero);
	struct oc_key k = { .a = ctx->sp, .b = 1 };
	struct oc_val v = {};
	__u64 acc = 0;

	if (!buf)
		return 0;
	for (int i = 0; i < REPS; i++) {
		k.b = i + 1;
		switch (o) {
		case OC_KTIME:
			acc += bpf_ktime_get_ns();
			break;
		case OC_PRANDOM:
			acc += bpf_get_prandom_u32();
			break;
		case OC_PID_TGID:
			acc += bpf_get_current_pid_tgid();
			break;
		case OC_NS_PID_TGID: {
			struct bpf_pidns_info ns;

			if (!bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
				acc += ns.tgid;
			break;
		}
		case OC_READ_8:
			bpf_probe_read_user(buf, 8, (void *)ctx->sp);
			break;
		case OC_READ_64:
			bpf_probe_read_user(buf, 64, (void *)ctx->sp);
			break;
		case OC_READ_256:
			bpf_probe_read_user(buf, 256, (void *)ctx->sp);
			break;
		case OC_HASH_UPDATE_DELETE:
			bpf_map_update_elem(&hash, &k, &v, BPF_NOEXIST);
			bpf_map_delete_elem(&hash, &k);
			break;
		case OC_LRU_UPDATE_DELETE:
			bpf_map_update_elem(&lru, &k, &v, BPF_NOEXIST);
			bpf_map_delete_elem(&lru, &k);
			break;
		case OC_HASH_LOOKUP:
			if (bpf_map_lookup_elem(&hash, &k))
				acc++;
			break;
		case OC_PERCPU_HASH_LOOKUP: {
			struct oc_val *p = bpf_map_lookup_elem(&pchash, &k32);

			if (!p) {
				bpf_map_update_elem(&pchash, &k32, &v, BPF_NOEXIST);
				break;
			}
			p->w[1] += 1;
			break;
		}
		case OC_ARRAY_CLAIM_RELEASE: {
			__u32 slot = (__u32)((ctx->sp * 0x9E3779B97F4A7C15ULL) >> 50) + i;
			struct oc_val *p = bpf_map_lookup_elem(&table, &slot);

			if (p && __sync_val_compare_and_swap(&p->w[0], 0, ctx->sp) == 0) {
				p->w[1] = acc;
				acc += p->w[2];
				__sync_lock_test_and_set(&p->w[0], 0);
			}
			break;
		}
		case OC_LOOP_8:
			bpf_loop(8, step, &acc, 0);
			break;
		case OC_RINGBUF_320: {
			__u8 *r = bpf_ringbuf_reserve(&ring, 320, 0);

			if (r) {
				r[0] = 1;
				bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
			}
			break;
		}
		}
	}
	buf[0] = (__u8)acc;
	return 0;
}

/* The same reads from a sleepable program, where bpf_copy_from_user may fault. */
SEC("uprobe.s")
int op_cost_sleepable(struct pt_regs *ctx)
{
	__u32 o = op, zero = 0;
	__u8 *buf = bpf_map_lookup_elem(&scratch, &zero);
	__u64 sp = ctx->sp;

	if (!buf)
		return 0;
	for (int i = 0; i < REPS; i++) {
		if (o == OC_READ_8)
			bpf_copy_from_user(buf, 8, (void *)sp);
		else if (o == OC_READ_64)
			bpf_copy_from_user(buf, 64, (void *)sp);
	}
	return 0;
}
