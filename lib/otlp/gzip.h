/* gzip for request bodies (Content-Encoding: gzip). */
#ifndef AUTOTRACE_OTLP_GZIP_H
#define AUTOTRACE_OTLP_GZIP_H

#include <stddef.h>

#include "lib/otlp/buf.h"

/* Replaces out's contents with the gzip stream of in[0..len). At the fastest level:
 * span batches compress well even so, and the agent shares its node's CPU with the
 * workload. 0, -ENOMEM or -EIO (zlib failed). */
int otlp_gzip(const void *in, size_t len, struct otlp_buf *out);

#endif
