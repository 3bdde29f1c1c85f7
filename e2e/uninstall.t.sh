#!/usr/bin/env bash
# The e2e suite's last scenario: `helm uninstall` leaves nothing of autotrace behind but
# what the README says it keeps (the CRD and the user's Instrumentations): no
# Deployments, RBAC or webhook configuration, and the uninstall hook has removed the
# ConfigMaps, the certificate Secret and the namespace labels the operator wrote.
# Needs KUBECONFIG, helm on PATH, RELEASE, RELEASE_NAMESPACE.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/integration/lib.sh"
: "${KUBECONFIG:?}" "${RELEASE:?}" "${RELEASE_NAMESPACE:?}"
export KUBECONFIG
ns=$RELEASE_NAMESPACE
user_ns=e2e-keep-$$

plan 4

at_exit "kubectl delete namespace $user_ns --wait=false"
# A user's Instrumentation, and what the operator writes for it, before the uninstall.
kubectl create namespace "$user_ns" >/dev/null
kubectl annotate namespace "$user_ns" autotrace.dev/inject=true >/dev/null
kubectl -n "$user_ns" apply -f - >/dev/null <<'YAML'
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces}
spec:
  exporter: {endpoint: "http://collector:4318"}
YAML
written() {
	kubectl -n "$user_ns" get configmap "autotrace.$user_ns.traces" >/dev/null &&
		[ "$(kubectl get namespace "$user_ns" -o jsonpath='{.metadata.labels.autotrace\.dev/inject-enabled}')" = true ]
}
wait_until 60 written || diag "the operator had not written its ConfigMap and label for $user_ns"

check "helm uninstall succeeds, its cleanup hook included" helm uninstall "$RELEASE" -n "$ns" --wait --timeout 180s
left() {
	kubectl get deployments,services,serviceaccounts,roles,rolebindings,pdb,jobs,pods -n "$ns" -o name 2>/dev/null | grep -v 'serviceaccount/default$\|service/kubernetes$'
	kubectl get clusterroles,clusterrolebindings -o name | grep "autotrace"
	kubectl get mutatingwebhookconfigurations -o name | grep "autotrace"
	kubectl get configmaps,secrets -A -l app.kubernetes.io/managed-by=autotrace -o name
	kubectl get namespaces -l autotrace.dev/inject-enabled -o name
}
check "nothing of autotrace is left: daemons, RBAC, webhook configuration, the operator's ConfigMaps, Secret and labels" \
	test -z "$(left)"
check "the CRD and the user's Instrumentation are kept, as the README says" \
	kubectl -n "$user_ns" get instrumentation traces
check "pods are created again without any webhook call" \
	kubectl -n "$user_ns" run after --image=registry.invalid/x --restart=Never --dry-run=server
