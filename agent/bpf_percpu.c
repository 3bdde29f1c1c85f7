#include "agent/bpf_percpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

int bpf_percpu_counters(const struct bpf_map *map, int ncpus, uint32_t n, uint64_t *ret)
{
	uint64_t *percpu = calloc((size_t)ncpus, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++) {
		ret[k] = 0;
		if (bpf_map__lookup_elem(map, &k, sizeof(k), percpu, sizeof(*percpu) * (size_t)ncpus,
					 0))
			continue;
		for (int c = 0; c < ncpus; c++)
			ret[k] += percpu[c];
	}
	free(percpu);
	return 0;
}

int bpf_percpu_hash_foreach(const struct bpf_map *map, int ncpus, size_t key_size,
			    size_t value_size, bpf_percpu_sum_fn fn, void *ud)
{
	/* One allocation: the key, the next key, the summed value (8-byte aligned), then
	 * every CPU's value (the kernel rounds each to 8 bytes: value_size already is). */
	size_t words = value_size / sizeof(uint64_t), keys = (2 * key_size + 7) & ~(size_t)7;
	uint8_t *buf = calloc(1, keys + value_size * ((size_t)ncpus + 1));
	uint8_t *key, *next;
	uint64_t *sum, *percpu;
	const void *prev = NULL;

	if (!buf)
		return -ENOMEM;
	if (value_size % sizeof(uint64_t)) {
		free(buf);
		return -EINVAL;
	}
	key = buf;
	next = buf + key_size;
	sum = (uint64_t *)(void *)(buf + keys);
	percpu = sum + words;
	while (bpf_map__get_next_key(map, prev, next, key_size) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map__lookup_elem(map, key, key_size, percpu, value_size * (size_t)ncpus, 0))
			continue; /* deleted meanwhile */
		memset(sum, 0, value_size);
		for (int c = 0; c < ncpus; c++)
			for (size_t w = 0; w < words; w++)
				sum[w] += percpu[(size_t)c * words + w];
		fn(ud, key, sum);
	}
	free(buf);
	return 0;
}
