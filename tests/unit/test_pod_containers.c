/* A pod's containers from its status: "<runtime>://<id>" for containerd, CRI-O and
 * Docker, app, init and ephemeral containers, containers not started yet, and the
 * match of a process's cgroup to one of them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/pod_containers.h"

#define UID "6f3b1c2a-4d5e-4f60-9a7b-8c9d0e1f2a3b"
#define CID "3f1e6c0b9d8a7f6e5d4c3b2a190817263544536271809a8b7c6d5e4f3a2b1c0d"
#define CID2 "0000000000000000000000000000000000000000000000000000000000000002"
#define CID3 "0000000000000000000000000000000000000000000000000000000000000003"

static void container_ids_name_their_runtime(void **state)
{
	struct container_id id;

	assert_int_equal(container_id_parse("containerd://" CID, &id), 0);
	assert_int_equal(id.runtime, CONTAINER_RUNTIME_CONTAINERD);
	assert_string_equal(id.id, CID);
	assert_int_equal(container_id_parse("cri-o://" CID, &id), 0);
	assert_int_equal(id.runtime, CONTAINER_RUNTIME_CRIO);
	assert_int_equal(container_id_parse("docker://" CID, &id), 0);
	assert_int_equal(id.runtime, CONTAINER_RUNTIME_DOCKER);
	assert_string_equal(container_runtime_name(CONTAINER_RUNTIME_CRIO), "cri-o");
	assert_string_equal(container_runtime_name(CONTAINER_RUNTIME_UNKNOWN), "unknown");

	memset(&id, 0x5a, sizeof(id));
	assert_int_equal(container_id_parse("", &id), -ENOENT);
	assert_int_equal(container_id_parse(NULL, &id), -ENOENT);
	assert_int_equal(container_id_parse(CID, &id), -EINVAL);
	assert_int_equal(container_id_parse("rkt://" CID, &id), -EINVAL);
	assert_int_equal(container_id_parse("containerd:/" CID, &id), -EINVAL);
	assert_int_equal(container_id_parse("containerd://" CID "0", &id), -EINVAL);
	assert_int_equal(container_id_parse("containerd://abc", &id), -EINVAL);
	assert_int_equal(container_id_parse("xcontainerd://" CID, &id), -EINVAL);
	assert_int_equal(((unsigned char *)&id)[0], 0x5a);
}

static void pod_uids_take_either_separator(void **state)
{
	char uid[POD_UID_MAX + 1];

	assert_true(pod_uid_normalize(UID, 36, '-', uid));
	assert_string_equal(uid, UID);
	assert_true(pod_uid_normalize("6f3b1c2a_4d5e_4f60_9a7b_8c9d0e1f2a3b", 36, '_', uid));
	assert_string_equal(uid, UID);
	assert_false(pod_uid_normalize(UID, 36, '_', uid));
	assert_false(pod_uid_normalize("6f3b1c2a-4d5e-4f60-9a7b-8c9d0e1f2a3", 35, '-', uid));
	assert_false(pod_uid_normalize("6f3b1c2a-4d5e-4f60-9a7b-8c9d0e1f2a3B", 36, '-', uid));
	assert_false(pod_uid_normalize("6f3b1c2a4-d5e-4f60-9a7b-8c9d0e1f2a3b", 36, '-', uid));
	assert_true(pod_uid_normalize("5d2c1b0a9f8e7d6c5b4a39281706f5e4", 32, '-', uid));
	assert_string_equal(uid, "5d2c1b0a9f8e7d6c5b4a39281706f5e4");
}

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	assert_non_null(j);
	return j;
}

static void a_pod_lists_its_started_containers(void **state)
{
	json_t *pod = load("{\"metadata\": {\"uid\": \"" UID "\"}, \"status\": {"
			   "\"initContainerStatuses\": [{\"name\": \"migrate\", "
			   "  \"containerID\": \"containerd://" CID2 "\"}],"
			   "\"containerStatuses\": ["
			   " {\"name\": \"app\", \"containerID\": \"containerd://" CID "\"},"
			   " {\"name\": \"waiting\"},"
			   " {\"name\": \"odd\", \"containerID\": \"kata://x\"}],"
			   "\"ephemeralContainerStatuses\": [{\"name\": \"debugger\", "
			   "  \"containerID\": \"containerd://" CID3 "\"}]}}");
	struct pod_containers *pc = NULL;
	struct cgroup_container cg = { .pod_uid = UID };
	const struct pod_container *c;

	assert_int_equal(pod_containers_from_json(pod, &pc), 0);
	assert_string_equal(pc->uid, UID);
	assert_int_equal(pc->n, 3);
	assert_int_equal(pc->unreadable, 1);
	assert_string_equal(pc->items[0].name, "app");
	assert_int_equal(pc->items[0].kind, POD_CONTAINER_APP);
	assert_string_equal(pc->items[1].name, "migrate");
	assert_int_equal(pc->items[1].kind, POD_CONTAINER_INIT);
	assert_string_equal(pc->items[2].name, "debugger");
	assert_int_equal(pc->items[2].kind, POD_CONTAINER_EPHEMERAL);

	memcpy(cg.container.id, CID, sizeof(CID));
	c = pod_containers_match(pc, &cg);
	assert_non_null(c);
	assert_string_equal(c->name, "app");
	cg.container.id[0] = '1';
	assert_null(pod_containers_match(pc, &cg));
	free(pc);
	json_decref(pod);
}

static void a_pod_without_a_uid_is_refused(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"metadata\": {}}",
		"{\"metadata\": {\"uid\": 7}}",
		"{\"metadata\": {\"uid\": \"not-a-uid\"}}",
	};
	struct pod_containers *pc = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *pod = load(bad[i]);

		assert_int_equal(pod_containers_from_json(pod, &pc), -EINVAL);
		assert_null(pc);
		json_decref(pod);
	}
	/* A pod not yet scheduled: a UID and no containers. */
	json_t *pending = load("{\"metadata\": {\"uid\": \"" UID "\"}, \"status\": "
			       "{\"containerStatuses\": \"not a list\"}}");
	assert_int_equal(pod_containers_from_json(pending, &pc), 0);
	assert_int_equal(pc->n, 0);
	free(pc);
	json_decref(pending);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(container_ids_name_their_runtime),
		cmocka_unit_test(pod_uids_take_either_separator),
		cmocka_unit_test(a_pod_lists_its_started_containers),
		cmocka_unit_test(a_pod_without_a_uid_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
