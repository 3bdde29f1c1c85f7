/* The RoleBinding that lets the agent sidecars of a namespace write their AgentReports
 * (operator/README.md, "Sidecar reports: who may write them"): the ClusterRole
 * `<release>-agent-report` (create agentreports; get, patch agentreports/status) bound,
 * in a namespace where the operator publishes an agent-config ConfigMap for a
 * sidecar-mode Instrumentation, to the group of that namespace's ServiceAccounts
 * (`system:serviceaccounts:<ns>`: a sidecar writes as its pod's ServiceAccount,
 * whichever it is). Owned by that ConfigMap, so the garbage collector removes it with
 * the ConfigMap (no longer used there, its Instrumentation deleted, or the uninstall
 * hook); named after the ConfigMap's uid, so a ConfigMap deleted and made again gets a
 * binding of its own and the operator needs only `create` on rolebindings.
 * Pure. Errors: 0 or a negative errno. */
#ifndef AUTOTRACE_OPERATOR_REPORT_BINDING_H
#define AUTOTRACE_OPERATOR_REPORT_BINDING_H

#include <jansson.h>
#include <stddef.h>

#define REPORT_BINDING_PREFIX "autotrace-agent-report-"
/* The prefix and a uid (36 characters), with room to spare. */
#define REPORT_BINDING_NAME_SIZE (sizeof(REPORT_BINDING_PREFIX) + 64)

/* The binding's name for the ConfigMap of uid `cm_uid`. -EINVAL: no uid, or one too long. */
int report_binding_name(const char *cm_uid, char *buf, size_t size);

/* The RoleBinding for ConfigMap `cm` (namespace, name and uid read from it) and the
 * ClusterRole `cluster_role`: a new object in *ret (the caller owns it). -EINVAL when
 * cm lacks one of them, -ENOMEM. */
int report_binding_new(const json_t *cm, const char *cluster_role, json_t **ret);

#endif
