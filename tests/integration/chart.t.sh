#!/usr/bin/env bash
# The Helm chart (charts/autotrace) against the real API server of the control-plane
# rung: it lints clean, carries the same CRD as crds/, refuses bad values with the
# schema's message, installs, grants each ServiceAccount exactly the rights the
# README's table documents, registers its two webhooks as documented, upgrades with
# the user's Instrumentations kept, and uninstalls leaving only the CRD and those.
# (kwok runs the pods here, so nothing executes: the daemons in pods are the e2e
# rung's.) Needs KUBECONFIG (tests/integration/run.sh) and helm on PATH.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/lib.sh"
: "${KUBECONFIG:?}"
export KUBECONFIG
chart=$root/charts/autotrace
rel=autotrace
ns=autotrace-chart-t-$$
user_ns=chart-user-t-$$

plan 15

at_exit "helm uninstall $rel -n $ns --wait --timeout 60s"
at_exit "kubectl delete namespace $ns $user_ns --wait=false"

check "helm lint --strict is clean" helm lint --strict "$chart"
same_crds() { # every CRD file, both ways: none missing, none extra, each byte for byte
	diff <(cd "$root/crds" && ls) <(cd "$chart/crds" && ls) || return 1
	local f
	for f in "$root"/crds/*.yaml; do cmp "$f" "$chart/crds/$(basename "$f")" || return 1; done
}
check "the chart's CRDs are crds/*.yaml, byte for byte" same_crds
refused() {
	local out
	out=$(helm template "$rel" "$chart" --set webhook.timeoutSeconds=99 --set certificates.provider=vault 2>&1) && return 1
	grep -q "timeoutSeconds.*maximum" <<<"$out" && grep -q "provider.*value must be one of" <<<"$out" || { echo "$out"; return 1; }
}
check "values outside the schema are refused, each with its reason" refused
every_option_validates() {
	# Every optional object, rendered and validated by the API server (dry run). The
	# ServiceMonitor/PodMonitor and cert-manager kinds are not served here: checked
	# for rendering only.
	helm template "$rel" "$chart" -n "$ns" --skip-tests --set metrics.dashboard.enabled=true \
		--set operator.replicas=2 --set webhook.pdb.enabled=false |
		kubectl apply --dry-run=server -f - >/dev/null &&
		helm template "$rel" "$chart" -n "$ns" --set certificates.provider=cert-manager \
			--set metrics.serviceMonitor.enabled=true --set metrics.podMonitor.enabled=true |
		grep -c '^kind: \(Issuer\|Certificate\|ServiceMonitor\|PodMonitor\)$' | grep -qx 5
}
kubectl create namespace "$ns" >/dev/null
check "every optional object renders, and the API server accepts what it serves" every_option_validates

check "helm install --wait succeeds" helm install "$rel" "$chart" -n "$ns" --wait --timeout 120s

# --- RBAC: what each ServiceAccount may do, against the README's table ------------------
# A line per (resource, resource names, verb), less what any ServiceAccount may do;
# "cluster" rights are listed in a namespace of no interest, "release" ones in the
# release namespace (which also shows the cluster ones).
can_i() { # SA NAMESPACE: one line per (resource, names, verb)
	kubectl auth can-i --list --as="system:serviceaccount:$ns:$1" -n "$2" --no-headers | awk '$2 == "[]" {
		names = $3; gsub(/[][]/, "", names)
		for (i = 4; i <= NF; i++) { v = $i; gsub(/[][]/, "", v); print $1, (names == "" ? "-" : names), v } }' |
		sort -u
}
rights() { comm -23 <(can_i "$1" "$2") <(can_i nobody "$2"); }
documented() { # SA WHERE...: the README's rows for SA, the same way
	local sa=$1
	shift
	sed -n '/<!-- rbac:begin -->/,/<!-- rbac:end -->/p' "$root/README.md" |
		awk -F'|' -v sa="$sa" -v where="$*" '
		function trim(s) { gsub(/^[ `]+|[ `]+$/, "", s); return s }
		NF > 5 && trim($2) == sa && index(" " where " ", " " trim($3) " ") {
			n = split(trim($6), a, " ")
			for (i = 1; i <= n; i++) print trim($4), (trim($5) == "" ? "-" : trim($5)), a[i] }' | sort -u
}
rbac_as_documented() {
	local sa
	for sa in autotrace-operator autotrace-webhook autotrace-node-agent; do
		diff <(documented "$sa" cluster) <(rights "$sa" default) || return 1
		diff <(documented "$sa" cluster release) <(rights "$sa" "$ns") || return 1
	done
	[ -n "$(documented autotrace-operator cluster)" ]
}
check "each ServiceAccount may do what the README's table says, no more (kubectl auth can-i --list)" rbac_as_documented
no_cluster_admin() {
	! kubectl get clusterrolebindings,rolebindings -A -l "app.kubernetes.io/instance=$rel" -o json |
		jq -e '.items[] | select(.roleRef.name == "cluster-admin" or .roleRef.name == "admin" or .roleRef.name == "edit")' >/dev/null &&
		! kubectl get clusterroles -l "app.kubernetes.io/instance=$rel" -o json |
			jq -e '.items[].rules[] | select((.verbs | index("*")) or (.resources | index("*")))' >/dev/null
}
check "nothing is bound to cluster-admin, admin or edit, and no rule has a wildcard" no_cluster_admin
# The operator's create rolebindings + bind: enough for the agent-report ClusterRole in
# any namespace (as it does for sidecars), and no other role (RBAC's escalation check).
binds_only_agent_report() {
	local op=system:serviceaccount:$ns:autotrace-operator out
	kubectl create rolebinding r2-check -n "$user_ns" --clusterrole=autotrace-agent-report \
		--group="system:serviceaccounts:$user_ns" --as="$op" --dry-run=server -o name >/dev/null || return 1
	out=$(kubectl create rolebinding r2-check -n "$user_ns" --clusterrole=admin \
		--group="system:serviceaccounts:$user_ns" --as="$op" --dry-run=server 2>&1) && return 1
	grep -q forbidden <<<"$out"
}
kubectl create namespace "$user_ns" >/dev/null
check "the operator may bind the agent-report ClusterRole in a namespace, and no other role" binds_only_agent_report

# --- the webhook registration -----------------------------------------------------------
mwc() { kubectl get mutatingwebhookconfiguration "$rel" -o json; }
registration() {
	mwc | jq -e --arg ns "$ns" '.webhooks | length == 2 and all(.[];
		.failurePolicy == "Ignore" and .sideEffects == "None" and .timeoutSeconds == 5 and
		.reinvocationPolicy == "IfNeeded" and .rules == [{"apiGroups": [""], "apiVersions": ["v1"],
			"operations": ["CREATE"], "resources": ["pods"], "scope": "Namespaced"}] and
		(.namespaceSelector.matchExpressions[0].values | index("kube-system") and index($ns)))'
}
check "two webhooks, pods CREATE only, failurePolicy Ignore, 5 s, no side effects, system and release namespaces left out" registration
split_by_label() {
	mwc | jq -e '
		(.webhooks[] | select(.name == "namespaces.autotrace.dev") | .namespaceSelector.matchExpressions[1] ==
			{"key": "autotrace.dev/inject-enabled", "operator": "In", "values": ["true"]}) and
		(.webhooks[] | select(.name == "pods.autotrace.dev") | (.namespaceSelector.matchExpressions[1] ==
			{"key": "autotrace.dev/inject-enabled", "operator": "NotIn", "values": ["true"]}) and
			(.matchConditions | length == 1))'
}
check "namespaces that opted in (by label) go to one, pods opting in by annotation elsewhere to the other" split_by_label

# --- upgrade and uninstall ------------------------------------------------------------------
kubectl apply -n "$user_ns" -f - >/dev/null <<'YAML'
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces}
spec:
  exporter: {endpoint: "http://collector:4318"}
YAML
upgraded() {
	helm upgrade "$rel" "$chart" -n "$ns" --reuse-values --set operator.logLevel=debug --wait --timeout 120s >/dev/null &&
		[ "$(helm history "$rel" -n "$ns" -o json | jq 'length')" = 2 ] &&
		kubectl -n "$ns" get deployment autotrace-operator -o json |
		jq -e '.spec.template.spec.containers[0].env[] | select(.name == "AUTOTRACE_LOG_LEVEL") | .value == "debug"' >/dev/null &&
		kubectl -n "$user_ns" get instrumentation traces >/dev/null
}
check "helm upgrade applies a changed value and keeps the user's Instrumentation" upgraded
check "helm uninstall succeeds" helm uninstall "$rel" -n "$ns" --wait --timeout 60s
left_behind() {
	kubectl get all,sa,roles,rolebindings,pdb,configmaps,secrets -n "$ns" -l "app.kubernetes.io/instance=$rel" -o name
	kubectl get clusterroles,clusterrolebindings,mutatingwebhookconfigurations -l "app.kubernetes.io/instance=$rel" -o name
}
check "it leaves none of its objects behind" test -z "$(left_behind)"
check "it keeps the CRD and the user's Instrumentation, as the README says" \
	kubectl -n "$user_ns" get instrumentation traces

# The post-delete hook's program. kwok runs no containers, so the test runs it as the
# hook would, once the operator is gone: what the operator wrote goes, the user's stays.
cleaned_up() {
	kubectl -n "$user_ns" create configmap autotrace.$user_ns.traces --from-literal=config.json={} >/dev/null &&
		kubectl -n "$user_ns" label configmap autotrace.$user_ns.traces app.kubernetes.io/managed-by=autotrace >/dev/null &&
		kubectl -n "$user_ns" create configmap users-own --from-literal=k=v >/dev/null &&
		kubectl -n "$ns" create secret generic autotrace-webhook-tls --from-literal=tls.crt=x >/dev/null &&
		kubectl -n "$ns" label secret autotrace-webhook-tls app.kubernetes.io/managed-by=autotrace >/dev/null &&
		kubectl -n "$user_ns" create rolebinding autotrace-agent-report-x --clusterrole=view --group=g >/dev/null &&
		kubectl -n "$user_ns" label rolebinding autotrace-agent-report-x app.kubernetes.io/managed-by=autotrace >/dev/null &&
		kubectl label namespace "$user_ns" autotrace.dev/inject-enabled=true team=shop >/dev/null || return 1
	POD_NAMESPACE=$ns "$root/bin/autotrace-operator" --cleanup || return 1
	[ -z "$(kubectl get configmaps,secrets,rolebindings -A -l app.kubernetes.io/managed-by=autotrace -o name)" ] &&
		kubectl -n "$user_ns" get configmap users-own >/dev/null &&
		kubectl get namespace "$user_ns" -o json | jq -e '.metadata.labels |
			(has("autotrace.dev/inject-enabled") | not) and .team == "shop"' >/dev/null
}
check "the uninstall hook's program removes the operator's ConfigMaps, RoleBindings, Secret and namespace label, and nothing of the user's" cleaned_up
