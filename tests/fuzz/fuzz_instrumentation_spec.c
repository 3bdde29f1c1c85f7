/* Instrumentation JSON → the checked spec → the agent's environment and ConfigMap name,
 * and the agent config rendered from it. Whatever the object holds: no crash, no leak; a
 * spec that passes its checks always yields an environment and a valid ConfigMap name,
 * and a rendered config (when it needs no Secret) parses back with the same probe
 * families and query-text setting (spec.probes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/instrumentation/agent_config.h"
#include "lib/instrumentation/naming.h"
#include "lib/instrumentation/spec.h"
#include "webhook/agent_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_render(const struct instrumentation_spec *spec)
{
	char rev[AGENT_CONFIG_REVISION_LEN + 1], err[256], *json = NULL;
	struct agent_config c;

	/* Without a Secret lookup, a spec that names one does not render: fine. */
	if (agent_config_render(spec, NULL, &json, rev, err, sizeof(err)) != 0)
		return;
	if (agent_config_parse(json, strlen(json), &c, err, sizeof(err)) != 0)
		abort();
	if (memcmp(&c.probes, &spec->probes, sizeof(c.probes)) != 0)
		abort();
	agent_config_clear(&c);
	free(json);
}

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
		check_render(&spec);
		instrumentation_spec_clear(&spec);
	}
	json_decref(cr);
	return 0;
}
