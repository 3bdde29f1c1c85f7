/* Watch stream bytes, cut into chunks chosen by the input, → framed lines → decoded
 * events. The framer must deliver the same lines whatever the chunking, and never
 * hold more than its bound. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/kube/watch_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINE 4096

struct tally {
	unsigned long lines;
	unsigned long hash;
};

static int on_line(void *ud, const char *line, size_t len)
{
	struct tally *t = ud;
	enum watch_event_type type;
	json_t *obj = NULL;

	if (len == 0 || len > MAX_LINE || memchr(line, '\n', len))
		__builtin_trap();
	t->lines++;
	for (size_t i = 0; i < len; i++)
		t->hash = t->hash * 31 + (unsigned char)line[i];
	if (watch_event_decode(line, len, &type, &obj) == 0) {
		if (!json_is_object(obj) || (unsigned)type > WATCH_ERROR)
			__builtin_trap();
		json_decref(obj);
	}
	return 0;
}

static int feed(const uint8_t *data, size_t size, size_t chunk, struct tally *t)
{
	struct watch_framer f;
	int rc = 0;

	watch_framer_init(&f, MAX_LINE);
	for (size_t off = 0; off < size && rc == 0; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		rc = watch_framer_feed(&f, (const char *)data + off, n, on_line, t);
		if (f.tail_cap > MAX_LINE)
			__builtin_trap();
	}
	watch_framer_release(&f);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally whole = { 0, 0 }, pieces = { 0, 0 };

	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] % 17 + 1;
	int a = feed(data + 1, size - 1, size, &whole);
	int b = feed(data + 1, size - 1, chunk, &pieces);
	/* Chunking changes nothing unless a line was too long (then both refuse). */
	if (a != b || (a == 0 && (whole.lines != pieces.lines || whole.hash != pieces.hash)))
		__builtin_trap();
	if (a != 0 && a != -EMSGSIZE)
		__builtin_trap();
	return 0;
}
