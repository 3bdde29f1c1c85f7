/* What identifies the content of a file behind its symlinks, so a poller can tell
 * that a Kubernetes volume (ConfigMap, Secret) swapped its `..data` link or that a
 * file was rewritten in place, without reading it. */
#ifndef AUTOTRACE_FS_FILE_IDENTITY_H
#define AUTOTRACE_FS_FILE_IDENTITY_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct file_identity {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

/* Fills *ret_id; a missing or unreadable file gives present = false. */
void file_identity_read(const char *path, struct file_identity *ret_id);
bool file_identity_equal(const struct file_identity *a, const struct file_identity *b);

#endif
