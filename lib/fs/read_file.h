/* Reading a whole small file (config, kubeconfig, token) with a bound, so a file a
 * peer controls cannot make us allocate without limit. */
#ifndef AUTOTRACE_FS_READ_FILE_H
#define AUTOTRACE_FS_READ_FILE_H

#include <stddef.h>

/* Reads the regular file at `path` into a new NUL-terminated buffer (*ret, free()).
 * Reads to the end of the file (its size is only a hint: /proc files say 0).
 * -EFBIG over max bytes, -EINVAL for a non-regular file, or the open/read errno. */
int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len);

#endif
