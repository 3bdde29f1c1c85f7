/* A BPF ring buffer's reader that maps the data pages once. libbpf's ring_buffer maps
 * them twice, back to back, so that a record that wraps around the end reads as one
 * piece; but the kernel maps every page of a ring at mmap time, so the second copy is
 * as much resident memory as the ring itself, always (1 MiB of a sidecar's RSS with
 * the default ring, 8 MiB of a node agent's). Here a record that wraps (a few per
 * ring's turn) is copied into a buffer of the reader's instead.
 *
 * The records are the kernel's: a record the BPF programs made, of the length its
 * header says (BPF_RINGBUF_HDR_SZ bytes before it; busy and discard bits). Not
 * thread-safe. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_AGENT_RING_READER_H
#define AUTOTRACE_AGENT_RING_READER_H

#include <stddef.h>
#include <stdint.h>

/* One record, borrowed for the call. Return 0 to go on, a negative errno to stop after
 * this record (the drain returns it), or RING_RECORD_KEEP to stop before it: it stays
 * in the ring, the first record of the next drain (the drain returns the count so far). */
#define RING_RECORD_KEEP 1
typedef int (*ring_record_fn)(void *ud, const void *data, size_t size);

/* The positions and the data area of a ring: the kernel's mapping, or a test's. */
struct ring_view {
	uint64_t *consumer_pos;       /* written by the reader */
	const uint64_t *producer_pos; /* written by the kernel */
	const uint8_t *data;          /* size bytes, mapped once */
	size_t size;                  /* a power of two */
	uint8_t *scratch;             /* a wrapped record's copy */
	size_t scratch_size;
};

/* Hands each committed record from *consumer_pos on to fn, advancing consumer_pos
 * past each one (discarded ones are skipped), until a record still being written or
 * producer_pos. Returns the records handed out, or fn's error; -EBADMSG for a header
 * that reaches past producer_pos (never the kernel's), and then consumer_pos is moved
 * to producer_pos; -EMSGSIZE after skipping a wrapped record larger than the scratch
 * (the agent's programs submit a few hundred bytes at most). */
int ring_view_drain(const struct ring_view *v, ring_record_fn fn, void *ud);

struct ring_reader;

/* A wrapped record's copy holds this much. */
#define RING_READER_MAX_RECORD 65536

/* Maps the ring buffer map map_fd of size bytes (its max_entries). Returns a new
 * reader in ret; map_fd stays the caller's. */
int ring_reader_new(int map_fd, size_t size, ring_record_fn fn, void *ud,
		    struct ring_reader **ret);
/* Unmaps; accepts NULL; returns NULL. */
struct ring_reader *ring_reader_free(struct ring_reader *r);
/* ring_view_drain on the kernel's ring. */
int ring_reader_consume(struct ring_reader *r);
/* Readable when the kernel wakes the reader (an epoll descriptor, the reader's). */
int ring_reader_epoll_fd(const struct ring_reader *r);

#endif
