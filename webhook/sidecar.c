#include "webhook/sidecar.h"

#include <errno.h>
#include <string.h>

#include "lib/instrumentation/naming.h"

const char *const agent_capabilities[3] = { "BPF", "PERFMON", "SYS_PTRACE" };

/* Small and bounded: a pod in a namespace with a ResourceQuota needs requests and
 * limits on every container, and a sidecar must not be what gets it refused. */
static json_t *default_resources_new(void)
{
	return json_pack("{s:{s:s, s:s}, s:{s:s}}", "requests", "cpu", "10m", "memory", "32Mi",
			 "limits", "memory", "256Mi");
}

static json_t *security_context_new(void)
{
	json_t *add = json_array(), *sc;

	if (!add)
		return NULL;
	for (size_t i = 0; i < sizeof(agent_capabilities) / sizeof(agent_capabilities[0]); i++)
		if (json_array_append_new(add, json_string(agent_capabilities[i])) < 0) {
			json_decref(add);
			return NULL;
		}
	sc = json_pack("{s:b, s:b, s:b, s:i, s:b, s:{s:[s], s:o}}", "privileged", 0,
		       "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 1, "runAsUser", 0,
		       "runAsNonRoot", 0, "capabilities", "drop", "ALL", "add", add);
	return sc;
}

int sidecar_container_new(const struct sidecar_input *in, json_t **ret_container)
{
	json_t *resources, *sc, *c;

	resources = in->resources ? json_deep_copy(in->resources) : default_resources_new();
	sc = security_context_new();
	if (!resources || !sc || !in->env) {
		json_decref(resources);
		json_decref(sc);
		json_decref(in->env);
		return -ENOMEM;
	}
	/* "o" steals env, resources and sc, also when json_pack fails. */
	c = json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:i, s:s}], s:o, s:o, "
		      "s:{s:{s:s, s:s}, s:i, s:i, s:i}, s:o, s:[{s:s, s:s, s:b}]}",
		      "name", AGENT_CONTAINER_NAME, "image", in->image, "imagePullPolicy",
		      "IfNotPresent", "restartPolicy", "Always", "ports", "name", AGENT_PORT_NAME,
		      "containerPort", in->port, "protocol", "TCP", "env", in->env, "resources",
		      resources, "readinessProbe", "httpGet", "path", AGENT_READY_PATH, "port",
		      AGENT_PORT_NAME, "initialDelaySeconds", 1, "periodSeconds", 10,
		      "failureThreshold", 3, "securityContext", sc, "volumeMounts", "name",
		      AGENT_CONFIG_VOLUME, "mountPath", INSTRUMENTATION_CONFIG_MOUNT_DIR, "readOnly",
		      1);
	if (!c)
		return -ENOMEM;
	if (in->token_mount &&
	    json_array_append_new(json_object_get(c, "volumeMounts"),
				  json_deep_copy(in->token_mount)) < 0) {
		json_decref(c);
		return -ENOMEM;
	}
	*ret_container = c;
	return 0;
}

const json_t *sidecar_token_mount(const json_t *pod)
{
	const json_t *spec = json_object_get(pod, "spec"), *c, *m;
	static const char *const lists[] = { "containers", "initContainers" };
	size_t i, j;

	for (size_t l = 0; l < 2; l++) {
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			json_array_foreach(json_object_get(c, "volumeMounts"), j, m) {
				const char *path = json_string_value(json_object_get(m, "mountPath"));

				if (path && strcmp(path, SERVICE_ACCOUNT_MOUNT_PATH) == 0 &&
				    json_is_string(json_object_get(m, "name")))
					return m;
			}
		}
	}
	return NULL;
}

int sidecar_config_volume_new(const char *configmap_name, json_t **ret_volume)
{
	json_t *v = json_pack("{s:s, s:{s:s, s:b}}", "name", AGENT_CONFIG_VOLUME, "configMap",
			      "name", configmap_name, "optional", 1);

	if (!v)
		return -ENOMEM;
	*ret_volume = v;
	return 0;
}
