#include "lib/otlp/gzip.h"

#include <errno.h>
#include <zlib.h>

int otlp_gzip(const void *in, size_t len, struct otlp_buf *out)
{
	z_stream z = { 0 };
	uLong bound;
	int err, zr;

	/* windowBits 15 + 16: a gzip header and trailer instead of zlib's. */
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&z, (uLong)len);
	out->len = 0;
	err = otlp_buf_reserve(out, bound);
	if (err < 0)
		goto cleanup;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out->data;
	z.avail_out = (uInt)bound;
	zr = deflate(&z, Z_FINISH);
	if (zr != Z_STREAM_END) {
		err = -EIO;
		goto cleanup;
	}
	out->len = z.total_out;
	err = 0;
cleanup:
	deflateEnd(&z);
	return err;
}
