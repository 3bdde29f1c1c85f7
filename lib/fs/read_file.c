#include "lib/fs/read_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t used = 0, cap;
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	/* The size is a hint only: /proc files say 0, and a file may grow. Read to the end,
	 * never past max. */
	cap = (size_t)st.st_size + 1 > 4096 ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	buf = malloc(cap);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (used + 1 == cap) {
			if (cap == max + 1) {
				/* Full at the bound: one more byte means too much. */
				char extra;
				if (read(fd, &extra, 1) > 0) {
					rc = -EFBIG;
					goto out;
				}
				break;
			}
			size_t want = cap * 2 < max + 1 ? cap * 2 : max + 1;
			char *p = realloc(buf, want);
			if (!p) {
				rc = -ENOMEM;
				goto out;
			}
			buf = p;
			cap = want;
		}
		ssize_t n = read(fd, buf + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*ret = buf;
	*ret_len = used;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}
