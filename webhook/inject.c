#include "webhook/inject.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/instrumentation/naming.h"
#include "webhook/agent_env.h"
#include "webhook/pod_patch.h"
#include "webhook/sidecar.h"
#include "lib/instrumentation/workload.h"

/* The image of the named container, borrowed from the pod. */
static const char *container_image(const json_t *pod, const char *name)
{
	const json_t *list = json_object_get(json_object_get(pod, "spec"), "containers");

	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *c = json_array_get(list, i);
		const char *n = json_string_value(json_object_get(c, "name"));

		if (n && strcmp(n, name) == 0)
			return json_string_value(json_object_get(c, "image"));
	}
	return NULL;
}

/* The agent container and its volume, appended to ops. */
static int add_sidecar(json_t *ops, const struct webhook_options *o, const struct decision *d,
		       const json_t *pod, const char *pod_ns)
{
	const json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
	char cm_name[INSTRUMENTATION_CONFIGMAP_NAME_SIZE], version[128];
	char targets[DECISION_MAX_TARGETS * (K8S_LABEL_MAX + 1) + 1] = "";
	struct agent_env_input in = { .spec = &d->spec, .pod_ns = pod_ns,
				      .metrics_port = o->metrics_port };
	struct sidecar_input sc = { .image = d->agent_image, .port = o->metrics_port,
				    .token_mount = sidecar_token_mount(pod) };
	struct workload w;
	const char *image;
	json_t *container = NULL, *volume = NULL;
	int r;

	r = instrumentation_configmap_name(d->spec.ns, d->spec.name, cm_name, sizeof(cm_name));
	if (r < 0)
		return r;
	workload_from_pod(pod, &w);
	in.workload = &w;
	in.service_name = workload_service_name(pod, &w);
	/* k8s.container.name and service.version only when one container is traced. */
	if (d->n_targets == 1)
		in.container_name = d->targets[0];
	else if (d->n_targets == 0 && json_array_size(containers) == 1)
		in.container_name =
			json_string_value(json_object_get(json_array_get(containers, 0), "name"));
	image = in.container_name ? container_image(pod, in.container_name) : NULL;
	if (image && image_version_tag(image, version, sizeof(version)) == 0)
		in.service_version = version;
	/* Target names are container names the pod has and the opt-in named, so DNS
	 * labels; the bound check keeps a pod that is not yet validated from mattering. */
	for (size_t i = 0, used = 0; i < d->n_targets && used < sizeof(targets); i++) {
		int n = snprintf(targets + used, sizeof(targets) - used, "%s%s", i ? "," : "",
				 d->targets[i]);

		if (n < 0)
			return -EINVAL;
		used += (size_t)n;
	}
	in.target_containers = d->n_targets ? targets : NULL;
	in.target_exe = d->target_exe[0] ? d->target_exe : NULL;

	sc.resources = d->spec.agent_resources ? d->spec.agent_resources : o->agent_resources;
	r = agent_env_new(&in, &sc.env);
	if (r < 0)
		return r;
	r = sidecar_container_new(&sc, &container);
	if (r < 0)
		return r;
	r = sidecar_config_volume_new(cm_name, &volume);
	if (r < 0) {
		json_decref(container);
		return r;
	}
	r = pod_patch_set_spec_field(ops, pod, "shareProcessNamespace", json_true());
	if (r == 0)
		r = pod_patch_append(ops, pod, "initContainers", container);
	else
		json_decref(container);
	if (r == 0)
		r = pod_patch_append(ops, pod, "volumes", volume);
	else
		json_decref(volume);
	if (r == 0)
		r = pod_patch_set_container_name_env(ops, pod, INSTRUMENTATION_CONTAINER_NAME_ENV);
	return r;
}

static int add_injected_marks(json_t *ops, const struct decision *d, const json_t *pod)
{
	char which[K8S_LABEL_MAX + 1 + K8S_SUBDOMAIN_MAX + 1];
	json_t *labels, *annotations;
	int r = -ENOMEM;

	snprintf(which, sizeof(which), "%s/%s", d->spec.ns, d->spec.name);
	labels = json_pack("{s:s}", LABEL_INJECTED, "true");
	annotations = json_pack("{s:s}", ANNOTATION_INSTRUMENTATION, which);
	if (labels && annotations)
		r = pod_patch_set_metadata(ops, pod, labels, annotations);
	json_decref(labels);
	json_decref(annotations);
	if (r == 0)
		r = pod_patch_remove_annotation(ops, pod, ANNOTATION_STATUS);
	return r;
}

static int add_skip_status(json_t *ops, const struct decision *d, const json_t *pod)
{
	char status[sizeof("skipped: ") + sizeof(d->detail)];
	json_t *annotations;
	int r;

	snprintf(status, sizeof(status), "skipped: %s", d->detail);
	annotations = json_pack("{s:s}", ANNOTATION_STATUS, status);
	if (!annotations)
		return -ENOMEM;
	r = pod_patch_set_metadata(ops, pod, NULL, annotations);
	json_decref(annotations);
	return r;
}

int build_injection_patch(const struct webhook_options *opts, const struct decision *d,
			  const json_t *pod, const char *pod_ns, json_t **ret_patch)
{
	json_t *ops = json_array();
	int r = 0;

	if (!ops)
		return -ENOMEM;
	if (d->result == ADMISSION_INJECTED) {
		if (d->reason == REASON_SIDECAR)
			r = add_sidecar(ops, opts, d, pod, pod_ns);
		if (r == 0)
			r = add_injected_marks(ops, d, pod);
	} else if (d->result == ADMISSION_SKIPPED && d->patchable) {
		r = add_skip_status(ops, d, pod);
	}
	if (r < 0) {
		json_decref(ops);
		return r;
	}
	*ret_patch = ops;
	return 0;
}
