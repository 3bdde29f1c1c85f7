/* The controller's report bindings (operator/report_binding.h): created once per
 * ConfigMap, never updated or deleted (the garbage collector removes each with its
 * ConfigMap), so the operator needs `create` on rolebindings and `bind` on the one
 * ClusterRole, nothing more. */
#include "operator/controller_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/kube/api.h"
#include "lib/log/log.h"
#include "operator/report_binding.h"

int controller_bind_reports(struct controller *ctl, const char *ns, const char *cm_name,
			    struct kube_error *err)
{
	const json_t *cm = kube_informer_get(ctl->configmaps, ns, cm_name);
	const char *uid = cm ? kube_obj_uid(cm) : NULL, *done;
	struct kube_ref ref = { .res = &KUBE_ROLEBINDINGS, .ns = ns };
	char key[USAGE_KEY_SIZE + 64];
	json_t *rb = NULL;
	int rc;

	if (!ctl->opts.agent_report_role || !uid)
		return 0;
	snprintf(key, sizeof(key), "%s/%s", ns, cm_name);
	done = json_string_value(json_object_get(ctl->bound, key));
	if (done && strcmp(done, uid) == 0)
		return 0;
	if ((rc = report_binding_new(cm, ctl->opts.agent_report_role, &rb)) < 0) {
		kube_error_set(err, KUBE_ERR_LOCAL, rc, "%s", strerror(-rc));
		return rc;
	}
	rc = kube_create(ctl->client, &ref, rb, NULL, err);
	json_decref(rb);
	/* AlreadyExists: made by an earlier run (its name carries the ConfigMap's uid). */
	if (rc < 0 && rc != -EEXIST)
		return rc;
	if (rc == 0) {
		controller_count_write(ctl, "report_binding");
		log_info("operator", "namespace %s: its ServiceAccounts may write AgentReports "
			 "(RoleBinding to %s, with ConfigMap %s)", ns, ctl->opts.agent_report_role,
			 cm_name);
	}
	json_object_set_new(ctl->bound, key, json_string(uid));
	return 0;
}
