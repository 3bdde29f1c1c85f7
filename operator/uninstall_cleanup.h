/* `autotrace-operator --cleanup`: what the chart's post-delete hook runs once the
 * operator is gone, so that `helm uninstall` leaves nothing of autotrace but the CRD
 * and the user's Instrumentations: the agent-config ConfigMaps the operator wrote in
 * every namespace and the RoleBindings that go with them (operator/report_binding.h),
 * the webhook certificate Secret in its own namespace (all labelled
 * app.kubernetes.io/managed-by=autotrace), and the opt-in label it kept on
 * namespaces. Prints what it removed. */
#ifndef AUTOTRACE_OPERATOR_UNINSTALL_CLEANUP_H
#define AUTOTRACE_OPERATOR_UNINSTALL_CLEANUP_H

/* `ns`: the operator's namespace (the Secret's). 0 when everything was removed, 1 when
 * something could not be (each printed with its reason). */
int uninstall_cleanup_run(const char *ns);

#endif
