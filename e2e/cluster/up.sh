#!/usr/bin/env bash
# Starts a local Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (fake nodes whose pods become
# Running), each a process of its own with its PID, command line, data and log under
# $CLUSTER_DIR. Prints the admin kubeconfig's path as the last line of stdout; progress
# and errors go to stderr. On failure it prints the tail of the failing component's
# log and stops what it started. When the run directory already holds a complete,
# ready cluster, it only prints that cluster's kubeconfig.
#
# Environment:
#   CLUSTER_DIR           run directory (default build/cluster)
#   NODES                 number of fake kwok nodes (default 3)
#   APISERVER_EXTRA_ARGS  extra kube-apiserver flags, split on blanks
#                         (e.g. --watch-cache-sizes=widgets.test.autotrace.dev#0)
#   UP_TIMEOUT            seconds each wait may take (default 60)
# The binaries are taken from PATH (`make cluster-up` puts the built tools first) and
# recorded with absolute paths, so ctl.sh restarts exactly the same command.
#
# What worked with Kubernetes v1.34.2, etcd v3.6.16 and kwok v0.7.0 (and where it
# differs from the recipes this started from):
# - Every port is picked free at start, below the ephemeral range; nothing uses a
#   default port, so several run directories can hold running clusters at once.
# - --advertise-address=127.0.0.1 works, but the endpoints reconciler of the
#   "kubernetes" Service then logs every 10 s 'Endpoints "kubernetes" is invalid: ...
#   may not be in the loopback range'; it is switched off
#   (--endpoint-reconciler-type=none), since nothing here goes through that Service.
# - kube-apiserver takes 60 s (its request timeout) to exit on TERM while clients
#   hold watches open; --shutdown-watch-termination-grace-period=2s ends them and it
#   exits in about a second, which a test that restarts it mid-run needs.
# - kube-controller-manager and kube-scheduler run under their own identities
#   (system:kube-controller-manager, system:kube-scheduler), as kubeadm sets them up,
#   with --use-service-account-credentials so each controller uses its bootstrap role.
# - Keys are ECDSA P-256 (also for service-account tokens, ES256): generating the
#   whole PKI takes well under a second.
# - kwok reads ~/.kwok/kwok.yaml when it exists; KWOK_WORKDIR points it into the run
#   directory so a user's own kwok configuration cannot change the tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

NODES=${NODES:-3}
UP_TIMEOUT=${UP_TIMEOUT:-60}
D=$(cluster_abs_dir "${CLUSTER_DIR:-build/cluster}")
t0=$SECONDS

say() { echo "cluster-up: $*" >&2; }

failed=1
on_exit() {
	if ((failed)); then
		say "failed; stopping what was started (logs stay in $D)"
		STOP_GRACE=5 "$here/down.sh" "$D" >/dev/null 2>&1 || true
	fi
}
trap on_exit EXIT

# fail COMPONENT MESSAGE: message and the tail of the component's log, then exit.
fail() {
	say "$2"
	[ -n "$1" ] && component_log_tail "$D" "$1" 40 >&2
	exit 1
}

declare -A BIN
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
	BIN[$b]=$(command -v "$b") || fail "" "$b not found on PATH (run make deps-tools; make cluster-up sets PATH)"
done
for b in curl openssl ss setsid; do
	command -v "$b" >/dev/null || fail "" "$b not found on PATH"
done

# One up.sh at a time per run directory (the lock file survives the wipe below).
exec 8>>"$D/.lock"
if ! flock -n 8; then
	failed=0
	fail "" "another up.sh is starting a cluster in $D"
fi
# A cluster that already runs completely and answers is reused as it is (its NODES
# and flags are those it was started with); a partly running one is refused. Otherwise
# the directory is wiped and a new cluster starts.
running=()
for c in "${COMPONENTS[@]}"; do
	component_running_pid "$D" "$c" >/dev/null && running+=("$c")
done
if ((${#running[@]} == ${#COMPONENTS[@]})) && component_healthy "$D" kube-apiserver; then
	failed=0
	say "already running in $D (e2e/cluster/down.sh $D stops it)"
	echo "$D/kubeconfig"
	exit 0
fi
if ((${#running[@]} > 0)); then
	failed=0
	fail "" "${running[*]} still run in $D; run e2e/cluster/down.sh $D first"
fi
if [ -n "$(ls -A "$D" | grep -vx .lock)" ]; then
	[ -f "$D/.autotrace-cluster" ] || { failed=0; fail "" "$D is not empty and is not a cluster run directory"; }
	find "$D" -mindepth 1 ! -path "$D/.lock" -delete
fi
touch "$D/.autotrace-cluster"
mkdir -p "$D/pki" "${COMPONENTS[@]/#/$D/}"

# --- ports -------------------------------------------------------------------------
ports=()
# pick VAR: a free port into VAR, never one already picked in this run.
pick() {
	local p
	p=$(free_port "${ports[@]}") || fail "" "no free port"
	ports+=("$p")
	printf -v "$1" '%s' "$p"
}
pick ETCD_PORT
pick ETCD_PEER_PORT
pick APISERVER_PORT
pick KCM_PORT
pick SCHEDULER_PORT
pick KWOK_PORT
cat >"$D/ports.env" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
KUBE_CONTROLLER_MANAGER_PORT=$KCM_PORT
KUBE_SCHEDULER_PORT=$SCHEDULER_PORT
KWOK_PORT=$KWOK_PORT
EOF
ETCD_URL=http://127.0.0.1:$ETCD_PORT
SERVER=https://127.0.0.1:$APISERVER_PORT
echo "$ETCD_URL" >"$D/etcd-url"

# --- PKI ---------------------------------------------------------------------------
P=$D/pki
ossl() { openssl "$@" 2>>"$P/openssl.log" || fail "" "openssl $1 failed: $(tail -3 "$P/openssl.log")"; }
ossl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-keyout "$P/ca.key" -out "$P/ca.crt" -days 3650 -subj "/CN=autotrace-test-ca"
# issue NAME SUBJECT EXTENSIONS: a leaf key and certificate signed by the CA.
issue() {
	ossl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-keyout "$P/$1.key" -out "$P/$1.csr" -subj "$2"
	printf '%b' "$3" >"$P/$1.ext"
	ossl x509 -req -in "$P/$1.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
		-days 3650 -extfile "$P/$1.ext" -out "$P/$1.crt"
	rm -f "$P/$1.csr" "$P/$1.ext"
}
client_ext='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
issue apiserver "/CN=kube-apiserver" \
	"${client_ext/clientAuth/serverAuth}subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
issue admin "/O=system:masters/CN=admin" "$client_ext"
issue kube-controller-manager "/CN=system:kube-controller-manager" "$client_ext"
issue kube-scheduler "/CN=system:kube-scheduler" "$client_ext"
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/sa.key"
ossl pkey -in "$P/sa.key" -pubout -out "$P/sa.pub"
chmod 600 "$P"/*.key

# write_kubeconfig FILE USER: file references, absolute paths.
write_kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: autotrace-test
  cluster:
    server: $SERVER
    certificate-authority: $P/ca.crt
users:
- name: $2
  user:
    client-certificate: $P/$2.crt
    client-key: $P/$2.key
contexts:
- name: autotrace-test
  context:
    cluster: autotrace-test
    user: $2
current-context: autotrace-test
EOF
}
write_kubeconfig "$D/kubeconfig" admin
write_kubeconfig "$D/kube-controller-manager/kubeconfig" kube-controller-manager
write_kubeconfig "$D/kube-scheduler/kubeconfig" kube-scheduler
say "PKI and kubeconfigs written ($((SECONDS - t0))s)"

# --- etcd --------------------------------------------------------------------------
component_start_new "$D" etcd "${BIN[etcd]}" \
	--name=etcd --data-dir="$D/etcd/data" \
	--listen-client-urls="$ETCD_URL" --advertise-client-urls="$ETCD_URL" \
	--listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-cluster="etcd=http://127.0.0.1:$ETCD_PEER_PORT" \
	--unsafe-no-fsync=true --log-level=warn ||
	fail etcd "etcd did not start"
component_set_health "$D" etcd "$ETCD_URL/health"
component_wait_healthy "$D" etcd "$UP_TIMEOUT" || fail "" "etcd did not become healthy"
say "etcd healthy at $ETCD_URL ($((SECONDS - t0))s)"

# --- kube-apiserver ----------------------------------------------------------------
read -r -a extra <<<"${APISERVER_EXTRA_ARGS:-}"
component_start_new "$D" kube-apiserver "${BIN[kube-apiserver]}" \
	--etcd-servers="$ETCD_URL" \
	--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
	--cert-dir="$D/kube-apiserver/certs" \
	--tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
	--client-ca-file="$P/ca.crt" \
	--authorization-mode=RBAC \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
	--service-cluster-ip-range=10.96.0.0/16 \
	--endpoint-reconciler-type=none \
	--shutdown-watch-termination-grace-period=2s \
	--allow-privileged=true \
	--profiling=false \
	"${extra[@]}" ||
	fail kube-apiserver "kube-apiserver did not start"
component_set_health "$D" kube-apiserver --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" \
	"$SERVER/readyz"
component_wait_healthy "$D" kube-apiserver "$UP_TIMEOUT" || fail "" "kube-apiserver /readyz not ok"
say "kube-apiserver ready at $SERVER ($((SECONDS - t0))s)"

# --- kube-controller-manager, kube-scheduler, kwok ----------------------------------
component_start_new "$D" kube-controller-manager "${BIN[kube-controller-manager]}" \
	--kubeconfig="$D/kube-controller-manager/kubeconfig" \
	--leader-elect=false \
	--bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
	--cert-dir="$D/kube-controller-manager/certs" \
	--use-service-account-credentials=true \
	--service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
	--cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
	--profiling=false ||
	fail kube-controller-manager "kube-controller-manager did not start"
component_set_health "$D" kube-controller-manager -k "https://127.0.0.1:$KCM_PORT/healthz"

component_start_new "$D" kube-scheduler "${BIN[kube-scheduler]}" \
	--kubeconfig="$D/kube-scheduler/kubeconfig" \
	--leader-elect=false \
	--bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" \
	--cert-dir="$D/kube-scheduler/certs" \
	--profiling=false ||
	fail kube-scheduler "kube-scheduler did not start"
component_set_health "$D" kube-scheduler -k "https://127.0.0.1:$SCHEDULER_PORT/healthz"

# kwok manages only nodes annotated kwok.x-k8s.io/node=fake; with no stages
# configured it uses its defaults (node-initialize, node-heartbeat-with-lease,
# pod-ready, pod-complete, pod-delete), which make bound pods Running.
component_start_new "$D" kwok env "KWOK_WORKDIR=$D/kwok" "${BIN[kwok]}" \
	--kubeconfig="$D/kubeconfig" \
	--manage-all-nodes=false \
	--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
	--cidr=10.244.0.0/16 --node-ip=10.250.0.1 \
	--node-lease-duration-seconds=40 \
	--server-address="127.0.0.1:$KWOK_PORT" ||
	fail kwok "kwok did not start"
component_set_health "$D" kwok "http://127.0.0.1:$KWOK_PORT/healthz"

kc() { "${BIN[kubectl]}" --kubeconfig="$D/kubeconfig" "$@"; }

# Fake nodes: no taint, so DaemonSets land on them without extra tolerations.
{
	for ((i = 0; i < NODES; i++)); do
		cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
EOF
	done
} >"$D/nodes.yaml"
if ((NODES > 0)); then
	kc create -f "$D/nodes.yaml" >"$D/kwok/nodes-create.log" 2>&1 ||
		fail "" "creating nodes failed: $(cat "$D/kwok/nodes-create.log")"
fi

for c in kube-controller-manager kube-scheduler kwok; do
	component_wait_healthy "$D" "$c" "$UP_TIMEOUT" || fail "" "$c not healthy"
done
say "controllers healthy ($((SECONDS - t0))s)"

# Pods in `default` are admitted only once the serviceaccount controller made the
# default ServiceAccount.
deadline=$((SECONDS + UP_TIMEOUT))
until curl -fsS --max-time 2 -o /dev/null --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" \
	"$SERVER/api/v1/namespaces/default/serviceaccounts/default" 2>/dev/null; do
	((SECONDS < deadline)) || fail kube-controller-manager "no default ServiceAccount in namespace default after ${UP_TIMEOUT}s"
	sleep 0.2
done
if ((NODES > 0)); then
	kc wait --for=condition=Ready node -l type=kwok --timeout="${UP_TIMEOUT}s" >"$D/kwok/nodes-wait.log" 2>&1 ||
		fail kwok "kwok nodes not Ready: $(tail -3 "$D/kwok/nodes-wait.log")"
fi
say "up in $((SECONDS - t0))s: $NODES node(s), server $SERVER, etcd $ETCD_URL"
failed=0
echo "$D/kubeconfig"
