#!/usr/bin/env bash
# The local control plane does what the other tests rely on: fake nodes are Ready,
# workloads roll out onto them, namespaces finalize, a second cluster runs alongside
# without touching the first, the API server can be restarted mid-run, and an etcd
# compaction makes an old watch end in 410 Gone.
# Needs KUBECONFIG and CLUSTER_DIR of a running cluster (tests/integration/run.sh).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/lib.sh"
: "${KUBECONFIG:?}" "${CLUSTER_DIR:?}"
export KUBECONFIG
NODES=${NODES:-3}
ctl=$root/e2e/cluster/ctl.sh
ns=cluster-t-$$
kc() { kubectl "$@"; }

plan 15

# --- nodes --------------------------------------------------------------------------
ready_nodes() {
	kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
		grep -c '=True$'
}
check_eventually "kubectl get nodes shows $NODES Ready nodes" 30 \
	bash -c "[ \"\$(kubectl get nodes --no-headers | awk '\$2==\"Ready\"' | wc -l)\" -eq $NODES ]"

at_exit "kubectl delete namespace $ns --wait=false"
kc create namespace "$ns" >/dev/null

# --- a Deployment rolls out onto kwok nodes -------------------------------------------
kc -n "$ns" create deployment web --image=registry.invalid/web:1 --replicas=3 >/dev/null 2>&1
check "a 3-replica Deployment rolls out" kc -n "$ns" rollout status deployment/web --timeout=60s
pods=$(kc -n "$ns" get pods -l app=web -o jsonpath='{range .items[*]}{.status.phase} {.spec.nodeName}{"\n"}{end}')
kwok_nodes=$(kc get nodes -l type=kwok -o name | sed 's|^node/||')
bad=$(awk -v nodes="$(echo $kwok_nodes)" 'BEGIN{split(nodes,a," "); for(i in a) k[a[i]]=1}
	$1!="Running" || !($2 in k) {print}' <<<"$pods")
if [ "$(grep -c . <<<"$pods")" -eq 3 ] && [ -z "$bad" ]; then
	ok "its 3 pods are Running on kwok nodes"
else
	not_ok "its 3 pods are Running on kwok nodes" "$pods"
fi

# --- a DaemonSet has one ready pod per node -------------------------------------------
kc -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: registry.invalid/agent:1}]}
EOF
check "a DaemonSet rolls out" kc -n "$ns" rollout status daemonset/agent --timeout=60s
per_node=$(kc -n "$ns" get pods -l app=agent -o jsonpath='{range .items[*]}{.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | sort)
ready=$(kc -n "$ns" get daemonset agent -o jsonpath='{.status.numberReady}')
if [ "$ready" = "$NODES" ] && [ "$(awk '$2=="True"{print $1}' <<<"$per_node" | sort -u | wc -l)" -eq "$NODES" ] &&
	[ "$(grep -c . <<<"$per_node")" -eq "$NODES" ]; then
	ok "the DaemonSet has one ready pod on each of the $NODES nodes"
else
	not_ok "the DaemonSet has one ready pod on each of the $NODES nodes" "numberReady=$ready"$'\n'"$per_node"
fi

# --- namespace deletion completes -------------------------------------------------------
gone=$ns-gone
kc create namespace "$gone" >/dev/null
kc -n "$gone" create configmap c --from-literal=k=v >/dev/null
kc -n "$gone" create deployment d --image=registry.invalid/d:1 >/dev/null
kc delete namespace "$gone" --wait=false >/dev/null
check_eventually "a deleted namespace with content is finalized and gone" 90 \
	bash -c "kubectl get namespace $gone 2>&1 | grep -q NotFound"

# --- an etcd compaction ends an old watch with 410 Gone ---------------------------------
# widgets.test.autotrace.dev has no watch cache (run.sh), so the watch reaches etcd.
# The CRD is the one tests/support/kube_test.c creates; whichever test runs first
# makes it.
crd_created=0
if ! kc get crd widgets.test.autotrace.dev >/dev/null 2>&1; then
	kc apply -f - >/dev/null <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.test.autotrace.dev}
spec:
  group: test.autotrace.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
EOF
	crd_created=1
	kc wait --for=condition=Established crd/widgets.test.autotrace.dev --timeout=30s >/dev/null
fi
((crd_created)) && at_exit "kubectl delete crd widgets.test.autotrace.dev --wait=false"
widget() { printf '{"apiVersion":"test.autotrace.dev/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":%s}}' "$1"; }
wait_until 20 bash -c "kubectl -n $ns apply -f - <<<'$(widget 1)'"
old_rv=$(kc -n "$ns" get widget w -o jsonpath='{.metadata.resourceVersion}')
# Two writes after old_rv: the watch starts at old_rv+1, which must lie below the
# compacted revision (see etcd-compact.sh).
kc -n "$ns" apply -f - <<<"$(widget 2)" >/dev/null
kc -n "$ns" apply -f - <<<"$(widget 3)" >/dev/null
rev=$("$root/e2e/cluster/etcd-compact.sh" "$CLUSTER_DIR" 2>&1)
if [[ "$rev" =~ ^[0-9]+$ ]] && [[ "$old_rv" =~ ^[0-9]+$ ]] && ((rev > old_rv + 1)); then
	ok "etcd-compact.sh compacts to the current revision ($rev, widget written at $old_rv)"
else
	not_ok "etcd-compact.sh compacts to the current revision" "printed: $rev, widget resourceVersion $old_rv"
fi
watch=$(timeout 10 kubectl get --raw \
	"/apis/test.autotrace.dev/v1/namespaces/$ns/widgets?watch=1&resourceVersion=$old_rv&timeoutSeconds=5" 2>&1)
if grep -q '"type":"ERROR"' <<<"$watch" && grep -q '"code":410' <<<"$watch"; then
	ok "a watch from a compacted resourceVersion ends with 410 Gone"
else
	not_ok "a watch from a compacted resourceVersion ends with 410 Gone" "$watch"
fi

# --- a second cluster alongside ---------------------------------------------------------
second=$CLUSTER_DIR-second
at_exit "'$root/e2e/cluster/down.sh' '$second'"
first_pids=$(cat "$CLUSTER_DIR"/*/pid | sort | tr '\n' ' ')
if kc2=$(CLUSTER_DIR=$second NODES=1 APISERVER_EXTRA_ARGS= "$root/e2e/cluster/up.sh" 2>"$RESULTS_DIR/cluster-second-up.log" | tail -n 1) &&
	[ -f "$kc2" ]; then
	ok "a second cluster (NODES=1, its own CLUSTER_DIR) starts alongside"
else
	not_ok "a second cluster (NODES=1, its own CLUSTER_DIR) starts alongside" "$(tail -n 30 "$RESULTS_DIR/cluster-second-up.log")"
	kc2=/nonexistent
fi
s1=$(kc config view --minify -o jsonpath='{.clusters[0].cluster.server}')
s2=$(kubectl --kubeconfig="$kc2" config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null)
n2=$(kubectl --kubeconfig="$kc2" get nodes --no-headers 2>&1 | awk '$2=="Ready"' | wc -l)
if [ -n "$s2" ] && [ "$s1" != "$s2" ] && [ "$n2" -eq 1 ]; then
	ok "it serves on another port ($s2, first $s1) and kubectl get nodes shows its 1 node"
else
	not_ok "it serves on another port and kubectl get nodes shows its 1 node" \
		"first $s1, second $s2, Ready nodes $n2"$'\n'"$(kubectl --kubeconfig="$kc2" get nodes 2>&1)"
fi
"$root/e2e/cluster/down.sh" "$second" 2>/dev/null
left=""
for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
	"$ctl" "$second" status "$c" >/dev/null 2>&1 && left+=" $c"
done
now_pids=$(cat "$CLUSTER_DIR"/*/pid | sort | tr '\n' ' ')
if [ -z "$left" ] && [ "$first_pids" = "$now_pids" ] && kc get nodes >/dev/null 2>&1 &&
	[ "$(ready_nodes)" -eq "$NODES" ]; then
	ok "down.sh stops the second cluster and leaves the first untouched"
else
	not_ok "down.sh stops the second cluster and leaves the first untouched" \
		"still running in second:$left; first pids before: $first_pids now: $now_pids"$'\n'"$(kc get nodes 2>&1)"
fi
"$root/e2e/cluster/down.sh" "$second" >/dev/null 2>&1
check "down.sh is safe to run a second time" "$root/e2e/cluster/down.sh" "$second"

# --- restarting the API server mid-run -------------------------------------------------
before=$("$ctl" "$CLUSTER_DIR" status kube-apiserver | awk '{print $2}')
"$ctl" "$CLUSTER_DIR" restart kube-apiserver >/dev/null 2>&1
after=$("$ctl" "$CLUSTER_DIR" status kube-apiserver | awk '{print $2}')
if [ -n "$after" ] && [ "$after" != "$before" ] && [ "$(kc get --raw /readyz 2>&1)" = ok ]; then
	ok "ctl.sh restart kube-apiserver brings /readyz back (pid $before -> $after)"
else
	not_ok "ctl.sh restart kube-apiserver brings /readyz back" "pid $before -> $after; $(kc get --raw /readyz 2>&1)"
fi
check "objects written before the restart are still there" kc -n "$ns" get deployment web
"$ctl" "$CLUSTER_DIR" kill9 kube-apiserver >/dev/null 2>&1
if ! kc get --raw /readyz >/dev/null 2>&1 && "$ctl" "$CLUSTER_DIR" start kube-apiserver >/dev/null 2>&1 &&
	[ "$(kc get --raw /readyz 2>&1)" = ok ]; then
	ok "after kill9 the API server is gone, and ctl.sh start brings /readyz back"
else
	not_ok "after kill9 the API server is gone, and ctl.sh start brings /readyz back" "$(tail -n 20 "$CLUSTER_DIR/kube-apiserver/log")"
fi
