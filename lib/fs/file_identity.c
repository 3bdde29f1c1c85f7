#include "lib/fs/file_identity.h"

#include <string.h>
#include <sys/stat.h>

void file_identity_read(const char *path, struct file_identity *ret_id)
{
	struct stat st;

	memset(ret_id, 0, sizeof(*ret_id));
	if (stat(path, &st) < 0)
		return;
	ret_id->present = true;
	ret_id->dev = st.st_dev;
	ret_id->ino = st.st_ino;
	ret_id->size = st.st_size;
	ret_id->mtime = st.st_mtim;
	ret_id->ctime = st.st_ctim;
}

bool file_identity_equal(const struct file_identity *a, const struct file_identity *b)
{
	return a->present == b->present && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}
