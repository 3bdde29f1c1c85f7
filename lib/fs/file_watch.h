/* Polls one file on an event_base and hands its new content to a callback whenever it
 * changes (by file identity: a volume's symlink swap or an in-place rewrite), once at
 * start when the file exists. Polling rather than inotify: a ConfigMap volume's swap
 * happens on a link in the parent folder, and polling costs one stat a second.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_FS_FILE_WATCH_H
#define AUTOTRACE_FS_FILE_WATCH_H

#include <event2/event.h>
#include <stddef.h>

struct file_watch;

/* `data` is the whole file (NUL-terminated, borrowed for the call), or NULL with
 * rc < 0 when it could not be read (-ENOENT: it disappeared, -EFBIG: over max_bytes). */
typedef void (*file_watch_fn)(void *ud, int rc, const char *data, size_t len);

struct file_watch_opts {
	const char *path;
	unsigned interval_ms; /* default 1000 */
	size_t max_bytes;     /* default 1 MiB */
	file_watch_fn on_change;
	void *ud;
};

int file_watch_new(struct event_base *base, const struct file_watch_opts *opts,
		   struct file_watch **ret_watch);
/* Checks now (as the timer would). */
void file_watch_check(struct file_watch *w);
struct file_watch *file_watch_free(struct file_watch *w);

#endif
