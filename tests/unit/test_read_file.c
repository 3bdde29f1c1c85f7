#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/fs/read_file.h"

static void a_file_exactly_at_the_bound_is_read_and_one_byte_more_is_not(void **state)
{
	char path[] = "/tmp/read-file-XXXXXX", *data = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	assert_int_equal(read_file_bounded(path, 10, &data, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789");
	free(data);
	data = NULL;
	assert_int_equal(read_file_bounded(path, 9, &data, &len), -EFBIG);
	assert_null(data);
	unlink(path);
	assert_int_equal(read_file_bounded(path, 9, &data, &len), -ENOENT);
	assert_int_equal(read_file_bounded("/tmp", 9, &data, &len), -EINVAL);
}

/* /proc files report a size of 0: they are read to their end all the same, and a
 * bound still holds. */
static void proc_files_are_read_to_their_end_within_the_bound(void **state)
{
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(read_file_bounded("/proc/self/status", 1 << 20, &data, &len), 0);
	assert_true(len > 100);
	assert_non_null(strstr(data, "Pid:"));
	free(data);
	data = NULL;
	assert_int_equal(read_file_bounded("/proc/self/status", 16, &data, &len), -EFBIG);
	assert_null(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_file_exactly_at_the_bound_is_read_and_one_byte_more_is_not),
		cmocka_unit_test(proc_files_are_read_to_their_end_within_the_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
