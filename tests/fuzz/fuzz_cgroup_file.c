/* /proc/<pid>/cgroup bytes → the pod and container a process is in, or none; never a
 * crash or an overread, and what is returned is always well formed. A process controls
 * the names of the cgroups it creates below its own, so the node agent reads paths that
 * a workload wrote. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/cgroup_container.h"
#include "agent/container_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgroup_container c;
	char uid[POD_UID_MAX + 1];
	int r;

	memset(&c, 0x5a, sizeof(c));
	r = cgroup_container_parse((const char *)data, size, &c);
	if (r == 0) {
		if (!container_id_is_valid(c.container.id, strlen(c.container.id)))
			__builtin_trap();
		if (!pod_uid_normalize(c.pod_uid, strlen(c.pod_uid), '-', uid) || strcmp(uid, c.pod_uid))
			__builtin_trap(); /* a UID in the API's spelling */
		if (c.cgroup_version != 1 && c.cgroup_version != 2)
			__builtin_trap();
	} else if (((unsigned char *)&c)[0] != 0x5a) {
		__builtin_trap(); /* out-parameters are written only on success */
	}
	/* The same bytes as one path. */
	if (cgroup_path_container((const char *)data, size, &c) == 0 &&
	    !container_id_is_valid(c.container.id, strlen(c.container.id)))
		__builtin_trap();
	return 0;
}
