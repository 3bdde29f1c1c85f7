#include "lib/kube/watch_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void watch_framer_init(struct watch_framer *f, size_t max_line)
{
	memset(f, 0, sizeof(*f));
	f->max_line = max_line;
}

void watch_framer_release(struct watch_framer *f)
{
	free(f->tail);
	f->tail = NULL;
	f->tail_len = f->tail_cap = 0;
}

static int tail_append(struct watch_framer *f, const char *data, size_t len)
{
	if (f->tail_len + len > f->max_line)
		return -EMSGSIZE;
	if (f->tail_len + len > f->tail_cap) {
		size_t cap = f->tail_cap ? f->tail_cap : 4096;
		while (cap < f->tail_len + len)
			cap *= 2;
		if (cap > f->max_line)
			cap = f->max_line;
		char *p = realloc(f->tail, cap);
		if (!p)
			return -ENOMEM;
		f->tail = p;
		f->tail_cap = cap;
	}
	memcpy(f->tail + f->tail_len, data, len);
	f->tail_len += len;
	return 0;
}

static int deliver(const char *line, size_t len, watch_line_fn fn, void *ud)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return 0;
	return fn(ud, line, len);
}

int watch_framer_feed(struct watch_framer *f, const char *data, size_t len,
		      watch_line_fn fn, void *ud)
{
	int rc;

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		if (!nl)
			return tail_append(f, data, len);
		size_t part = (size_t)(nl - data);
		if (f->tail_len == 0) {
			/* The common case: a whole line in this chunk, delivered in place. */
			if (part > f->max_line)
				return -EMSGSIZE;
			rc = deliver(data, part, fn, ud);
		} else {
			if ((rc = tail_append(f, data, part)) < 0)
				return rc;
			rc = deliver(f->tail, f->tail_len, fn, ud);
			f->tail_len = 0;
		}
		if (rc < 0)
			return rc;
		data = nl + 1;
		len -= part + 1;
	}
	return 0;
}

static const char *const type_names[] = {
	[WATCH_ADDED] = "ADDED",
	[WATCH_MODIFIED] = "MODIFIED",
	[WATCH_DELETED] = "DELETED",
	[WATCH_BOOKMARK] = "BOOKMARK",
	[WATCH_ERROR] = "ERROR",
};

const char *watch_event_type_name(enum watch_event_type type)
{
	return (unsigned)type < sizeof(type_names) / sizeof(type_names[0]) ? type_names[type] : "?";
}

int watch_event_decode(const char *line, size_t len, enum watch_event_type *ret_type,
		       json_t **ret_object)
{
	json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = -EBADMSG;

	if (!json_is_object(ev))
		goto out;
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	if (!type || !json_is_object(obj))
		goto out;
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(type, type_names[i]) == 0) {
			*ret_type = (enum watch_event_type)i;
			*ret_object = json_incref(obj);
			rc = 0;
			break;
		}
	}
out:
	json_decref(ev);
	return rc;
}
