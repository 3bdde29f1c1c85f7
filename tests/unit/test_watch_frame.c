#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/kube/watch_frame.h"

struct lines {
	char got[16][256];
	int n;
};

static int collect(void *ud, const char *line, size_t len)
{
	struct lines *l = ud;

	if (l->n >= 16 || len >= 256)
		return -ENOSPC;
	memcpy(l->got[l->n], line, len);
	l->got[l->n][len] = '\0';
	l->n++;
	return 0;
}

static const char stream[] =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"2\"}}}\r\n"
	"\n"
	"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"3\"}}}\n";

/* The same events come out whatever the chunk size, the worst case being 1 byte. */
static void events_split_across_chunks_come_out_whole_and_in_order(void **state)
{
	size_t total = strlen(stream);

	for (size_t chunk = 1; chunk <= total; chunk++) {
		struct watch_framer f;
		struct lines l = { .n = 0 };
		watch_framer_init(&f, 1024);
		for (size_t off = 0; off < total; off += chunk) {
			size_t n = total - off < chunk ? total - off : chunk;
			assert_int_equal(watch_framer_feed(&f, stream + off, n, collect, &l), 0);
		}
		assert_int_equal(l.n, 3);
		assert_non_null(strstr(l.got[0], "\"ADDED\""));
		assert_non_null(strstr(l.got[1], "\"MODIFIED\""));
		/* The CR of a CRLF line is not part of the event. */
		assert_int_equal(l.got[1][strlen(l.got[1]) - 1], '}');
		assert_non_null(strstr(l.got[2], "\"DELETED\""));
		/* Only the unfinished tail is ever kept. */
		assert_int_equal(f.tail_len, 0);
		watch_framer_release(&f);
	}
}

static void an_unfinished_line_is_kept_until_its_newline(void **state)
{
	struct watch_framer f;
	struct lines l = { .n = 0 };

	watch_framer_init(&f, 1024);
	assert_int_equal(watch_framer_feed(&f, "{\"a\":", 5, collect, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(f.tail_len, 5);
	assert_int_equal(watch_framer_feed(&f, "1}\n{\"b\"", 7, collect, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.got[0], "{\"a\":1}");
	assert_int_equal(f.tail_len, 4);
	watch_framer_release(&f);
}

static void an_oversized_line_is_refused_without_buffering_it(void **state)
{
	struct watch_framer f;
	struct lines l = { .n = 0 };
	char big[300];

	memset(big, 'x', sizeof(big));
	watch_framer_init(&f, 100);
	/* Across chunks: refused as soon as the tail would pass the bound. */
	assert_int_equal(watch_framer_feed(&f, big, 60, collect, &l), 0);
	assert_int_equal(watch_framer_feed(&f, big, 60, collect, &l), -EMSGSIZE);
	assert_true(f.tail_cap <= 100);
	watch_framer_release(&f);

	/* Within one chunk, with its newline. */
	watch_framer_init(&f, 100);
	big[250] = '\n';
	assert_int_equal(watch_framer_feed(&f, big, 251, collect, &l), -EMSGSIZE);
	assert_int_equal(l.n, 0);
	watch_framer_release(&f);
}

static void a_handler_error_stops_the_feed(void **state)
{
	struct watch_framer f;
	struct lines l = { .n = 16 }; /* full: collect refuses */

	watch_framer_init(&f, 1024);
	assert_int_equal(watch_framer_feed(&f, "a\nb\n", 4, collect, &l), -ENOSPC);
	watch_framer_release(&f);
}

static void events_decode_to_type_and_object(void **state)
{
	enum watch_event_type type;
	json_t *obj = NULL;
	const char *ok = "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"42\"}}}";

	assert_int_equal(watch_event_decode(ok, strlen(ok), &type, &obj), 0);
	assert_int_equal(type, WATCH_BOOKMARK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "metadata"),
							      "resourceVersion")), "42");
	json_decref(obj);

	const char *err = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410}}";
	assert_int_equal(watch_event_decode(err, strlen(err), &type, &obj), 0);
	assert_int_equal(type, WATCH_ERROR);
	json_decref(obj);

	static const char *const bad[] = {
		"", "null", "[]", "{\"type\":\"ADDED\"}", "{\"type\":\"EXPLODED\",\"object\":{}}",
		"{\"type\":1,\"object\":{}}", "{\"type\":\"ADDED\",\"object\":\"x\"}", "{\"type\":",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		obj = NULL;
		assert_int_equal(watch_event_decode(bad[i], strlen(bad[i]), &type, &obj), -EBADMSG);
		assert_null(obj);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events_split_across_chunks_come_out_whole_and_in_order),
		cmocka_unit_test(an_unfinished_line_is_kept_until_its_newline),
		cmocka_unit_test(an_oversized_line_is_refused_without_buffering_it),
		cmocka_unit_test(a_handler_error_stops_the_feed),
		cmocka_unit_test(events_decode_to_type_and_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
