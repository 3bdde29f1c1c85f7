/* Framing of a Kubernetes watch stream: newline-delimited JSON events arriving in
 * arbitrary chunks. The framer keeps only the unfinished tail of the stream (never
 * re-parses what it has delivered) and refuses a line over a bound, so a peer cannot
 * make us buffer without limit. Pure code, no I/O. */
#ifndef AUTOTRACE_KUBE_WATCH_FRAME_H
#define AUTOTRACE_KUBE_WATCH_FRAME_H

#include <jansson.h>
#include <stddef.h>

struct watch_framer {
	char *tail;       /* bytes of the unfinished line */
	size_t tail_len;
	size_t tail_cap;
	size_t max_line;  /* longest line accepted, newline excluded */
};

/* A line handler returns 0 to go on, or a negative errno that stops feeding. */
typedef int (*watch_line_fn)(void *ud, const char *line, size_t len);

void watch_framer_init(struct watch_framer *f, size_t max_line);
/* Frees the tail; the framer can be initialised again. */
void watch_framer_release(struct watch_framer *f);
/* Delivers every complete line in `data` (after the kept tail) to `fn`, in order, and
 * keeps the rest. Returns 0, -EMSGSIZE for a line over max_line (the stream is then
 * unusable: restart it), -ENOMEM, or the first error `fn` returned. Empty lines are
 * skipped. */
int watch_framer_feed(struct watch_framer *f, const char *data, size_t len,
		      watch_line_fn fn, void *ud);

enum watch_event_type {
	WATCH_ADDED,
	WATCH_MODIFIED,
	WATCH_DELETED,
	WATCH_BOOKMARK,
	WATCH_ERROR, /* the object is a Status, e.g. 410 "too old resource version" */
};

/* Decodes one event line. On success *ret_object is a new reference to the event's
 * object. -EBADMSG for anything that is not {"type": <known>, "object": {...}}. */
int watch_event_decode(const char *line, size_t len, enum watch_event_type *ret_type,
		       json_t **ret_object);

const char *watch_event_type_name(enum watch_event_type type);

#endif
