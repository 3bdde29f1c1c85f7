/* The Go fixture binaries mk/fixtures.mk builds (build/fixtures/manifest.txt), for
 * tests and benchmarks that read real Go executables. */
#ifndef AUTOTRACE_TESTS_GO_FIXTURES_H
#define AUTOTRACE_TESTS_GO_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#define GO_FIXTURES_MANIFEST      "build/fixtures/manifest.txt"
#define GO_FIXTURES_GRPC_MANIFEST "build/fixtures/grpc-manifest.txt"
#define GO_FIXTURES_MAX      32

struct go_fixture {
	char path[256];
	char go_version[32]; /* as `go version -m` printed it when the fixture was built */
	int stripped;        /* built with -ldflags='-s -w' */
	int pie;
};

/* Reads the hello server's manifest into fixtures[0..cap); 0 or a negative errno
 * (-ENOENT: run `make fixtures`). */
int go_fixtures_load(struct go_fixture *fixtures, size_t cap, size_t *ret_count);
/* The same from another manifest (GO_FIXTURES_GRPC_MANIFEST). */
int go_fixtures_load_from(const char *manifest, struct go_fixture *fixtures, size_t cap,
			  size_t *ret_count);

/* The unstripped, non-PIE fixture built with the same Go version as f, or NULL. */
const struct go_fixture *go_fixture_unstripped_twin(const struct go_fixture *fixtures,
						    size_t n, const struct go_fixture *f);

/* Reads a whole file into a new buffer (free() it); at most max bytes. */
int go_fixture_read_file(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len);

/* Writes len bytes of buf to a new temporary file; its path goes into path_buf. */
int go_fixture_write_temp(const uint8_t *buf, size_t len, char *path_buf, size_t path_size);

/* The first file matching the glob pattern that is a fixture (not its .modinfo), into
 * path: 0, -ENOENT (run `make fixtures`) or -ENAMETOOLONG. */
int go_fixture_find(const char *pattern, char *path, size_t size);

#endif
