#!/usr/bin/env bash
# Runs the chainsaw scenarios (e2e/chainsaw/*/chainsaw-test.yaml) against KUBECONFIG
# with a values file naming the images and the release under test, and prints their
# TAP (chainsaw-tap.sh). chainsaw's own log goes to stderr; its JSON report to
# RESULTS_DIR. Needs chainsaw, helm and kubectl on PATH, RELEASE, RELEASE_NAMESPACE,
# IMAGE_REGISTRY, IMAGE_TAG; CHAINSAW_ARGS adds options (e.g. --include-test-regex).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${KUBECONFIG:?}" "${RESULTS_DIR:?}" "${RELEASE:?}" "${RELEASE_NAMESPACE:?}" "${IMAGE_REGISTRY:?}" "${IMAGE_TAG:?}"
values=$RESULTS_DIR/chainsaw-values.yaml
replicas=$(kubectl -n "$RELEASE_NAMESPACE" get deployment autotrace-webhook -o jsonpath='{.spec.replicas}' 2>/dev/null)
cat >"$values" <<YAML
images:
  sampleHttpsvc: $IMAGE_REGISTRY/sample-httpsvc:$IMAGE_TAG
  otlpReceiver: $IMAGE_REGISTRY/otlp-receiver:$IMAGE_TAG
release:
  name: $RELEASE
  namespace: $RELEASE_NAMESPACE
  chart: $root/charts/autotrace
  webhookReplicas: ${replicas:-2}
YAML
rm -f "$RESULTS_DIR/chainsaw-report.json"
# chainsaw exits 1 when a test failed: the TAP says which.
chainsaw test --config "$root/e2e/chainsaw/config.yaml" --test-dir "$root/e2e/chainsaw" \
	--values "$values" --report-format JSON --report-path "$RESULTS_DIR" --report-name chainsaw-report \
	--no-color ${CHAINSAW_ARGS:-} >&2
rc=$?
if [ ! -s "$RESULTS_DIR/chainsaw-report.json" ]; then
	printf '1..1\nnot ok 1 - chainsaw wrote no report (exit status %s)\n' "$rc"
	exit 1
fi
"$root/e2e/chainsaw-tap.sh" "$RESULTS_DIR/chainsaw-report.json"
