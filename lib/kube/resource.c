#include "lib/kube/resource.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct kube_resource KUBE_CONFIGMAPS = { "", "v1", "configmaps", 1 };
const struct kube_resource KUBE_SECRETS = { "", "v1", "secrets", 1 };
const struct kube_resource KUBE_NAMESPACES = { "", "v1", "namespaces", 0 };
const struct kube_resource KUBE_PODS = { "", "v1", "pods", 1 };
const struct kube_resource KUBE_NODES = { "", "v1", "nodes", 0 };
const struct kube_resource KUBE_EVENTS = { "", "v1", "events", 1 };
const struct kube_resource KUBE_SERVICEACCOUNTS = { "", "v1", "serviceaccounts", 1 };
const struct kube_resource KUBE_LEASES = { "coordination.k8s.io", "v1", "leases", 1 };
const struct kube_resource KUBE_DEPLOYMENTS = { "apps", "v1", "deployments", 1 };
const struct kube_resource KUBE_DAEMONSETS = { "apps", "v1", "daemonsets", 1 };
const struct kube_resource KUBE_REPLICASETS = { "apps", "v1", "replicasets", 1 };
const struct kube_resource KUBE_MUTATING_WEBHOOK_CONFIGURATIONS = {
	"admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", 0
};
const struct kube_resource KUBE_CRDS = { "apiextensions.k8s.io", "v1", "customresourcedefinitions", 0 };
const struct kube_resource KUBE_INSTRUMENTATIONS = { "autotrace.dev", "v1alpha1", "instrumentations", 1 };
const struct kube_resource KUBE_AGENTREPORTS = { "autotrace.dev", "v1alpha1", "agentreports", 1 };
const struct kube_resource KUBE_ROLEBINDINGS = { "rbac.authorization.k8s.io", "v1", "rolebindings", 1 };

int kube_name_is_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == ':' || c == '_'))
			return 0;
	}
	/* "." and ".." would walk the path. */
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int kube_resource_api_version(const struct kube_resource *res, char *buf, size_t len)
{
	int n = res->group[0] ? snprintf(buf, len, "%s/%s", res->group, res->version)
			      : snprintf(buf, len, "%s", res->version);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Appends to buf at *used; -ENAMETOOLONG when it does not fit. */
static int appendf(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int appendf(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *used)
		return -ENAMETOOLONG;
	*used += (size_t)n;
	return 0;
}

int kube_ref_path(const struct kube_ref *ref, char *buf, size_t len)
{
	const struct kube_resource *r = ref->res;
	size_t used = 0;
	int rc;

	if (!r || !r->plural || !r->version || len == 0)
		return -EINVAL;
	if ((ref->ns && !kube_name_is_valid(ref->ns)) || (ref->name && !kube_name_is_valid(ref->name)) ||
	    (ref->subresource && !kube_name_is_valid(ref->subresource)))
		return -EINVAL;
	if ((ref->subresource && !ref->name) || (r->namespaced && ref->name && !ref->ns))
		return -EINVAL;
	rc = r->group[0] ? appendf(buf, len, &used, "/apis/%s/%s", r->group, r->version)
			 : appendf(buf, len, &used, "/api/%s", r->version);
	if (rc == 0 && r->namespaced && ref->ns)
		rc = appendf(buf, len, &used, "/namespaces/%s", ref->ns);
	if (rc == 0)
		rc = appendf(buf, len, &used, "/%s", r->plural);
	if (rc == 0 && ref->name)
		rc = appendf(buf, len, &used, "/%s", ref->name);
	if (rc == 0 && ref->subresource)
		rc = appendf(buf, len, &used, "/%s", ref->subresource);
	return rc;
}
