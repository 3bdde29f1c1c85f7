/* The facade the attach code uses: a Go fixture opens with its build info, function
 * index, offsets and probe points; a binary of a Go version without offsets still
 * opens (and says why its offsets are missing); what is not a Go executable does not. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/go_binary.h"
#include "tests/support/go_fixtures.h"

static struct go_fixture fixtures[GO_FIXTURES_MAX];
static size_t nfixtures;

static const enum go_field server_fields[] = {
	GO_FIELD_REQUEST_METHOD, GO_FIELD_REQUEST_URL, GO_FIELD_URL_PATH,
	GO_FIELD_RESPONSE_STATUS, GO_FIELD_RESPONSE_REQ,
};

static int setup(void **state)
{
	return go_fixtures_load(fixtures, GO_FIXTURES_MAX, &nfixtures) == 0 ? 0 : -1;
}

static void fixtures_open_ready_to_probe(void **state)
{
	size_t i;

	for (i = 0; i < nfixtures; i++) {
		const struct go_offsets *off = NULL;
		struct go_binary *b = NULL;
		struct probe_point entry, rets[16];
		enum go_field missing;
		size_t n = 0;

		assert_int_equal(go_binary_open(fixtures[i].path, NULL, &b), 0);
		assert_string_equal(go_buildinfo_go_version(go_binary_buildinfo(b)),
				    fixtures[i].go_version);
		assert_int_equal(go_symtab_source(go_binary_symtab(b)),
				 fixtures[i].stripped ? GO_SYMTAB_PCLNTAB : GO_SYMTAB_ELF_SYMTAB);
		assert_int_equal(go_binary_offsets(b, &off), 0);
		assert_int_equal(go_offsets_require(off, server_fields, 5, &missing), 0);
		assert_int_equal(go_binary_entry_point(b, "net/http.serverHandler.ServeHTTP", &entry),
				 0);
		assert_int_equal(entry.kind, PROBE_AT_STACK_CHECK_JUMP);
		assert_int_equal(go_binary_entry_point(b, "net/http.(*response).finishRequest",
						       &entry),
				 0);
		assert_int_equal(entry.cost, INSN_EMULATED);
		assert_int_equal(go_binary_ret_points(b, "net/http.serverHandler.ServeHTTP", rets, 16,
						      &n),
				 0);
		assert_true(n > 0);
		assert_int_equal(go_binary_entry_point(b, "no.such.function", &entry), -ENOENT);
		go_binary_free(b);
	}
}

static void opens_from_a_file_descriptor(void **state)
{
	struct go_binary *b = NULL;
	struct probe_point entry;
	int fd = open(fixtures[0].path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(go_binary_open_fd(fd, NULL, &b), 0);
	assert_int_equal(go_binary_entry_point(b, "main.hello", &entry), 0);
	go_binary_free(b);
	close(fd);
}

/* A stripped fixture whose build info claims a Go version the table has no row for. */
static void unsupported_go_version_opens_without_offsets(void **state)
{
	static const char from[] = "go1.", to[] = "go9.";
	const struct go_offsets *off = NULL;
	struct go_binary *b = NULL;
	struct probe_point entry;
	uint8_t *buf = NULL, *at;
	char path[64];
	size_t len, i;

	for (i = 0; i < nfixtures && !fixtures[i].stripped; i++)
		;
	assert_int_equal(go_fixture_read_file(fixtures[i].path, 64u << 20, &buf, &len), 0);
	/* The inline build info record: the version string right after the 32-byte header. */
	at = memmem(buf, len, "\xff Go buildinf:", 14);
	assert_non_null(at);
	assert_memory_equal(at + 33, from, 4);
	memcpy(at + 33, to, 4);
	assert_int_equal(go_fixture_write_temp(buf, len, path, sizeof(path)), 0);
	assert_int_equal(go_binary_open(path, NULL, &b), 0);
	assert_int_equal(strncmp(go_buildinfo_go_version(go_binary_buildinfo(b)), "go9.", 4), 0);
	assert_int_equal(go_binary_offsets(b, &off), -EPROTONOSUPPORT);
	assert_null(off);
	assert_int_equal(go_binary_entry_point(b, "net/http.serverHandler.ServeHTTP", &entry), 0);
	go_binary_free(b);
	unlink(path);
	free(buf);
}

static void what_is_not_a_go_executable_is_refused(void **state)
{
	struct go_binary *b = NULL;

	assert_int_equal(go_binary_open("/no/such/file", NULL, &b), -ENOENT);
	assert_int_equal(go_binary_open(GO_FIXTURES_MANIFEST, NULL, &b), -ENOEXEC);
	assert_int_equal(go_binary_open("/bin/true", NULL, &b), -ENOEXEC);
	assert_null(b);
	assert_null(go_binary_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixtures_open_ready_to_probe),
		cmocka_unit_test(opens_from_a_file_descriptor),
		cmocka_unit_test(unsupported_go_version_opens_without_offsets),
		cmocka_unit_test(what_is_not_a_go_executable_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
