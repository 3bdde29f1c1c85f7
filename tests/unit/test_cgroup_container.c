/* Which pod and container a process is in, from its /proc/<pid>/cgroup: one fixture per
 * runtime (containerd, CRI-O, Docker), cgroup driver (cgroupfs, systemd), cgroup
 * version (v1 multi-line, v2) and nesting (kind's node container, cgroup namespaces),
 * and the files that name no container. Fixtures: tests/fixtures/cgroup/. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/cgroup_container.h"
#include "lib/fs/read_file.h"

#define FIX "tests/fixtures/cgroup/"
#define UID "6f3b1c2a-4d5e-4f60-9a7b-8c9d0e1f2a3b"
#define CID "3f1e6c0b9d8a7f6e5d4c3b2a190817263544536271809a8b7c6d5e4f3a2b1c0d"

struct fixture {
	const char *file;
	int rc;
	const char *uid;
	enum container_runtime runtime;
	enum cgroup_driver driver;
	int version;
};

#define FOUND(f, rt, drv, v) { f, 0, UID, CONTAINER_RUNTIME_##rt, CGROUP_DRIVER_##drv, v }
#define NONE(f, err) { f, err, NULL, 0, 0, 0 }

static const struct fixture fixtures[] = {
	FOUND("containerd-cgroupfs-v1", UNKNOWN, CGROUPFS, 1),
	FOUND("containerd-cgroupfs-v2", UNKNOWN, CGROUPFS, 2),
	FOUND("containerd-systemd-v1", CONTAINERD, SYSTEMD, 1),
	FOUND("containerd-systemd-v2", CONTAINERD, SYSTEMD, 2),
	FOUND("crio-cgroupfs-v1", CRIO, CGROUPFS, 1),
	FOUND("crio-cgroupfs-v2", CRIO, CGROUPFS, 2),
	FOUND("crio-systemd-v1", CRIO, SYSTEMD, 1),
	FOUND("crio-systemd-v2", CRIO, SYSTEMD, 2),
	FOUND("docker-cgroupfs-v1", UNKNOWN, CGROUPFS, 1),
	FOUND("docker-systemd-v2", DOCKER, SYSTEMD, 2),
	FOUND("containerd-cgroupfs-v2-guaranteed", UNKNOWN, CGROUPFS, 2),
	FOUND("containerd-systemd-v2-guaranteed", CONTAINERD, SYSTEMD, 2),
	FOUND("kind-podman-containerd-systemd-v1", CONTAINERD, SYSTEMD, 1),
	FOUND("kind-docker-containerd-systemd-v1", CONTAINERD, SYSTEMD, 1),
	FOUND("kind-docker-containerd-systemd-v2", CONTAINERD, SYSTEMD, 2),
	FOUND("kind-containerd-systemd-v2-cgroupns", CONTAINERD, SYSTEMD, 2),
	FOUND("containerd-systemd-v2-other-cgroupns", CONTAINERD, SYSTEMD, 2),
	FOUND("containerd-systemd-v2-nested", CONTAINERD, SYSTEMD, 2),
	FOUND("kind-in-pod-v2", CONTAINERD, SYSTEMD, 2),
	{ "static-pod-containerd-cgroupfs-v2", 0, "5d2c1b0a9f8e7d6c5b4a39281706f5e4",
	  CONTAINER_RUNTIME_UNKNOWN, CGROUP_DRIVER_CGROUPFS, 2 },
	NONE("crio-systemd-v2-conmon", -ENOENT),
	NONE("pod-cgroup-only-v2", -ENOENT),
	NONE("kind-in-pod-pod-cgroup-v2", -ENOENT),
	NONE("host-systemd-v2", -ENOENT),
	NONE("host-session-v2", -ENOENT),
	NONE("host-hybrid-v1", -ENOENT),
	NONE("kind-node-itself-v1", -ENOENT),
	NONE("bad-uid-v2", -ENOENT),
	NONE("bad-id-v2", -ENOENT),
	NONE("not-a-cgroup-file", -EINVAL),
};

static void fixture_names_its_container(void **state)
{
	const struct fixture *f = *state;
	struct cgroup_container c;
	char path[256], *text = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), FIX "%s.cgroup", f->file);
	assert_int_equal(read_file_bounded(path, 65536, &text, &len), 0);
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(cgroup_container_parse(text, len, &c), f->rc);
	free(text);
	if (f->rc) {
		/* Out-parameters are written only on success. */
		assert_int_equal(((unsigned char *)&c)[0], 0x5a);
		return;
	}
	assert_string_equal(c.pod_uid, f->uid);
	assert_string_equal(c.container.id, CID);
	assert_int_equal(c.container.runtime, f->runtime);
	assert_int_equal(c.driver, f->driver);
	assert_int_equal(c.cgroup_version, f->version);
}

/* The v2 line is read before the v1 ones, and among v1 lines the first that names a
 * container wins, whatever the controllers. */
static void the_v2_line_is_read_first(void **state)
{
	static const char text[] =
		"4:memory:/kubepods/besteffort/pod11111111-2222-4333-8444-555555555555/" CID "\n"
		"0::/kubepods.slice/kubepods-pod" "6f3b1c2a_4d5e_4f60_9a7b_8c9d0e1f2a3b"
		".slice/cri-containerd-" CID ".scope\n";
	struct cgroup_container c;

	assert_int_equal(cgroup_container_parse(text, sizeof(text) - 1, &c), 0);
	assert_string_equal(c.pod_uid, UID);
	assert_int_equal(c.cgroup_version, 2);
	/* Without the v2 line, the v1 line. */
	assert_int_equal(cgroup_container_parse(text, strchr(text, '\n') - text, &c), 0);
	assert_string_equal(c.pod_uid, "11111111-2222-4333-8444-555555555555");
	assert_int_equal(c.cgroup_version, 1);
}

/* Lengths, not NUL bytes, bound the text: a file is read as it is. */
static void text_is_bounded_by_its_length(void **state)
{
	static const char text[] = "0::/kubepods/pod" UID "/" CID "\n";
	struct cgroup_container c;

	assert_int_equal(cgroup_container_parse(text, sizeof(text) - 1, &c), 0);
	/* One byte short of the ID: no container. */
	assert_int_equal(cgroup_container_parse(text, sizeof(text) - 3, &c), -ENOENT);
	assert_int_equal(cgroup_container_parse(text, 0, &c), -EINVAL);
	assert_int_equal(cgroup_container_parse("0::", 3, &c), -EINVAL);
	assert_int_equal(cgroup_container_parse("0::/\0kubepods", 13, &c), -ENOENT);
	assert_int_equal(cgroup_container_parse(":0::/", 5, &c), -EINVAL);
	assert_int_equal(cgroup_container_parse("x:cpu:/", 7, &c), -EINVAL);
}

/* Upper-case hex is no runtime's ID, and a UID's separators must be where a UUID has
 * them, each the one its driver uses. */
static void ids_and_uids_are_strict(void **state)
{
	struct cgroup_container c;
	char up[] = "/kubepods/pod" UID "/" CID;

	up[sizeof(up) - 2] = 'D';
	assert_int_equal(cgroup_path_container(up, strlen(up), &c), -ENOENT);
	/* systemd form with the API's dashes */
	static const char dashed[] = "/kubepods.slice/kubepods-pod" UID ".slice/cri-containerd-" CID ".scope";
	assert_int_equal(cgroup_path_container(dashed, strlen(dashed), &c), -ENOENT);
	/* cgroupfs form with systemd's underscores */
	static const char under[] = "/kubepods/pod6f3b1c2a_4d5e_4f60_9a7b_8c9d0e1f2a3b/" CID;
	assert_int_equal(cgroup_path_container(under, strlen(under), &c), -ENOENT);
	static const char ok[] = "//kubepods//pod" UID "//" CID "/";
	assert_int_equal(cgroup_path_container(ok, strlen(ok), &c), 0);
	assert_string_equal(c.container.id, CID);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(fixtures) / sizeof(fixtures[0]) + 3];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		tests[n++] = (struct CMUnitTest){
			.name = fixtures[i].file,
			.test_func = fixture_names_its_container,
			.initial_state = (void *)&fixtures[i],
		};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(the_v2_line_is_read_first);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(text_is_bounded_by_its_length);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(ids_and_uids_are_strict);
	return _cmocka_run_group_tests("cgroup_container", tests, n, NULL, NULL);
}
