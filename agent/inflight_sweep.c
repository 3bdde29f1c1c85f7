#include "agent/inflight_sweep.h"

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "bpf/http_client.h"
#include "bpf/http_server.h"

static int released(const uint32_t *pids, size_t n, uint32_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/* Slots read this many at a time (BPF_MAP_LOOKUP_BATCH): a walk of 16,384 slots one
 * lookup at a time costs 16,384 system calls on the agent's event loop. */
#define SLOT_BATCH 256

static int sweep_slots(const struct inflight_maps *m, const uint32_t *pids, size_t n_pids,
		       uint64_t *ret_freed, uint64_t *ret_held)
{
	uint32_t keys[SLOT_BATCH];
	struct hs_inflight vals[SLOT_BATCH]; /* 16 KiB */
	uint32_t batch = 0;
	int last = 0;

	for (uint32_t done = 0; !last && done < m->n_slots;) {
		uint32_t n = SLOT_BATCH;
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		int r = bpf_map_lookup_batch(m->inflight_fd, done ? &batch : NULL, &batch, keys, vals,
					     &n, &o);

		if (r < 0 && errno != ENOENT)
			return -errno;
		last = r < 0; /* ENOENT: these were the last */
		for (uint32_t i = 0; i < n; i++) {
			struct hs_inflight *v = &vals[i];

			if (!v->owner)
				continue;
			if (!released(pids, n_pids, v->pid)) {
				(*ret_held)++;
				continue;
			}
			/* Only the owner word frees a slot; the reader cache beside it stays.
			 * Read again first: the batch is a moment old. */
			if (bpf_map_lookup_elem(m->inflight_fd, &keys[i], v) || !v->owner ||
			    !released(pids, n_pids, v->pid))
				continue;
			v->owner = 0;
			if (bpf_map_update_elem(m->inflight_fd, &keys[i], v, BPF_EXIST))
				return -errno;
			(*ret_freed)++;
		}
		done += n;
		if (n == 0)
			break;
	}
	return 0;
}

static int sweep_calls(const struct inflight_maps *m, const uint32_t *pids, size_t n_pids,
		       uint64_t *ret_freed, uint64_t *ret_held)
{
	struct hc_call c;
	uint64_t key, next;
	const void *at = NULL;

	/* Deleting the key just read keeps get_next_key's walk going from the one before:
	 * the walk restarts from the start only when a deleted key cannot be found. */
	while (bpf_map_get_next_key(m->calls_fd, at, &next) == 0) {
		if (bpf_map_lookup_elem(m->calls_fd, &next, &c) == 0 &&
		    released(pids, n_pids, c.pid) && bpf_map_delete_elem(m->calls_fd, &next) == 0) {
			(*ret_freed)++;
			continue; /* `at` stays: its successor is now the one after next */
		}
		(*ret_held)++;
		key = next;
		at = &key;
	}
	return errno == ENOENT ? 0 : -errno;
}

int inflight_sweep(const struct inflight_maps *m, const uint32_t *pids, size_t n_pids,
		   struct inflight_counts *ret_freed, struct inflight_counts *ret_held)
{
	struct inflight_counts freed = { 0 }, held = { 0 };
	int r = 0;

	if (m->inflight_fd >= 0)
		r = sweep_slots(m, pids, n_pids, &freed.server, &held.server);
	if (r == 0 && m->calls_fd >= 0)
		r = sweep_calls(m, pids, n_pids, &freed.client, &held.client);
	if (ret_freed)
		*ret_freed = freed;
	if (ret_held)
		*ret_held = held;
	return r;
}
