#include "tests/support/secretdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int join(char *out, size_t size, const char *a, const char *b)
{
	int n = snprintf(out, size, "%s/%s", a, b);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int write_file_at(int dirfd, const char *path, const void *data, size_t len)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* Removes a version directory and the plain files in it. */
static void remove_version(int dirfd, const char *version)
{
	int vfd = openat(dirfd, version, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (vfd < 0)
		return;
	d = fdopendir(vfd);
	if (!d) {
		close(vfd);
		return;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(vfd, e->d_name, 0);
	closedir(d);
	unlinkat(dirfd, version, AT_REMOVEDIR);
}

int secretdir_write(const char *dir, const struct secretdir_file *files, size_t n_files)
{
	static unsigned sequence;
	char version[64], old[NAME_MAX + 1] = "";
	struct timespec ts;
	int dirfd = -1, r;
	ssize_t n;

	for (size_t i = 0; i < n_files; i++)
		if (!files[i].name[0] || strchr(files[i].name, '/') ||
		    strlen(files[i].name) > NAME_MAX)
			return -EINVAL;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(version, sizeof(version), "..%lld_%09ld.%u", (long long)ts.tv_sec, ts.tv_nsec,
		 sequence++);
	if (mkdirat(dirfd, version, 0755) < 0) {
		r = -errno;
		goto cleanup;
	}
	for (size_t i = 0; i < n_files; i++) {
		char file[sizeof(version) + NAME_MAX + 2];

		r = join(file, sizeof(file), version, files[i].name);
		if (r == 0)
			r = write_file_at(dirfd, file, files[i].data, files[i].len);
		if (r < 0)
			goto cleanup;
	}

	/* The current version, to remove once the swap is done. */
	n = readlinkat(dirfd, "..data", old, sizeof(old) - 1);
	old[n > 0 ? n : 0] = '\0';
	unlinkat(dirfd, "..data_tmp", 0);
	if (symlinkat(version, dirfd, "..data_tmp") < 0 ||
	    renameat(dirfd, "..data_tmp", dirfd, "..data") < 0) {
		r = -errno;
		goto cleanup;
	}
	for (size_t i = 0; i < n_files; i++) {
		char target[NAME_MAX + 8];

		r = join(target, sizeof(target), "..data", files[i].name);
		if (r < 0)
			goto cleanup;
		if (symlinkat(target, dirfd, files[i].name) < 0 && errno != EEXIST) {
			r = -errno;
			goto cleanup;
		}
	}
	if (old[0])
		remove_version(dirfd, old);
	r = 0;
cleanup:
	close(dirfd);
	return r;
}
