/* Reading the per-CPU maps every probe family keeps: its counters (a per-CPU array of
 * uint64_t, one key per counter) and its RED histograms (a per-CPU hash whose values
 * are all uint64_t words: buckets, count, sum), summed over the CPUs.
 *
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_BPF_PERCPU_H
#define AUTOTRACE_AGENT_BPF_PERCPU_H

#include <stddef.h>
#include <stdint.h>

struct bpf_map;

/* ret[k] = the sum over the CPUs of counter k, for k < n; a key that cannot be read
 * counts 0. */
int bpf_percpu_counters(const struct bpf_map *map, int ncpus, uint32_t n, uint64_t *ret);

/* Calls fn for each key of a per-CPU hash with its value summed word by word over the
 * CPUs (value_size a multiple of 8); key and value are borrowed for the call. A key
 * deleted during the walk is skipped. */
typedef void (*bpf_percpu_sum_fn)(void *ud, const void *key, const void *value);
int bpf_percpu_hash_foreach(const struct bpf_map *map, int ncpus, size_t key_size,
			    size_t value_size, bpf_percpu_sum_fn fn, void *ud);

#endif
