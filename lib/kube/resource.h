/* Kubernetes resources by group/version/resource, and the API paths to them. */
#ifndef AUTOTRACE_KUBE_RESOURCE_H
#define AUTOTRACE_KUBE_RESOURCE_H

#include <stddef.h>

struct kube_resource {
	const char *group;    /* "" for the core group */
	const char *version;  /* "v1" */
	const char *plural;   /* "configmaps" */
	int namespaced;
};

extern const struct kube_resource KUBE_CONFIGMAPS, KUBE_SECRETS, KUBE_NAMESPACES, KUBE_PODS,
	KUBE_NODES, KUBE_EVENTS, KUBE_SERVICEACCOUNTS, KUBE_LEASES, KUBE_DEPLOYMENTS,
	KUBE_DAEMONSETS, KUBE_REPLICASETS, KUBE_MUTATING_WEBHOOK_CONFIGURATIONS, KUBE_CRDS,
	KUBE_INSTRUMENTATIONS, KUBE_AGENTREPORTS, KUBE_ROLEBINDINGS;

/* One object, or a collection when `name` is NULL. `ns` NULL on a namespaced resource
 * with no name means every namespace. */
struct kube_ref {
	const struct kube_resource *res;
	const char *ns;
	const char *name;
	const char *subresource; /* "status", or NULL */
};

/* Writes the path ("/apis/apps/v1/namespaces/x/deployments/y/status") into buf.
 * -EINVAL for a name or namespace that is not a Kubernetes name (so nothing a caller
 * passes can change the path), -ENAMETOOLONG when buf is too small. */
int kube_ref_path(const struct kube_ref *ref, char *buf, size_t len);

/* "apps/v1" or "v1". */
int kube_resource_api_version(const struct kube_resource *res, char *buf, size_t len);

/* A name or namespace fit for a path segment: 1..253 characters of [a-z0-9.-:_A-Z]
 * (Kubernetes names; RBAC names allow ':'). */
int kube_name_is_valid(const char *name);

#endif
