#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/fs/file_watch.h"
#include "tests/support/secretdir.h"

struct seen {
	int calls;
	int last_rc;
	char last[128];
};

static void on_change(void *ud, int rc, const char *data, size_t len)
{
	struct seen *s = ud;

	s->calls++;
	s->last_rc = rc;
	snprintf(s->last, sizeof(s->last), "%s", data ? data : "");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void changes_are_delivered_once_each(void **state)
{
	char dir[] = "/tmp/fwatch-XXXXXX", path[256];
	struct event_base *base = event_base_new();
	struct file_watch *w = NULL;
	struct seen s = { 0 };

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	struct file_watch_opts o = { .path = path, .on_change = on_change, .ud = &s };
	/* Not there at start: nothing to say yet. */
	assert_int_equal(file_watch_new(base, &o, &w), 0);
	assert_int_equal(s.calls, 0);

	write_file(path, "one");
	file_watch_check(w);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.last, "one");
	file_watch_check(w); /* unchanged: no call */
	assert_int_equal(s.calls, 1);

	/* A rewrite to another file renamed over it, as editors and kubelets do. */
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	write_file(tmp, "two!");
	assert_int_equal(rename(tmp, path), 0);
	file_watch_check(w);
	assert_int_equal(s.calls, 2);
	assert_string_equal(s.last, "two!");

	unlink(path);
	file_watch_check(w);
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.last_rc, -ENOENT);
	file_watch_free(w);
	event_base_free(base);
	rmdir(dir);
}

static void a_volume_symlink_swap_is_seen(void **state)
{
	char dir[] = "/tmp/fwatch-vol-XXXXXX", path[256];
	struct event_base *base = event_base_new();
	struct file_watch *w = NULL;
	struct seen s = { 0 };

	assert_non_null(mkdtemp(dir));
	struct secretdir_file v1 = { "config.json", "{\"rev\":1}", 9 };
	struct secretdir_file v2 = { "config.json", "{\"rev\":2}", 9 };
	assert_int_equal(secretdir_write(dir, &v1, 1), 0);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	struct file_watch_opts o = { .path = path, .interval_ms = 20, .on_change = on_change, .ud = &s };
	assert_int_equal(file_watch_new(base, &o, &w), 0);
	assert_int_equal(s.calls, 1); /* present at start: delivered at once */
	assert_string_equal(s.last, "{\"rev\":1}");

	assert_int_equal(secretdir_write(dir, &v2, 1), 0);
	struct timeval tv = { 0, 100000 };
	event_base_loopexit(base, &tv);
	event_base_dispatch(base); /* the timer notices */
	assert_int_equal(s.calls, 2);
	assert_string_equal(s.last, "{\"rev\":2}");
	file_watch_free(w);
	event_base_free(base);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void an_oversized_file_is_refused(void **state)
{
	char dir[] = "/tmp/fwatch-big-XXXXXX", path[256];
	struct event_base *base = event_base_new();
	struct file_watch *w = NULL;
	struct seen s = { 0 };

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	write_file(path, "0123456789");
	struct file_watch_opts o = { .path = path, .max_bytes = 4, .on_change = on_change, .ud = &s };
	assert_int_equal(file_watch_new(base, &o, &w), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.last_rc, -EFBIG);
	file_watch_free(w);
	event_base_free(base);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(changes_are_delivered_once_each),
		cmocka_unit_test(a_volume_symlink_swap_is_seen),
		cmocka_unit_test(an_oversized_file_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
