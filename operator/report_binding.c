#include "operator/report_binding.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/kube/api.h"
#include "operator/publish.h"

int report_binding_name(const char *cm_uid, char *buf, size_t size)
{
	int n;

	if (!cm_uid || !*cm_uid)
		return -EINVAL;
	n = snprintf(buf, size, "%s%s", REPORT_BINDING_PREFIX, cm_uid);
	return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}

int report_binding_new(const json_t *cm, const char *cluster_role, json_t **ret)
{
	const char *ns = kube_obj_namespace(cm), *name = kube_obj_name(cm), *uid = kube_obj_uid(cm);
	char rb_name[REPORT_BINDING_NAME_SIZE], group[320];
	json_t *rb;

	if (!ns || !name || !cluster_role || !*cluster_role ||
	    report_binding_name(uid, rb_name, sizeof(rb_name)) < 0)
		return -EINVAL;
	snprintf(group, sizeof(group), "system:serviceaccounts:%s", ns);
	rb = json_pack("{s:s, s:s,"
		       " s:{s:s, s:s, s:{s:s},"
		       "    s:[{s:s, s:s, s:s, s:s, s:b}]},"
		       " s:{s:s, s:s, s:s},"
		       " s:[{s:s, s:s, s:s}]}",
		       "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "RoleBinding",
		       "metadata", "name", rb_name, "namespace", ns,
		       "labels", PUBLISH_LABEL_MANAGED_BY, PUBLISH_MANAGED_BY,
		       /* Not a controller reference: the ConfigMap does not manage it. */
		       "ownerReferences", "apiVersion", "v1", "kind", "ConfigMap", "name", name,
		       "uid", uid, "blockOwnerDeletion", 0,
		       "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole",
		       "name", cluster_role,
		       "subjects", "apiGroup", "rbac.authorization.k8s.io", "kind", "Group",
		       "name", group);
	if (!rb)
		return -ENOMEM;
	*ret = rb;
	return 0;
}
