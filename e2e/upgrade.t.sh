#!/usr/bin/env bash
# `helm upgrade` from the previous chart version (CHART_PREVIOUS_REV, the commit that
# released it, taken from this repository's history) to this one, with a traced
# workload running: the user's Instrumentation stays Ready, the pod is not restarted,
# and its spans keep arriving. As the README says, new CRDs are applied by hand first
# (Helm never upgrades crds/). Ends with the release uninstalled.
# Needs KUBECONFIG, helm, git, RELEASE, RELEASE_NAMESPACE, IMAGE_REGISTRY, IMAGE_TAG.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/integration/lib.sh"
: "${KUBECONFIG:?}" "${RELEASE:?}" "${RELEASE_NAMESPACE:?}" "${IMAGE_REGISTRY:?}" "${IMAGE_TAG:?}"
export KUBECONFIG
previous_rev=${CHART_PREVIOUS_REV:-$(cat "$root/charts/autotrace/previous-version")}
ns=$RELEASE_NAMESPACE app=e2e-upgrade-$$
work=$(mktemp -d)
images=(--set image.registry="$IMAGE_REGISTRY" --set image.tag="$IMAGE_TAG")

plan 6

at_exit "rm -rf $work"
at_exit "kubectl delete namespace $app --wait=false"
at_exit "helm uninstall $RELEASE -n $ns --wait --timeout 120s"

install_previous() {
	git -C "$root" archive "${previous_rev%% *}" charts/autotrace | tar -x -C "$work" &&
		helm install "$RELEASE" "$work/charts/autotrace" -n "$ns" --create-namespace "${images[@]}" \
			--wait --timeout 240s
}
check "the previous chart ($previous_rev) installs" install_previous

# A traced service under the previous release.
kubectl create namespace "$app" >/dev/null
kubectl annotate namespace "$app" autotrace.dev/inject=true >/dev/null
kubectl -n "$app" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: otlp-receiver}
spec:
  selector: {matchLabels: {app: otlp-receiver}}
  template:
    metadata: {labels: {app: otlp-receiver}}
    spec:
      containers:
      - name: receiver
        image: $IMAGE_REGISTRY/otlp-receiver:$IMAGE_TAG
        readinessProbe: {tcpSocket: {port: 4318}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /var/lib/otlp-receiver}]
      volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: otlp-receiver}
spec:
  selector: {app: otlp-receiver}
  ports: [{port: 4318}]
---
apiVersion: autotrace.dev/v1alpha1
kind: Instrumentation
metadata: {name: traces}
spec:
  exporter: {endpoint: "http://otlp-receiver.$app.svc.cluster.local:4318"}
YAML
labelled() { [ "$(kubectl get namespace "$app" -o jsonpath='{.metadata.labels.autotrace\.dev/inject-enabled}')" = true ]; }
wait_until 60 labelled
kubectl -n "$app" rollout status deployment/otlp-receiver --timeout=120s >/dev/null
kubectl -n "$app" create deployment httpsvc --image="$IMAGE_REGISTRY/sample-httpsvc:$IMAGE_TAG" --port 8080 -- /usr/local/bin/httpsvc -addr :8080 >/dev/null
kubectl -n "$app" expose deployment httpsvc --port 8080 >/dev/null
kubectl -n "$app" rollout status deployment/httpsvc --timeout=180s >/dev/null
pod=$(kubectl -n "$app" get pods -l app=httpsvc -o jsonpath='{.items[0].metadata.name}')
spans_of_pod() {
	kubectl -n "$app" exec deploy/otlp-receiver -- cat /var/lib/otlp-receiver/spans.jsonl 2>/dev/null |
		grep -c "\"k8s.pod.name\":\"$pod\""
}
get_some() {
	for _ in 1 2 3 4 5; do kubectl get --raw "/api/v1/namespaces/$app/services/httpsvc:8080/proxy/hello" >/dev/null 2>&1; done
}
traced() { get_some; [ "$(spans_of_pod)" -gt "${1:-0}" ]; }
check_eventually "a Deployment is injected and traced under the previous release" 90 traced 0

upgrade() {
	kubectl apply -f "$root/charts/autotrace/crds/" >/dev/null &&
		helm upgrade "$RELEASE" "$root/charts/autotrace" -n "$ns" "${images[@]}" --wait --timeout 240s >/dev/null
}
check "helm upgrade to this chart ($(grep -o '^version: .*' "$root/charts/autotrace/Chart.yaml")), after kubectl apply of its CRDs" upgrade
ready() {
	[ "$(kubectl -n "$app" get instrumentation traces -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
check_eventually "the user's Instrumentation is kept and Ready" 60 ready
check "the traced pod was not restarted" \
	test "$(kubectl -n "$app" get pod "$pod" -o jsonpath='{range .status.initContainerStatuses[*]}{.restartCount}{end}{range .status.containerStatuses[*]}{.restartCount}{end}')" = 00
before=$(spans_of_pod)
check_eventually "its spans keep arriving after the upgrade" 60 traced "$before"
