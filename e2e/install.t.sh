#!/usr/bin/env bash
# The e2e suite's first scenario, as a user runs it: `helm install` of charts/autotrace
# with the images under test, the daemons Ready, the webhook's certificate made and
# its CA registered, and `helm test` passing.
# Needs KUBECONFIG, helm on PATH, RELEASE, RELEASE_NAMESPACE, IMAGE_REGISTRY, IMAGE_TAG.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/integration/lib.sh"
: "${KUBECONFIG:?}" "${RELEASE:?}" "${RELEASE_NAMESPACE:?}" "${IMAGE_REGISTRY:?}" "${IMAGE_TAG:?}"
export KUBECONFIG
ns=$RELEASE_NAMESPACE

plan 5

start=$SECONDS
check "helm install of charts/autotrace succeeds (--wait)" \
	helm install "$RELEASE" "$root/charts/autotrace" -n "$ns" --create-namespace \
	--set image.registry="$IMAGE_REGISTRY" --set image.tag="$IMAGE_TAG" --wait --timeout 240s
diag "installed in $((SECONDS - start)) s"
check "the operator is Ready with in-cluster config" \
	kubectl -n "$ns" rollout status deployment/autotrace-operator --timeout=120s
bundles_set() {
	kubectl -n "$ns" get secret autotrace-webhook-tls >/dev/null &&
		kubectl get mutatingwebhookconfiguration "$RELEASE" -o json |
		jq -e '[.webhooks[].clientConfig.caBundle | select(. != null and . != "")] | length == 2' >/dev/null
}
check_eventually "the operator made the webhook's certificate and put its CA into both webhooks" 90 bundles_set
check "both webhook replicas become Ready behind their Service" \
	kubectl -n "$ns" rollout status deployment/autotrace-webhook --timeout=180s
helm_test() {
	local out
	# The check pod exits 0 only when both checks passed; it is deleted once it has
	# (hook-succeeded), so a failure leaves it, and its log, for `kubectl logs`.
	out=$(helm test "$RELEASE" -n "$ns" --timeout 120s 2>&1)
	echo "$out"
	awk '/^TEST SUITE:.*install-check$/ { t = 1 } t && /^Phase:/ { print $2; exit }' <<<"$out" | grep -qx Succeeded
}
check "helm test passes: the Instrumentation API is served and the webhook answers over TLS" helm_test
