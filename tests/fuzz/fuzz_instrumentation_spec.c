/* Instrumentation JSON → the checked spec → the agent's environment and ConfigMap name.
 * Whatever the object holds: no crash, no leak; a spec that passes its checks always
 * yields an environment and a valid ConfigMap name. */
#include <stdint.h>
#include <stdlib.h>

#include "lib/instrumentation/naming.h"
#include "lib/instrumentation/spec.h"
#include "webhook/agent_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct instrumentation_spec spec;
	struct workload w = { 0 };
	struct agent_env_input in = { .spec = &spec, .pod_ns = "shop", .workload = &w,
				      .metrics_port = 9464 };
	char err[256], name[INSTRUMENTATION_CONFIGMAP_NAME_SIZE];
	json_t *cr, *env = NULL;

	if (size > 64 * 1024)
		return 0;
	cr = json_loadb((const char *)data, size, 0, NULL);
	if (cr && instrumentation_spec_parse(cr, &spec, err, sizeof(err)) == 0) {
		if (agent_env_new(&in, &env) != 0)
			abort();
		if (instrumentation_configmap_name(spec.ns, spec.name, name, sizeof(name)) != 0 ||
		    !k8s_is_dns1123_subdomain(name))
			abort();
		json_decref(env);
		instrumentation_spec_clear(&spec);
	}
	json_decref(cr);
	return 0;
}
