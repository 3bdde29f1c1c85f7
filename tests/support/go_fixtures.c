/* Reading the Go fixture manifest; see go_fixtures.h. */
#include "tests/support/go_fixtures.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int go_fixtures_load(struct go_fixture *fixtures, size_t cap, size_t *ret_count)
{
	return go_fixtures_load_from(GO_FIXTURES_MANIFEST, fixtures, cap, ret_count);
}

int go_fixtures_load_from(const char *manifest, struct go_fixture *fixtures, size_t cap,
			  size_t *ret_count)
{
	char line[512];
	size_t n = 0;
	FILE *f;

	f = fopen(manifest, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct go_fixture fx = { 0 };
		int stripped;

		if (sscanf(line, "%255s %31s %d", fx.path, fx.go_version, &stripped) != 3)
			continue;
		if (n >= cap) {
			fclose(f);
			return -ENOSPC;
		}
		fx.stripped = stripped == 1;
		fx.pie = strstr(fx.path, "-pie") != NULL;
		fixtures[n++] = fx;
	}
	fclose(f);
	*ret_count = n;
	return n ? 0 : -ENOENT;
}

const struct go_fixture *go_fixture_unstripped_twin(const struct go_fixture *fixtures,
						    size_t n, const struct go_fixture *f)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fixtures[i].stripped && !fixtures[i].pie &&
		    strcmp(fixtures[i].go_version, f->go_version) == 0)
			return &fixtures[i];
	return NULL;
}

int go_fixture_read_file(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t *buf = NULL;
	size_t done = 0;
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto fail;
	}
	while (done < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + done, (size_t)st.st_size - done);

		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			goto fail;
		}
		done += (size_t)k;
	}
	close(fd);
	*ret_buf = buf;
	*ret_len = done;
	return 0;
fail:
	free(buf);
	close(fd);
	return r;
}

int go_fixture_write_temp(const uint8_t *buf, size_t len, char *path_buf, size_t path_size)
{
	size_t done = 0;
	int fd, r = 0;

	if (snprintf(path_buf, path_size, "/tmp/autotrace-test-XXXXXX") >= (int)path_size)
		return -ENAMETOOLONG;
	fd = mkstemp(path_buf);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t k = write(fd, buf + done, len - done);

		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)k;
	}
	close(fd);
	if (r < 0)
		unlink(path_buf);
	return r;
}

int go_fixture_find(const char *pattern, char *path, size_t size)
{
	glob_t g;
	int r = -ENOENT;

	if (glob(pattern, 0, NULL, &g) != 0)
		return -ENOENT;
	for (size_t i = 0; i < g.gl_pathc && r == -ENOENT; i++) {
		if (strstr(g.gl_pathv[i], ".modinfo"))
			continue;
		r = (size_t)snprintf(path, size, "%s", g.gl_pathv[i]) < size ? 0 : -ENAMETOOLONG;
	}
	globfree(&g);
	return r;
}
