/* Writes files the way the kubelet updates a Secret or ConfigMap volume, so tests see
 * what a pod sees: each version goes into a new hidden directory "..<timestamp>", the
 * symlink "..data" is swapped to it atomically (rename of a new symlink over the old),
 * each visible name is a symlink "name -> ..data/name", and the old directory is then
 * removed. Readers never see a mix of two versions.
 * Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_TESTS_SUPPORT_SECRETDIR_H
#define AUTOTRACE_TESTS_SUPPORT_SECRETDIR_H

#include <stddef.h>

struct secretdir_file {
	const char *name; /* a plain file name, no '/' */
	const void *data;
	size_t len;
};

/* Publishes a new version of dir (created if missing) holding exactly files. */
int secretdir_write(const char *dir, const struct secretdir_file *files, size_t n_files);

#endif
