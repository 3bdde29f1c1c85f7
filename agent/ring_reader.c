/* The kernel's layout (kernel/bpf/ringbuf.c; libbpf's ringbuf.c reads it the same way):
 * the consumer position's page (the reader's to write), then the producer position's
 * page and the data pages (read-only), each record an 8-byte header (length with the
 * busy and discard bits, page offset) and the record, 8-byte aligned. */
#include "agent/ring_reader.h"

#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#define HDR_SZ 8u /* BPF_RINGBUF_HDR_SZ */

struct ring_reader {
	struct ring_view view;
	void *cons_map, *prod_map; /* the two mappings */
	size_t page, prod_len;
	int epoll_fd;
	ring_record_fn fn;
	void *ud;
};

/* The header's length without its two flag bits, header included, rounded to 8. */
static uint64_t record_span(uint32_t len)
{
	len &= ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	return ((uint64_t)len + HDR_SZ + 7) / 8 * 8;
}

int ring_view_drain(const struct ring_view *v, ring_record_fn fn, void *ud)
{
	uint64_t mask = v->size - 1;
	uint64_t cons = __atomic_load_n(v->consumer_pos, __ATOMIC_ACQUIRE);
	int n = 0, got;

	do {
		uint64_t prod = __atomic_load_n(v->producer_pos, __ATOMIC_ACQUIRE);

		got = 0;
		while (cons < prod) {
			/* Headers are 8-byte aligned in a ring of whole pages: never split. */
			const uint32_t *hdr = (const uint32_t *)(v->data + (cons & mask));
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			uint32_t size = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT |
							 BPF_RINGBUF_DISCARD_BIT);
			int r = 0;

			if (len & BPF_RINGBUF_BUSY_BIT)
				return n; /* not committed yet: the next drain takes it */
			if (record_span(len) > prod - cons) {
				/* Past what the kernel produced: not a header the kernel wrote.
				 * What is left is skipped, so that the reader goes on. */
				__atomic_store_n(v->consumer_pos, prod, __ATOMIC_RELEASE);
				return -EBADMSG;
			}
			got = 1;
			if (!(len & BPF_RINGBUF_DISCARD_BIT) && size <= v->size - HDR_SZ) {
				uint64_t at = (cons + HDR_SZ) & mask;
				const uint8_t *rec = v->data + at;

				if (at + size > v->size && size > v->scratch_size) {
					r = -EMSGSIZE; /* skipped: no room for its copy */
				} else if (at + size > v->size) {
					/* It wraps: its head at the end, its tail at the start. */
					size_t head = (size_t)(v->size - at);

					memcpy(v->scratch, rec, head);
					memcpy(v->scratch + head, v->data, size - head);
					rec = v->scratch;
				}
				if (r == 0) {
					r = fn(ud, rec, size);
					if (r == RING_RECORD_KEEP)
						return n; /* not consumed */
					if (n < INT_MAX)
						n++;
				}
			}
			cons += record_span(len);
			__atomic_store_n(v->consumer_pos, cons, __ATOMIC_RELEASE);
			if (r < 0)
				return r;
		}
	} while (got);
	return n;
}

/* Returns a new reader: the caller's until ring_reader_free. */
int ring_reader_new(int map_fd, size_t size, ring_record_fn fn, void *ud,
		    struct ring_reader **ret)
{
	struct ring_reader *r;
	long page = sysconf(_SC_PAGESIZE);
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (map_fd < 0 || !fn || page <= 0 || size < (size_t)page || (size & (size - 1)))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->page = (size_t)page;
	r->cons_map = r->prod_map = MAP_FAILED;
	r->epoll_fd = -1;
	r->fn = fn;
	r->ud = ud;
	r->view.scratch_size = size < RING_READER_MAX_RECORD ? size : RING_READER_MAX_RECORD;
	r->view.scratch = malloc(r->view.scratch_size);
	if (!r->view.scratch) {
		rc = -ENOMEM;
		goto fail;
	}
	r->cons_map = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (r->cons_map == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	/* The producer's page and the data, once (the kernel accepts any length up to
	 * the doubled area it keeps). */
	r->prod_len = r->page + size;
	r->prod_map = mmap(NULL, r->prod_len, PROT_READ, MAP_SHARED, map_fd, (off_t)r->page);
	if (r->prod_map == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	r->view.consumer_pos = r->cons_map;
	r->view.producer_pos = r->prod_map;
	r->view.data = (const uint8_t *)r->prod_map + r->page;
	r->view.size = size;
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epoll_fd < 0 || epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, map_fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	*ret = r;
	return 0;
fail:
	ring_reader_free(r);
	return rc;
}

struct ring_reader *ring_reader_free(struct ring_reader *r)
{
	if (!r)
		return NULL;
	if (r->epoll_fd >= 0)
		close(r->epoll_fd);
	if (r->prod_map != MAP_FAILED)
		munmap(r->prod_map, r->prod_len);
	if (r->cons_map != MAP_FAILED)
		munmap(r->cons_map, r->page);
	free(r->view.scratch);
	free(r);
	return NULL;
}

int ring_reader_consume(struct ring_reader *r)
{
	return ring_view_drain(&r->view, r->fn, r->ud);
}

int ring_reader_epoll_fd(const struct ring_reader *r)
{
	return r->epoll_fd;
}
