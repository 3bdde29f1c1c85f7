#include "lib/fs/file_watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fs/file_identity.h"
#include "lib/fs/read_file.h"

struct file_watch {
	struct file_watch_opts opts;
	char *path;
	struct event *timer;
	struct file_identity seen;
	int started;
};

void file_watch_check(struct file_watch *w)
{
	struct file_identity now;
	char *data = NULL;
	size_t len = 0;

	file_identity_read(w->path, &now);
	if (w->started && file_identity_equal(&now, &w->seen))
		return;
	int first = !w->started;
	w->started = 1;
	w->seen = now;
	if (!now.present) {
		if (!first)
			w->opts.on_change(w->opts.ud, -ENOENT, NULL, 0);
		return;
	}
	int rc = read_file_bounded(w->path, w->opts.max_bytes, &data, &len);
	w->opts.on_change(w->opts.ud, rc, rc == 0 ? data : NULL, rc == 0 ? len : 0);
	free(data);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	file_watch_check(arg);
}

int file_watch_new(struct event_base *base, const struct file_watch_opts *opts,
		   struct file_watch **ret_watch)
{
	struct file_watch *w;

	if (!opts || !opts->path || !opts->on_change)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->opts = *opts;
	if (!w->opts.interval_ms)
		w->opts.interval_ms = 1000;
	if (!w->opts.max_bytes)
		w->opts.max_bytes = 1 << 20;
	w->path = strdup(opts->path);
	w->timer = event_new(base, -1, EV_PERSIST, on_tick, w);
	if (!w->path || !w->timer) {
		file_watch_free(w);
		return -ENOMEM;
	}
	w->opts.path = w->path;
	struct timeval tv = { w->opts.interval_ms / 1000, (w->opts.interval_ms % 1000) * 1000 };
	event_add(w->timer, &tv);
	file_watch_check(w);
	*ret_watch = w;
	return 0;
}

struct file_watch *file_watch_free(struct file_watch *w)
{
	if (!w)
		return NULL;
	if (w->timer)
		event_free(w->timer);
	free(w->path);
	free(w);
	return NULL;
}
